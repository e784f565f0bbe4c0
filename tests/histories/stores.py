"""The stores a history runs against, per stage: a locked moto server in a process of its own and a
local PostgreSQL; resetting them between histories and reading their final state for the checker.

moto runs in its own process (started and stopped by PID) so that the test process has no threads
when it forks the actors' worker processes.
"""

from __future__ import annotations

import subprocess  # nosec B404 - a fixed argv of our own interpreter
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import requests

from cloudshelf.migration import journal
from cloudshelf.repositories.dynamodb.books import book_from_item
from cloudshelf.repositories.dynamodb.carts import cart_from_item
from cloudshelf.repositories.dynamodb.orders import order_from_item
from cloudshelf.repositories.postgres.books import COLUMNS as BOOK_COLUMNS
from cloudshelf.repositories.postgres.books import book_from_row
from cloudshelf.repositories.postgres.migrate import apply_migrations
from cloudshelf.repositories.postgres.orders import SELECT_ORDERS, order_from_row
from cloudshelf_dev.postgres import LocalPostgres, free_port
from cloudshelf_dev.tables import TABLE_ENV, create_tables, local_table_names

REPO = Path(__file__).resolve().parents[2]

# What each stage sets; the rest of the environment (tables, endpoints) is common.
STAGES: dict[str, dict[str, str]] = {
    "phase1": {"CLOUDSHELF_DATA_PHASE": "1"},
    "phase2": {"CLOUDSHELF_DATA_PHASE": "2"},
    "dual-write": {
        "CLOUDSHELF_DATA_PHASE": "1",
        "CLOUDSHELF_BOOKS_STORE": "dual-write",
        "CLOUDSHELF_ORDERS_STORE": "dual-write",
    },
    "postgres-read": {
        "CLOUDSHELF_DATA_PHASE": "1",
        "CLOUDSHELF_BOOKS_STORE": "postgres-read",
        "CLOUDSHELF_ORDERS_STORE": "postgres-read",
    },
}
STORE_VARIABLES = ("CLOUDSHELF_BOOKS_STORE", "CLOUDSHELF_ORDERS_STORE", "CLOUDSHELF_USERS_STORE")

_MOTO = """
import sys, threading
from cloudshelf_dev.moto_server import LockedMotoServer
server = LockedMotoServer("127.0.0.1", int(sys.argv[1])).start()
print(server.url, flush=True)
threading.Event().wait()
"""


def source_of_truth(stage: str) -> str:
    """Where books and orders are decided in a stage: "postgres" (phase 2) or "dynamodb"."""
    return "postgres" if stage == "phase2" else "dynamodb"


def has_mirror(stage: str) -> bool:
    """Whether PostgreSQL mirrors DynamoDB in this stage (the dual-store stages)."""
    return stage in ("dual-write", "postgres-read")


class MotoProcess:
    """moto behind one lock (cloudshelf_dev.moto_server.LockedMotoServer), in a child process on loopback."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoProcess:
        self._proc = subprocess.Popen(  # noqa: S603 # nosec B603 - our interpreter, fixed code, no shell
            [sys.executable, "-c", _MOTO, str(self.port)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the moto server exited with {self._proc.returncode}; see {self._log.name}")
            try:
                requests.get(f"{self.url}/moto-api/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the moto server did not answer within 60 s")

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()

    def stop(self) -> None:
        """End the server process by its PID."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._log.close()


