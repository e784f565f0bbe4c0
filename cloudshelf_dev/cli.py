"""The ``cloudshelf`` command: ``dev`` (the local stack), ``seed``, ``openapi``, ``sam-env`` and ``migrate``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from cloudshelf_dev import migrate_cli
from cloudshelf_dev.template import ROOT

DEFAULT_LOG_DIR = ROOT / ".cloudshelf" / "logs"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudshelf", description="CloudShelf developer tools")
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run the whole stack locally (no Docker, no AWS account)")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")), help="HTTP port (3000)")
    dev.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback: 127.0.0.1)")
    dev.add_argument(
        "--phase",
        choices=["1", "2"],
        default=os.environ.get("PHASE", "1"),
        help="data phase: 1 = all in DynamoDB, 2 = books, users, orders in a local PostgreSQL (default 1)",
    )
    dev.add_argument("--moto-port", type=int, default=0, help="port of the embedded moto server (0: any free)")
    dev.add_argument("--pool-size", type=int, default=4, help="execution environments per function (4)")
    dev.add_argument("--log-dir", type=Path, default=DEFAULT_LOG_DIR, help="where function logs go")
    dev.add_argument("--auto-confirm", action="store_true", help="confirm sign-ups at once (no code)")
    dev.add_argument("--no-seed", action="store_true", help="start with an empty catalog")
    dev.add_argument(
        "--postgres", action="store_true", help="phase 1 with a local PostgreSQL too, to rehearse the move to phase 2"
    )
    seed = commands.add_parser("seed", help="load the demo catalog (and demo admin) into a stack")
    seed.add_argument("--books-table", default=os.environ.get("CLOUDSHELF_BOOKS_TABLE"), help="books table name")
    seed.add_argument(
        "--stack",
        default=f"http://127.0.0.1:{os.environ.get('PORT', '3000')}",
        help="without --books-table: the running local stack to seed (http://127.0.0.1:$PORT)",
    )
    seed.add_argument("--endpoint-url", help="DynamoDB endpoint (a local moto server); default: AWS")
    seed.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    seed.add_argument("--user-pool-id", help="also create the demo admin in this user pool")
    seed.add_argument("--cognito-endpoint", default="", help="Cognito endpoint (a local moto server); default: AWS")
    sam = commands.add_parser("sam-env", help="write env.local.json for `sam local start-api --env-vars`")
    sam.add_argument("--moto-port", type=int, default=5010, help="the port `cloudshelf dev --moto-port` uses")
    sam.add_argument("--output", type=Path, default=ROOT / "env.local.json")
    api = commands.add_parser("openapi", help="regenerate openapi.json from the route code")
    api.add_argument("--check", action="store_true", help="only check that openapi.json is current (exit 1 if not)")
    migrate_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cloudshelf`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "dev":
        return dev(args)
    if args.command == "seed":
        return seed(args)
    if args.command == "sam-env":
        return sam_env(args)
    if args.command == "migrate":
        return migrate_cli.run(args)
    return openapi(args)


def sam_env(args: argparse.Namespace) -> int:
    """``cloudshelf sam-env``: the function environment of template.yaml, pointed at moto on loopback."""
    import json

    from cloudshelf_dev.lambda_env import sam_env_vars

    document = sam_env_vars(f"http://127.0.0.1:{args.moto_port}")
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output} (moto endpoint http://127.0.0.1:{args.moto_port})")
    return 0


def openapi(args: argparse.Namespace) -> int:
    """``cloudshelf openapi [--check]``."""
    from cloudshelf_dev import openapi as document

    if args.check:
        if document.is_current():
            print(f"{document.DOCUMENT.name} is current")
            return 0
        print(f"{document.DOCUMENT.name} is stale: run `cloudshelf openapi` and commit it", file=sys.stderr)
        return 1
    print(f"wrote {document.write()}")
    return 0


def seed(args: argparse.Namespace) -> int:
    """``cloudshelf seed``: the catalog into ``--books-table``, the demo admin into ``--user-pool-id``."""
    from cloudshelf_dev import cognito
    from cloudshelf_dev.seed import clear_cloudshelf_caches, seed_catalog

    if not args.books_table and not _from_local_stack(args):
        print(
            f"cloudshelf seed: no local stack answers at {args.stack}; give --books-table (or set "
            "CLOUDSHELF_BOOKS_TABLE) to seed another table",
            file=sys.stderr,
        )
        return 2
    os.environ.update(CLOUDSHELF_BOOKS_TABLE=args.books_table, AWS_REGION=args.region)
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = args.endpoint_url
    clear_cloudshelf_caches()
    print(f"catalog: {seed_catalog()}")
    if args.user_pool_id:
        pool = cognito.UserPool(args.cognito_endpoint, args.region, args.user_pool_id, client_id="")
        email, _ = cognito.ensure_admin(pool)
        print(f"admin: {email} (group admin)")
    return 0


def _from_local_stack(args: argparse.Namespace) -> bool:
    """Point ``args`` at the running local stack's moto server, table and pool; False if none answers."""
    import requests

    try:
        info = requests.get(f"{args.stack.rstrip('/')}/_dev/stack.json", timeout=5).json()
    except (requests.RequestException, ValueError):
        return False
    args.books_table = info["tables"]["BooksTable"]
    args.endpoint_url = args.cognito_endpoint = info["motoUrl"]
    args.user_pool_id, args.region = info["userPoolId"], info["region"]
    os.environ.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")  # noqa: S106 # nosec B106 - dummy credentials for the local moto server, which accepts any
    os.environ.pop("AWS_SESSION_TOKEN", None)
    return True


