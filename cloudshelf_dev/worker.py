"""One Lambda execution environment: a process that loads a function's handler and serves invocations.

Run as ``python -m cloudshelf_dev.worker <LogicalId>`` with the function's environment
(see :mod:`cloudshelf_dev.runtime`). The protocol is one JSON object per line: the
worker answers ``{"ready": true, "initMs": ...}`` once the handler is loaded (the cold
start), then reads ``{"event": ..., "context": ...}`` lines from stdin and writes
``{"response": ..., "ms": ...}`` or ``{"error": "<traceback>", "ms": ...}`` lines.

Everything the function prints (Powertools logs, EMF metrics) goes to stderr, which the
runtime sends to the function's log file, as Lambda sends it to CloudWatch Logs. The
worker ignores SIGINT (the runtime stops it) and exits when stdin closes, so it never
outlives the local stack.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import IO, Any

from cloudshelf_dev.handlers import handler_for


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: float

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int(self.deadline_ms - time.time() * 1000))


def _write(channel: IO[str], message: dict[str, Any]) -> None:
    channel.write(json.dumps(message, separators=(",", ":")) + "\n")
    channel.flush()


def serve(logical_id: str, requests_in: IO[str], replies: IO[str]) -> None:
    """Load the handler, announce readiness, then answer invocations until ``requests_in`` ends."""
    started = time.perf_counter()
    handler = handler_for(logical_id)
    _write(replies, {"ready": True, "initMs": round((time.perf_counter() - started) * 1000, 1)})
    for line in requests_in:
        if not line.strip():
            continue
        message = json.loads(line)
        context = LambdaContext(**message["context"])
        began = time.perf_counter()
        try:
            response = handler(message["event"], context)
            reply: dict[str, Any] = {"response": response}
        except Exception:  # an unhandled error is the function's answer, as in Lambda
            sys.stderr.write(traceback.format_exc())
            reply = {"error": traceback.format_exc(limit=5)}
        reply["ms"] = round((time.perf_counter() - began) * 1000, 2)
        _write(replies, reply)


def main(argv: list[str] | None = None) -> int:
    """Entry point: keep the protocol on the original stdout, send everything printed to stderr."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m cloudshelf_dev.worker <FunctionLogicalId>\n")
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", buffering=1, closefd=False)
    try:
        serve(args[0], sys.stdin, replies)
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
