"""Counting store work by hooks, never by guessing.

- DynamoDB: botocore event hooks on the client the code uses. ``before-call`` counts one
  call per operation; ``before-parameter-build`` sees the request (items written by
  PutItem, UpdateItem, DeleteItem, every action of a TransactWriteItems and every request
  of a BatchWriteItem); ``after-call`` reads the answer (Count, ScannedCount, the items
  of GetItem and BatchGetItem). The time from ``before-parameter-build`` to ``after-call``
  is the time spent in the store call (serialization, transport, the store, parsing).
- PostgreSQL: a counting connection/cursor class injected into ``psycopg2.connect``.
  Every ``execute`` is one round trip; so is the ``BEGIN`` psycopg2 sends before the first
  statement of a transaction, and a ``COMMIT``/``ROLLBACK`` of an open transaction.
  (``execute_values`` calls ``execute`` once per page, so it is counted per page.)
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_WRITE_ACTIONS = ("Put", "Update", "Delete")


@dataclass
class Work:
    """What one request (or one run) did in the stores."""

    ddb_calls: Counter[str] = field(default_factory=Counter)
    ddb_items_read: int = 0  # items returned by GetItem, BatchGetItem, Query, Scan
    ddb_items_examined: int = 0  # ScannedCount of Query/Scan + items of GetItem/BatchGetItem
    ddb_items_written: int = 0  # puts, updates, deletes (in transactions and batches too)
    ddb_condition_checks: int = 0
    ddb_ms: float = 0.0
    pg_round_trips: int = 0
    pg_statements: int = 0
    pg_transactions: int = 0
    pg_connects: int = 0
    pg_ms: float = 0.0
    pg_queries: list[bytes] = field(default_factory=list)

    @property
    def store_ms(self) -> float:
        """Time spent waiting on either store."""
        return self.ddb_ms + self.pg_ms

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the report (no captured SQL)."""
        return {
            "ddb_calls": dict(sorted(self.ddb_calls.items())),
            "ddb_call_count": sum(self.ddb_calls.values()),
            "ddb_items_read": self.ddb_items_read,
            "ddb_items_examined": self.ddb_items_examined,
            "ddb_items_written": self.ddb_items_written,
            "ddb_condition_checks": self.ddb_condition_checks,
            "pg_round_trips": self.pg_round_trips,
            "pg_statements": self.pg_statements,
            "pg_transactions": self.pg_transactions,
            "pg_connects": self.pg_connects,
        }


class StoreCounter:
    """Collects :class:`Work` from every hooked client and connection of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.work = Work()
        self.capture_sql = False

    def reset(self) -> Work:
        """Start counting afresh; returns what was counted so far."""
        with self._lock:
            done, self.work = self.work, Work()
        return done

    # ------------------------------------------------------------------ DynamoDB
    def hook_boto3(self) -> None:
        """Hook boto3's default session: every DynamoDB client made by ``boto3.client`` after this
        (the code's cached client, the idempotency layer's, the bench's own) reports to this counter."""
        import boto3

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        if session is None or getattr(session, "_bench_hooked", False):
            return
        self.attach(session._session)
        session._bench_hooked = True  # type: ignore[attr-defined]

    def attach(self, emitter_owner: Any) -> None:
        """Register the hooks on a botocore session or a client's ``meta.events`` owner."""
        register = emitter_owner.register
        register("before-parameter-build.dynamodb", self._ddb_start)
        register("before-call.dynamodb", self._ddb_call)
        register("after-call.dynamodb", self._ddb_done)
        register("after-call-error.dynamodb", self._ddb_error)

    def _ddb_start(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._local.ddb_started = time.perf_counter()
        written = checks = 0
        name = model.name
        if name in ("PutItem", "UpdateItem", "DeleteItem"):
            written = 1
        elif name == "TransactWriteItems":
            for action in params.get("TransactItems", []):
                if any(kind in action for kind in _WRITE_ACTIONS):
                    written += 1
                elif "ConditionCheck" in action:
                    checks += 1
        elif name == "BatchWriteItem":
            written = sum(len(requests) for requests in params.get("RequestItems", {}).values())
        with self._lock:
            self.work.ddb_items_written += written
            self.work.ddb_condition_checks += checks

    def _ddb_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.work.ddb_calls[model.name] += 1

    def _ddb_done(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        name = model.name
        read = examined = 0
        if name == "GetItem":
            read = examined = 1 if parsed.get("Item") else 0
        elif name == "BatchGetItem":
            read = examined = sum(len(items) for items in parsed.get("Responses", {}).values())
        elif name in ("Query", "Scan"):
            read = int(parsed.get("Count", 0))
            examined = int(parsed.get("ScannedCount", read))
        self._finish(read, examined)

    def _ddb_error(self, **_: Any) -> None:
        self._finish(0, 0)

    def _finish(self, read: int, examined: int) -> None:
        started = getattr(self._local, "ddb_started", None)
        elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        self._local.ddb_started = None
        with self._lock:
            self.work.ddb_items_read += read
            self.work.ddb_items_examined += examined
            self.work.ddb_ms += elapsed

    # ------------------------------------------------------------------ PostgreSQL
    def install_postgres(self) -> None:
        """Make every later ``psycopg2.connect`` return a counting connection."""
        import psycopg2
        from psycopg2 import extensions

        if getattr(psycopg2.connect, "_bench_counting", False):
            return
        counter = self
        original = psycopg2.connect

        class CountingCursor(extensions.cursor):
            def execute(self, query: Any, vars: Any = None) -> Any:
                conn = self.connection
                begins = 1 if (not conn.autocommit and conn.status == extensions.STATUS_READY) else 0
                began = time.perf_counter()
                try:
                    return super().execute(query, vars)
                finally:
                    elapsed = (time.perf_counter() - began) * 1000
                    with counter._lock:
                        work = counter.work
                        work.pg_round_trips += 1 + begins
                        work.pg_statements += 1
                        work.pg_transactions += begins
                        work.pg_ms += elapsed
                        if counter.capture_sql and self.query:
                            work.pg_queries.append(bytes(self.query))

        class CountingConnection(extensions.connection):
            def cursor(self, *args: Any, **kwargs: Any) -> Any:
                kwargs.setdefault("cursor_factory", CountingCursor)
                return super().cursor(*args, **kwargs)

            def _ending(self, end: Any) -> None:
                open_transaction = self.status != extensions.STATUS_READY
                began = time.perf_counter()
                try:
                    end()
                finally:
                    if open_transaction:
                        with counter._lock:
                            counter.work.pg_round_trips += 1
                            counter.work.pg_ms += (time.perf_counter() - began) * 1000

            def commit(self) -> None:
                self._ending(super().commit)

            def rollback(self) -> None:
                self._ending(super().rollback)

        def connect(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("connection_factory", CountingConnection)
            began = time.perf_counter()
            conn = original(*args, **kwargs)
            with counter._lock:
                counter.work.pg_connects += 1
                counter.work.pg_ms += (time.perf_counter() - began) * 1000
            return conn

        connect._bench_counting = True  # type: ignore[attr-defined]
        psycopg2.connect = connect


COUNTER = StoreCounter()
"""The one counter of a bench process."""