def dev(args: argparse.Namespace) -> int:
    """``cloudshelf dev``: start the stack, print where everything is, serve until SIGINT/SIGTERM."""
    from cloudshelf_dev.server import PhaseUnavailable, start_stack

    logging.basicConfig(level=logging.INFO, format="%(asctime)s  %(message)s", datefmt="%H:%M:%S", stream=sys.stdout)
    stopping = threading.Event()
    starting = True

    def on_signal(signum: int, _: FrameType | None) -> None:
        stopping.set()
        if starting:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    began = time.perf_counter()
    print(f"Starting CloudShelf (phase {args.phase}) ...", flush=True)
    try:
        stack = start_stack(
            args.port,
            seed=not args.no_seed,
            host=args.host,
            phase=args.phase,
            pool_size=args.pool_size,
            log_dir=args.log_dir,
            auto_confirm=args.auto_confirm,
            moto_port=args.moto_port,
            with_postgres=args.postgres,
        )
    except KeyboardInterrupt:
        print("Interrupted while starting; everything started was stopped.", file=sys.stderr)
        return 0
    except PhaseUnavailable as exc:
        print(f"cloudshelf dev: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cloudshelf dev: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    starting = False
    try:
        print(banner(stack, args, time.perf_counter() - began), flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        print("Stopping CloudShelf ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    # Everything this process started has stopped: skip tearing down moto's in-memory state.
    sys.stderr.flush()
    os._exit(0)


def banner(stack: object, args: argparse.Namespace, seconds: float) -> str:
    """What ``cloudshelf dev`` prints once the stack is up."""
    from cloudshelf_dev.server import Stack

    assert isinstance(stack, Stack)  # noqa: S101 # nosec B101 - narrows a type for mypy; not a runtime check
    email, password = stack.admin
    catalog = stack.seed_report or "not seeded (--no-seed)"
    auto = (
        "signing up confirms at once (--auto-confirm)"
        if args.auto_confirm
        else ("the confirmation code is printed here (and listed at /_dev/mailbox)")
    )
    where = (
        "books, users and orders in PostgreSQL, carts in DynamoDB"
        if stack.postgres is not None
        else "everything in DynamoDB"
    )
    database = f"\n  PostgreSQL   {stack.postgres.dsn}" if stack.postgres is not None else ""
    return f"""
CloudShelf local stack, phase {stack.phase} ({where}): functions from template.yaml, embedded moto (DynamoDB, Cognito)

  Storefront   {stack.url}/
  API          {stack.api_url}   (try {stack.api_url}/books)
  API docs     {stack.url}/docs   (OpenAPI document: {stack.url}/openapi.json)
  Config       {stack.url}/config.json
  Demo admin   {email} / {password}   (group admin; set CLOUDSHELF_DEV_ADMIN_EMAIL / CLOUDSHELF_DEV_ADMIN_PASSWORD)
  Sign up      in the storefront, with any e-mail; {auto}
  Catalog      {catalog}
  Logs         one line per request below; function logs in {stack.log_dir}/<Function>.log
  moto         {stack.moto_url}   (tables cloudshelf-local-*, user pool {stack.user_pool.pool_id}){database}

CloudShelf is ready at {stack.url}/ (started in {seconds:.1f} s). Press Ctrl-C to stop.
"""


if __name__ == "__main__":
    raise SystemExit(main())
