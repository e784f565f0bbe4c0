"""``cloudshelf migrate``: the phase 1 -> 2 move from the command line (docs/migration.md).

Against the local stack (found at ``--stack``), or, with ``--env``, against whatever the
environment's settings name (an AWS account: tables, ``CLOUDSHELF_DB_*``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

RESOURCES = ("books", "users", "orders")
MODES = ("dynamodb", "dual-write", "postgres-read", "postgres")


def add_parser(commands: Any) -> None:
    """Register ``migrate`` and its subcommands."""
    migrate = commands.add_parser("migrate", help="move the store from phase 1 to phase 2 (docs/migration.md)")
    migrate.add_argument(
        "--stack", default=f"http://127.0.0.1:{os.environ.get('PORT', '3000')}", help="the running local stack"
    )
    migrate.add_argument("--env", action="store_true", help="use the environment's settings, not a local stack")
    steps = migrate.add_subparsers(dest="step", required=True)
    stage = steps.add_parser("stage", help="set a storage mode (a redeploy of the local stack's functions)")
    stage.add_argument("mode", choices=MODES)
    stage.add_argument("--resource", choices=RESOURCES, action="append", help="default: all three")
    status = steps.add_parser("status", help="pending repairs per resource")
    status.add_argument("--resource", choices=RESOURCES, action="append")
    backfill = steps.add_parser("backfill", help="copy DynamoDB's records to PostgreSQL (resumable)")
    backfill.add_argument("--resource", choices=RESOURCES, action="append")
    backfill.add_argument("--segments", type=int, default=4)
    backfill.add_argument("--page-size", type=int, default=500)
    backfill.add_argument("--restart", action="store_true", help="ignore checkpoints and start over")
    verify = steps.add_parser("verify", help="compare the stores record by record (exit 1 on drift)")
    verify.add_argument("--resource", choices=RESOURCES, action="append")
    verify.add_argument("--sample", type=int, help="only this many random records")
    verify.add_argument("--json", dest="json_path", help="also write the report as JSON to this file")
    reconcile = steps.add_parser("reconcile", help="repair recorded failures and drift from the source of truth")
    reconcile.add_argument("--resource", choices=RESOURCES, action="append")
    reconcile.add_argument("--source", choices=["dynamodb", "postgres"], default="dynamodb")


def run(args: argparse.Namespace) -> int:
    """Carry out one ``migrate`` step."""
    import requests

    info: dict[str, Any] = {}
    if not args.env:
        try:
            info = requests.get(f"{args.stack.rstrip('/')}/_dev/stack.json", timeout=5).json()
        except (requests.RequestException, ValueError):
            print(f"cloudshelf migrate: no local stack answers at {args.stack} (or pass --env)", file=sys.stderr)
            return 2
        if not info.get("dbDsn"):
            print("cloudshelf migrate: this stack has no PostgreSQL: start it with `cloudshelf dev --postgres`",
                  file=sys.stderr)  # fmt: skip
            return 2
    if args.step == "stage":
        return _stage(args, info)
    _point_at(info)
    steps = {"status": _status, "backfill": _backfill, "verify": _verify, "reconcile": _reconcile}
    return steps[args.step](args, args.resource or list(RESOURCES))


def _point_at(info: dict[str, Any]) -> None:
    """Settings for this process: the local stack's moto, tables and database."""
    from cloudshelf_dev.seed import clear_cloudshelf_caches
    from cloudshelf_dev.tables import TABLE_ENV

    if info:
        os.environ.update(AWS_ENDPOINT_URL_DYNAMODB=info["motoUrl"], CLOUDSHELF_DB_DSN=info["dbDsn"])
        os.environ.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_REGION=info["region"])  # noqa: S106 # nosec B106 - dummy credentials for the local moto server, which accepts any
        for logical_id, variable in TABLE_ENV.items():
            os.environ[variable] = info["tables"][logical_id]
    clear_cloudshelf_caches()


def _stage(args: argparse.Namespace, info: dict[str, Any]) -> int:
    import requests

    updates = {f"CLOUDSHELF_{r.upper()}_STORE": args.mode for r in (args.resource or RESOURCES)}
    if args.env:
        print("In AWS a stage is a deploy: sam deploy --parameter-overrides "
              + " ".join(f"{r.capitalize()}Store={args.mode}" for r in (args.resource or RESOURCES)))  # fmt: skip
        return 0
    answer = requests.post(f"{args.stack.rstrip('/')}/_dev/settings", json=updates, timeout=60)
    print(json.dumps(answer.json(), indent=2))
    return 0 if answer.ok else 1


def _status(_: argparse.Namespace, resources: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from cloudshelf.migration.journal import pending_repairs

    table = Table("resource", "pending repairs", title="CloudShelf migration")
    for resource in resources:
        table.add_row(resource, str(len(pending_repairs(resource))))  # type: ignore[arg-type]
    Console().print(table)
    return 0


def _backfill(args: argparse.Namespace, resources: list[str]) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from cloudshelf.migration.backfill import backfill
    from cloudshelf.migration.records import table_of
    from cloudshelf.repositories.dynamodb.client import dynamodb_client

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as progress:
        for resource in resources:
            # An estimate (DynamoDB updates ItemCount every few hours; books also count search terms).
            described = dynamodb_client().describe_table(TableName=table_of(resource))  # type: ignore[arg-type]
            estimate = described["Table"].get("ItemCount", 0)
            task = progress.add_task(f"backfill {resource}", total=estimate or None, rate="")

            def advance(n: int, task: Any = task) -> None:
                progress.advance(task, n)
                speed = progress.tasks[task].speed
                progress.update(task, rate=f"{speed:,.0f} rec/s" if speed else "")

            result = backfill(resource, segments=args.segments, page_size=args.page_size,  # type: ignore[arg-type]
                              progress=advance, restart=args.restart)  # fmt: skip
            progress.update(task, total=progress.tasks[task].completed)
            state = "complete" if result.complete else "stopped (run again to resume)"
            progress.console.print(f"{resource}: {result.copied} records copied in {result.seconds:.1f} s, {state}")
    return 0


def _verify(args: argparse.Namespace, resources: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from cloudshelf.migration.verify import verify

    reports = [verify(r, sample=args.sample) for r in resources]  # type: ignore[arg-type]
    table = Table("resource", "DynamoDB", "PostgreSQL", "only in DynamoDB", "only in PostgreSQL", "different", "")
    for d in reports:
        table.add_row(d.resource, str(d.dynamodb_count), str(d.postgres_count), _keys(d.only_in_dynamodb),
                      _keys(d.only_in_postgres), _keys(d.different), "clean" if d.clean else "DRIFT")  # fmt: skip
    Console().print(table)
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as handle:
            json.dump([d.as_dict() for d in reports], handle, indent=2)
    return 0 if all(d.clean for d in reports) else 1


def _keys(keys: list[str]) -> str:
    shown = ", ".join(keys[:5])
    return f"{len(keys)}" + (f": {shown}" if keys else "") + (" ..." if len(keys) > 5 else "")


def _reconcile(args: argparse.Namespace, resources: list[str]) -> int:
    from cloudshelf.migration.reconcile import reconcile

    for resource in resources:
        result = reconcile(resource, source=args.source)  # type: ignore[arg-type]
        print(f"{resource}: {result.copied} copied, {result.deleted} removed, from {result.source}")
    return 0
