"""Lambda-like execution environments for the local stack: worker processes, pooled per function.

Each execution environment is a separate Python process (:mod:`cloudshelf_dev.worker`)
with the function's own environment variables, that loads the handler once (the cold
start) and then serves one invocation at a time, as Lambda does. Separate processes,
not module copies in one interpreter, because Powertools keeps the current event on a
class attribute shared by every resolver of a process (``BaseRouter.current_event``):
two requests served at once by one interpreter could see each other's event, and so
each other's caller. Processes also give real parallelism and per-function logs.

A function has up to ``size`` environments, made on demand; a request that finds all
busy waits for one (bounded), like Lambda at its concurrency limit.
"""

from __future__ import annotations

import contextlib
import json
import select
import subprocess  # nosec B404 - subprocess runs fixed argv lists of our own tools (no shell)
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

INIT_TIMEOUT = 60.0
STOP_GRACE = 3.0


class InvocationError(Exception):
    """The function did not answer: it crashed, timed out, or could not start (HTTP 502)."""


class HandlerError(InvocationError):
    """The handler raised instead of answering (HTTP 502); its environment stays usable."""


class Throttled(Exception):
    """Every execution environment stayed busy for too long (HTTP 503)."""


@dataclass(frozen=True)
class FunctionConfig:
    """What an execution environment needs to know about its function."""

    logical_id: str
    environment: dict[str, str]
    timeout_s: float = 10.0
    memory_mb: int = 512
    log_file: Path | None = None


@dataclass(frozen=True)
class Invocation:
    """A function's answer and how it went."""

    response: dict[str, Any]
    ms: float
    cold_start_ms: float | None


class ExecutionEnvironment:
    """One worker process serving one function."""

    def __init__(self, config: FunctionConfig) -> None:
        self.config = config
        self.id = uuid.uuid4().hex[:8]
        log: IO[bytes] | int = open(config.log_file, "ab") if config.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(  # noqa: S603 # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input
                [sys.executable, "-m", "cloudshelf_dev.worker", config.logical_id],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=config.environment,
                text=True,
                encoding="utf-8",
                start_new_session=True,  # Ctrl-C in a terminal reaches the stack, which stops its workers
            )
        finally:
            if not isinstance(log, int):
                log.close()
        started = time.perf_counter()
        ready = self._read(INIT_TIMEOUT)
        if ready is None or not ready.get("ready"):
            self.kill()
            raise InvocationError(f"{config.logical_id} failed to start (see {config.log_file})")
        self.init_ms = (time.perf_counter() - started) * 1000
        self.invocations = 0

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self._process.pid

    def invoke(self, event: dict[str, Any], request_id: str) -> tuple[dict[str, Any], float]:
        """Run the handler on ``event``; returns its response and duration (ms)."""
        cfg = self.config
        context = {
            "function_name": f"cloudshelf-local-{cfg.logical_id}",
            "function_version": "$LATEST",
            "invoked_function_arn": f"arn:aws:lambda:us-east-1:123456789012:function:cloudshelf-local-{cfg.logical_id}",
            "memory_limit_in_mb": cfg.memory_mb,
            "aws_request_id": request_id,
            "log_group_name": f"/aws/lambda/cloudshelf-local/{cfg.logical_id}",
            "log_stream_name": f"local/[$LATEST]{self.id}",
            "deadline_ms": time.time() * 1000 + cfg.timeout_s * 1000,
        }
        stdin = self._process.stdin
        if stdin is None:
            raise InvocationError("worker has no stdin")
        try:
            stdin.write(json.dumps({"event": event, "context": context}, separators=(",", ":")) + "\n")
            stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise InvocationError(f"{cfg.logical_id} execution environment is gone") from exc
        reply = self._read(cfg.timeout_s + 1.0)
        if reply is None:
            raise InvocationError(f"{cfg.logical_id} timed out after {cfg.timeout_s:g} s or crashed")
        self.invocations += 1
        if "error" in reply:
            raise HandlerError(f"{cfg.logical_id} raised an unhandled error (see its log)")
        return reply["response"], float(reply.get("ms", 0.0))

    def _read(self, timeout: float) -> dict[str, Any] | None:
        stdout = self._process.stdout
        if stdout is None:
            return None
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            return None
        line = stdout.readline()
        if not line:
            return None
        message: dict[str, Any] = json.loads(line)
        return message

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self._process.poll() is None

    def stop(self) -> None:
        """Close stdin (the worker exits), then terminate or kill it if it lingers."""
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            self._process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Kill the process now and reap it."""
        if self._process.poll() is None:
            self._process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # a SIGKILLed child always exits
            self._process.wait(timeout=STOP_GRACE)


class FunctionPool:
    """Up to ``size`` execution environments of one function, each serving one request at a time."""

    def __init__(self, config: FunctionConfig, size: int = 4, queue_timeout: float = 30.0) -> None:
        self.config = config
        self.size = size
        self.queue_timeout = queue_timeout
        self._idle: list[ExecutionEnvironment] = []
        self._all: set[ExecutionEnvironment] = set()
        self._count = 0
        self._closed = False
        self._cond = threading.Condition()

    def invoke(self, event: dict[str, Any], request_id: str) -> Invocation:
        """Run ``event`` on a free environment (made on demand: a cold start)."""
        env, cold = self._acquire()
        healthy = False
        try:
            response, ms = env.invoke(event, request_id)
            healthy = True
            return Invocation(response, ms, env.init_ms if cold else None)
        except HandlerError:
            healthy = True
            raise
        finally:
            self._release(env, healthy)

    def prewarm(self) -> None:
        """Start one environment now, so the first request finds it warm."""
        env, _ = self._acquire()
        self._release(env, True)

    def _acquire(self) -> tuple[ExecutionEnvironment, bool]:
        deadline = time.monotonic() + self.queue_timeout
        with self._cond:
            while True:
                if self._closed:
                    raise InvocationError("the local stack is stopping")
                if self._idle:
                    return self._idle.pop(), False
                if self._count < self.size:
                    self._count += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Throttled(f"all {self.size} execution environments of {self.config.logical_id} are busy")
                self._cond.wait(left)
        try:
            env = ExecutionEnvironment(self.config)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        with self._cond:
            if not self._closed:
                self._all.add(env)
                return env, True
            self._count -= 1
        env.kill()
        raise InvocationError("the local stack is stopping")

    def redeploy(self, environment: dict[str, str]) -> None:
        """New settings, as a deploy would bring: idle environments retire now, busy ones after their request."""
        from dataclasses import replace

        with self._cond:
            self.config = replace(self.config, environment=environment)
            retired = list(self._idle)
            self._idle.clear()
            for env in retired:
                self._all.discard(env)
            self._count -= len(retired)
            self._cond.notify_all()
        for env in retired:
            env.stop()

    def _release(self, env: ExecutionEnvironment, healthy: bool) -> None:
        with self._cond:
            current = env.config is self.config
            keep = healthy and current and env.alive() and not self._closed
            if keep:
                self._idle.append(env)
            else:
                self._count -= 1
                self._all.discard(env)
            self._cond.notify()
        if not keep:
            env.kill()

    def pids(self) -> list[int]:
        """Process ids of the live environments (tests)."""
        with self._cond:
            return [e.pid for e in self._all]

    def close(self) -> None:
        """Stop every environment (busy ones are killed when they come back)."""
        with self._cond:
            self._closed = True
            envs = list(self._all)
            self._idle.clear()
            self._all.clear()
            self._cond.notify_all()
        threads = [threading.Thread(target=e.stop, daemon=True) for e in envs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=STOP_GRACE + 2)