@dataclass
class Stores:
    """The running servers and the environment that points the product code at them."""

    moto: MotoProcess
    postgres: LocalPostgres
    names: dict[str, str] = field(default_factory=lambda: local_table_names("hist"))

    def environment(self, stage: str) -> dict[str, str]:
        """Every variable a handler of ``stage`` needs (unset store variables map to "")."""
        env = {variable: self.names[logical_id] for logical_id, variable in TABLE_ENV.items()}
        env.update(dict.fromkeys(STORE_VARIABLES, ""))
        env.update(
            AWS_ENDPOINT_URL_DYNAMODB=self.moto.url,
            CLOUDSHELF_DB_DSN=self.postgres.dsn,
            # moto ignores ClientRequestToken: an SDK resend after a read timeout would apply a
            # transaction twice, an artefact that AWS does not have. The local stack waits 30 s too.
            CLOUDSHELF_DYNAMODB_READ_TIMEOUT_S="30",
            CLOUDSHELF_STAGE="histories",
        )
        env.update(STAGES[stage])
        return env

    def reset(self, stage: str) -> None:
        """Empty both stores: a new history starts from nothing."""
        self.moto.reset()
        create_tables(boto3.client("dynamodb", endpoint_url=self.moto.url), self.names)
        with self.pg() as conn, conn.cursor() as cur:
            cur.execute("TRUNCATE books, users, orders, order_items, checkout_claims")

    @contextmanager
    def pg(self) -> Iterator[Any]:
        conn = psycopg2.connect(self.postgres.dsn)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def snapshot(self, stage: str) -> Snapshot:
        """The final state: the source of truth's books and orders, the mirror's, repairs, carts."""
        dynamo = boto3.client("dynamodb", endpoint_url=self.moto.url)
        ddb_books = {b["bookId"]: b for b in _scan(dynamo, self.names["BooksTable"], book_from_item, books=True)}
        ddb_orders = list(_scan(dynamo, self.names["OrdersTable"], order_from_item))
        carts = {c["userId"]: c for c in _scan(dynamo, self.names["CartsTable"], cart_from_item)}
        pg_books, pg_orders = self._pg_state()
        snap = Snapshot(stage=stage, carts=carts)
        if source_of_truth(stage) == "postgres":
            snap.books, snap.orders = pg_books, pg_orders
        else:
            snap.books, snap.orders = ddb_books, ddb_orders
        if has_mirror(stage):
            snap.mirror_books, snap.mirror_orders = pg_books, pg_orders
            snap.repairs = {r: set(journal.pending_repairs(r)) for r in ("books", "orders")}  # type: ignore[arg-type]
        return snap

    def _pg_state(self) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        with self.pg() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT {BOOK_COLUMNS} FROM books")  # noqa: S608 - a module constant
            books = {row[0]: book_from_row(row).model_dump(mode="json") for row in cur.fetchall()}
            cur.execute(SELECT_ORDERS)
            orders = [order_from_row(row).model_dump(mode="json") for row in cur.fetchall()]
        for book in books.values():
            book["version"] = int(book["version"])
        return books, orders


@dataclass
class Snapshot:
    """The stores after a history, as JSON data (money as strings)."""

    stage: str
    books: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    mirror_books: dict[str, dict[str, Any]] | None = None
    mirror_orders: list[dict[str, Any]] | None = None
    repairs: dict[str, set[str]] = field(default_factory=dict)
    carts: dict[str, dict[str, Any]] = field(default_factory=dict)


def _scan(client: Any, table: str, decode: Any, *, books: bool = False) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if books:
        params.update(FilterExpression="sk = :b", ExpressionAttributeValues={":b": {"S": "BOOK"}})
    for page in client.get_paginator("scan").paginate(**params):
        for item in page.get("Items", []):
            yield decode(item).model_dump(mode="json")


def start_stores(log_dir: Path) -> Stores:
    """Start moto (own process) and PostgreSQL (migrated); the caller stops both with stop_stores."""
    moto = MotoProcess(log_dir / "moto.log").start()
    try:
        postgres = LocalPostgres().start()
    except BaseException:
        moto.stop()
        raise
    try:
        conn = psycopg2.connect(postgres.dsn)
        try:
            apply_migrations(conn)
        finally:
            conn.close()
    except BaseException:
        postgres.stop()
        moto.stop()
        raise
    return Stores(moto, postgres)


def stop_stores(stores: Stores) -> None:
    try:
        stores.postgres.stop()
    finally:
        stores.moto.stop()
