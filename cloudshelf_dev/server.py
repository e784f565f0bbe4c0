"""The whole local stack in one process: moto, tables, user pool, seed, gateway, web server.

``start_stack()`` returns a running :class:`Stack` (tests use it as a session fixture;
``cloudshelf dev`` wraps it). The functions run in worker processes
(:mod:`cloudshelf_dev.runtime`) with their template environment, resolved with the
local table names and pointed at the moto server; this process only sets that
environment for the length of the seed (:func:`cloudshelf_dev.seed.local_environment`).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from cloudshelf_dev import cognito, openapi
from cloudshelf_dev.auth import CognitoAuthorizer
from cloudshelf_dev.cognito_proxy import CognitoProxy
from cloudshelf_dev.gateway import NOTE_KEY, Gateway
from cloudshelf_dev.lambda_env import base_environment, function_environment, function_setting
from cloudshelf_dev.moto_server import LockedMotoServer
from cloudshelf_dev.postgres import LocalPostgres
from cloudshelf_dev.runtime import FunctionConfig, FunctionPool, InvocationError
from cloudshelf_dev.seed import SeedReport, local_environment, seed_catalog
from cloudshelf_dev.tables import create_tables, local_table_names
from cloudshelf_dev.template import functions
from cloudshelf_dev.webapp import WebApp

# Not under "cloudshelf": Powertools filters every record whose logger name contains its service name.
log = logging.getLogger("devstack")
API_PREFIX = "/api"
# What `cloudshelf migrate stage` may change in a running stack (docs/migration.md).
MIGRATION_SETTINGS = (
    "CLOUDSHELF_BOOKS_STORE",
    "CLOUDSHELF_USERS_STORE",
    "CLOUDSHELF_ORDERS_STORE",
    "CLOUDSHELF_READ_FALLBACK",
    "CLOUDSHELF_SHADOW_READ_RATE",
)
DEFAULT_MAX_BODY = 65536


class PhaseUnavailable(RuntimeError):
    """The requested data phase cannot run locally (yet)."""


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without its own access log (the stack logs one line itself)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class StackApp:
    """Top-level WSGI app: ``/api/*`` to the gateway, the rest to the web app; one log line per request."""

    def __init__(self) -> None:
        self.gateway: Gateway | None = None
        self.web: WebApp | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "") or "/"
        status: list[str] = ["500"]

        def capture(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        if self.gateway is None or self.web is None:
            body = b'{"error": {"code": "STARTING", "message": "the local stack is starting", "details": null}}'
            start_response("503 Service Unavailable", [("Content-Type", "application/json"), ("Retry-After", "1")])
            return [body]
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + API_PREFIX
            environ["PATH_INFO"] = path[len(API_PREFIX) :] or "/"
            result = self.gateway(environ, capture)
        else:
            result = self.web(environ, capture)
        query = environ.get("QUERY_STRING", "")
        note = environ.get(NOTE_KEY)
        ms = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %s %.1f ms%s",
            environ.get("REQUEST_METHOD"),
            path + (f"?{query}" if query else ""),
            status[0],
            ms,
            f"  [{note}]" if note else "",
        )
        return result


@dataclass
class Stack:
    """A running local stack."""

    url: str
    moto_url: str
    user_pool: cognito.UserPool
    admin: tuple[str, str]
    log_dir: Path
    table_names: dict[str, str]
    proxy: CognitoProxy
    pools: dict[str, FunctionPool]
    seed_report: SeedReport | None
    _server: BaseWSGIServer
    _moto: LockedMotoServer
    _cleanup: list[Path] = field(default_factory=list)
    _stopped: bool = False
    postgres: LocalPostgres | None = None
    phase: str = "1"
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        """The API's base URL (the storefront's ``apiUrl``)."""
        return self.url + API_PREFIX

    @property
    def config(self) -> dict[str, str]:
        """What ``/config.json`` serves."""
        return stack_config(self.url, self.user_pool)

    def redeploy(self, updates: dict[str, str]) -> dict[str, str]:
        """Change the migration settings of every function, as a redeploy with new parameters would.

        Only the storage-mode settings may change (``MIGRATION_SETTINGS``); an empty value
        unsets one. Returns the settings now in force.
        """
        unknown = sorted(set(updates) - set(MIGRATION_SETTINGS))
        if unknown:
            raise ValueError(f"only {', '.join(MIGRATION_SETTINGS)} may change; not {', '.join(unknown)}")
        self.settings.update(updates)
        for pool in self.pools.values():
            pool.redeploy({**pool.config.environment, **self.settings})
        return dict(self.settings)

    def worker_pids(self) -> list[int]:
        """Process ids of every live execution environment."""
        return [pid for pool in self.pools.values() for pid in pool.pids()]

    def stop(self) -> None:
        """Stop the web server, the execution environments and moto (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        closing = [threading.Thread(target=pool.close, daemon=True) for pool in self.pools.values()]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join(timeout=15)
        self._moto.stop()
        if self.postgres is not None:
            self.postgres.stop()
        for path in self._cleanup:
            shutil.rmtree(path, ignore_errors=True)


def stack_config(base: str, pool: cognito.UserPool) -> dict[str, str]:
    """The storefront's config for a stack reached at ``base``."""
    return {
        "apiUrl": base + API_PREFIX,
        "region": pool.region,
        "userPoolId": pool.pool_id,
        "userPoolClientId": pool.client_id,
        "cognitoEndpoint": base + "/cognito/",
    }


def start_stack(  # noqa: PLR0915 - the start sequence reads best in one place
    port: int = 0,
    seed: bool = True,
    *,
    host: str = "127.0.0.1",
    phase: str = "1",
    pool_size: int = 4,
    log_dir: Path | None = None,
    auto_confirm: bool = False,
    prewarm: bool = True,
    moto_port: int = 0,
    with_postgres: bool = False,
) -> Stack:
    """Start everything and return the running stack (``stop()`` it, or use it as a context manager)."""
    if phase not in ("1", "2"):
        raise PhaseUnavailable(f"there is no data phase {phase}: use 1 (DynamoDB) or 2 (PostgreSQL)")
    for noisy in ("werkzeug", "botocore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app = StackApp()
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{server.server_port}"  # noqa: S104 # nosec B104 - compares a host string to map the wildcard to loopback; binds nothing
    cleanup: list[Path] = []
    if log_dir is None:
        log_dir = Path(tempfile.mkdtemp(prefix="cloudshelf-logs-"))
        cleanup.append(log_dir)
    moto = LockedMotoServer("127.0.0.1", moto_port).start()
    pools: dict[str, FunctionPool] = {}
    postgres: LocalPostgres | None = None
    # moto serializes every call and ignores ClientRequestToken: a client-side timeout and resend
    # would apply a transaction twice, so local functions wait longer than they do in AWS.
    overrides: dict[str, str] = {"CLOUDSHELF_DYNAMODB_READ_TIMEOUT_S": "30"}
    try:
        if phase == "2" or with_postgres:  # phase 1 with a database: to rehearse the move to phase 2
            postgres = start_postgres()
            overrides.update(postgres_environment(postgres))
        log_dir.mkdir(parents=True, exist_ok=True)
        names = local_table_names()
        create_tables(_dynamodb(moto.url), names)
        user_pool = cognito.create_user_pool(moto.url)
        admin = cognito.ensure_admin(user_pool)
        refs = {**names, "Stage": "local", "AllowedOrigin": url, "DataPhase": phase}
        specs = functions()
        own_envs = {s.logical_id: function_environment(s, refs, moto.url, overrides) for s in specs}
        envs = {logical_id: {**base_environment(), **env} for logical_id, env in own_envs.items()}
        pools.update(_function_pools(specs, envs, log_dir, pool_size))
        with ThreadPoolExecutor(max_workers=len(pools) + 1) as background:
            warming = [background.submit(_prewarm, p) for p in pools.values()] if prewarm else []
            document = background.submit(openapi.generate_in_subprocess)
            report = None
            if seed:
                with local_environment(own_envs[specs[0].logical_id]):
                    report = seed_catalog()
            wait(warming, timeout=120)
            openapi_document = document.result(timeout=120)
        proxy = CognitoProxy(user_pool, auto_confirm=auto_confirm, announce=lambda text: log.info("✉  %s", text))
        max_body = int(envs[specs[0].logical_id].get("CLOUDSHELF_MAX_BODY_BYTES", DEFAULT_MAX_BODY))
        authorizer = CognitoAuthorizer(user_pool.jwks_url, user_pool.issuer, [user_pool.client_id])
        gateway = Gateway(specs, pools, authorizer, allowed_origin=url, max_body_bytes=max_body)
        app.web = WebApp(
            base_url=url,
            config=lambda base: stack_config(base, user_pool),
            dev_info={
                "motoUrl": moto.url,
                "tables": names,
                "userPoolId": user_pool.pool_id,
                "region": cognito.REGION,
                "phase": phase,
                "dbDsn": postgres.dsn if postgres else "",
            },
            gateway=gateway,
            proxy=proxy,
            openapi_document=openapi_document,
        )
        app.gateway = gateway
    except BaseException:
        server.server_close()
        for pool in pools.values():
            pool.close()
        moto.stop()
        if postgres is not None:
            postgres.stop()
        raise
    threading.Thread(target=server.serve_forever, name="cloudshelf-http", daemon=True).start()
    stack = Stack(url, moto.url, user_pool, admin, log_dir, names, proxy, pools, report, server, moto, cleanup)
    stack.postgres = postgres
    stack.phase = phase
    app.web.redeploy = stack.redeploy
    return stack


def postgres_environment(postgres: LocalPostgres) -> dict[str, str]:
    """Phase 2's variables locally: a DSN instead of the RDS Proxy host and its secret."""
    return {
        "CLOUDSHELF_DB_DSN": postgres.dsn,
        "CLOUDSHELF_DB_HOST": "",
        "CLOUDSHELF_DB_SECRET_ARN": "",  # nosec B105 - not a password: an empty secret ARN setting
        "CLOUDSHELF_DB_MIGRATION": "local",
        "CLOUDSHELF_DB_SSLMODE": "disable",
    }


def start_postgres() -> LocalPostgres:
    """Phase 2: a local PostgreSQL with the schema migrations applied."""
    import psycopg2

    from cloudshelf.repositories.postgres.migrate import apply_migrations

    postgres = LocalPostgres().start()
    try:
        conn = psycopg2.connect(postgres.dsn)
        try:
            applied = apply_migrations(conn)
        finally:
            conn.close()
    except BaseException:
        postgres.stop()
        raise
    log.info("PostgreSQL on 127.0.0.1:%s, migrations applied: %s", postgres.port, ", ".join(applied))
    return postgres


def _function_pools(
    specs: list[Any], envs: dict[str, dict[str, str]], log_dir: Path, size: int
) -> dict[str, FunctionPool]:
    """One pool of execution environments per function, each with the function's own settings."""
    pools = {}
    for spec in specs:
        config = FunctionConfig(
            spec.logical_id,
            envs[spec.logical_id],
            timeout_s=float(function_setting(spec.logical_id, "Timeout", 10)),
            memory_mb=int(function_setting(spec.logical_id, "MemorySize", 512)),
            log_file=log_dir / f"{spec.logical_id}.log",
        )
        pools[spec.logical_id] = FunctionPool(config, size=size)
    return pools


def _prewarm(pool: FunctionPool) -> None:
    try:
        pool.prewarm()
    except InvocationError as exc:
        log.warning("could not prewarm %s: %s", pool.config.logical_id, exc)


def _dynamodb(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=cognito.REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 # nosec B106 - dummy credentials for the local moto server, which accepts any
    )
