"""One history: a fresh store, a catalog, shopper tabs and an admin in forked workers, then the checks."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import secrets
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudshelf.api import deps, idempotency
from cloudshelf.repositories.factory import clear_caches
from cloudshelf_dev.handlers import Handler
from tests.histories.actors import ActorSpec, FaultRates, run_actor, setup_client
from tests.histories.model import History, Violation, check
from tests.histories.stores import Stores

PRICES = ("4.99", "7.50", "9.99", "12.00", "15.25")
ISBNS = ("9780306406157", "0306406152", "9781861972712", "9780131103627")


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass(frozen=True)
class Knobs:
    """How much to run (environment variables; `make soak` raises them)."""

    histories: int = 2  # per stage
    seconds: float = 20.0  # per stage: no new history starts after this
    seed: int | None = None  # one seed only (replay)
    repeat: int = 1  # how often to run that one seed
    shoppers: int = 3
    tabs: int = 2
    shopper_ops: int = 14
    admin_ops: int = 8
    books: int = 4
    history_s: float = 20.0  # the actors stop starting operations after this
    lambda_timeout_s: float = 4.0  # each invocation's deadline; also how long an idempotency record stays "in progress"
    rates: FaultRates = field(default_factory=FaultRates)

    @classmethod
    def from_env(cls) -> Knobs:
        seed = os.environ.get("CLOUDSHELF_HISTORY_SEED")
        return cls(
            histories=_int("CLOUDSHELF_HISTORIES", cls.histories),
            seconds=_float("CLOUDSHELF_HISTORY_SECONDS", cls.seconds),
            seed=int(seed) if seed else None,
            repeat=_int("CLOUDSHELF_HISTORY_REPEAT", cls.repeat),
            shoppers=_int("CLOUDSHELF_HISTORY_SHOPPERS", cls.shoppers),
            tabs=_int("CLOUDSHELF_HISTORY_TABS", cls.tabs),
            shopper_ops=_int("CLOUDSHELF_HISTORY_OPS", cls.shopper_ops),
        )

    def seeds(self) -> list[int]:
        if self.seed is not None:
            return [self.seed] * self.repeat
        return [secrets.randbelow(10**9) for _ in range(self.histories)]


@dataclass
class HistoryResult:
    """The figures and findings of one history."""

    stage: str
    seed: int
    seconds: float
    operations: int
    statuses: Counter[str]
    faults: Counter[str]
    outcomes: dict[str, int]
    orders: int
    units: int
    violations: list[Violation]
    notes: list[str]
    harness: list[str]
    logs: str | None = None

    def line(self) -> str:
        faults = sum(self.faults.values())
        return (
            f"{self.stage:13s} seed={self.seed:<10d} {self.seconds:5.1f}s ops={self.operations:<4d} "
            f"orders={self.orders:<3d} checkouts={self.outcomes} faults={faults:<3d} "
            f"violations={len(self.violations)}{' HARNESS ERROR' if self.harness else ''}"
        )

    def replay(self) -> str:
        return (
            f"CLOUDSHELF_HISTORY_SEED={self.seed} .venv/bin/python -m pytest -p no:cacheprovider -s "
            f"'tests/histories/test_store_histories.py::test_store_histories[{self.stage}]'"
        )


def reset_caches() -> None:
    clear_caches()
    idempotency.clear_cache()
    deps.cart_rules.cache_clear()


def create_catalog(handlers: dict[str, Handler], rng: random.Random, knobs: Knobs) -> dict[str, dict[str, Any]]:
    admin = setup_client(handlers, "catalog-admin", ["admin"])
    catalog: dict[str, dict[str, Any]] = {}
    for n in range(knobs.books):
        body = {
            "title": f"History Book {n}",
            "author": "A. Checker",
            "category": "Fiction",
            "price": rng.choice(PRICES),
            "stock": rng.randint(3, 10),
            "description": "initial",
            "isbn": ISBNS[n % len(ISBNS)],
        }
        answer = admin.call("CreateBook", body=body)
        if answer.status != 201:
            raise RuntimeError(f"could not create the catalog: {answer.status} {answer.body}")
        book = answer.body["full"]
        catalog[book["bookId"]] = {"stock": book["stock"], "price": book["price"], "version": book.get("version", 1)}
    return catalog


def run_history(stage: str, seed: int, stores: Stores, handlers: dict[str, Handler], knobs: Knobs) -> HistoryResult:
    """Run one seeded history in ``stage`` and check it (the environment must point at ``stage``)."""
    started = time.monotonic()
    rng = random.Random(seed)
    stores.reset(stage)
    reset_caches()
    catalog = create_catalog(handlers, rng, knobs)
    reset_caches()  # no client, connection or cached setting crosses the fork
    workdir = Path(tempfile.mkdtemp(prefix=f"cloudshelf-history-{stage}-{seed}-"))
    deadline = time.time() + knobs.history_s
    books = tuple(catalog)
    begin = time.time()
    races = {s: (begin + rng.uniform(0.6, 1.6), begin + rng.uniform(2.2, 4.0)) for s in range(knobs.shoppers)}

    def spec(name: str, role: str, user: str, ops: int, races: tuple[float, ...] = ()) -> ActorSpec:
        return ActorSpec(
            name=name,
            role=role,
            user=user,
            seed=seed,
            ops=ops,
            deadline=deadline,
            books=books,
            prices=PRICES,
            stage=stage,
            rates=knobs.rates,
            timeout_s=knobs.lambda_timeout_s,
            out=str(workdir / f"{name}.json"),
            log=str(workdir / f"{name}.log"),
            races=races,
        )

    specs = [
        spec(f"s{s}t{t}", "shopper", f"shopper-{s}", knobs.shopper_ops, races[s])
        for s in range(knobs.shoppers)
        for t in range(knobs.tabs)
    ]
    specs.append(spec("admin", "admin", "admin-1", knobs.admin_ops))
    harness: list[str] = []
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=run_actor, args=(spec, handlers), name=spec.name, daemon=True) for spec in specs]
    for worker in workers:
        worker.start()
    hard_stop = time.monotonic() + knobs.history_s + 60  # the last operation's retries, bounded
    for worker in workers:
        worker.join(timeout=max(0.1, hard_stop - time.monotonic()))
        if worker.is_alive():
            harness.append(f"worker {worker.name} (pid {worker.pid}) still running at the hard stop: killed")
            worker.kill()
            worker.join(timeout=10)
    exchanges: list[dict[str, Any]] = []
    writes: list[dict[str, Any]] = []
    faults: Counter[str] = Counter()
    for spec in specs:
        try:
            result = json.loads(Path(spec.out).read_text())
        except (OSError, ValueError) as exc:
            harness.append(f"worker {spec.name} left no result ({exc}); log: {spec.log}")
            continue
        if result.get("error"):
            harness.append(f"worker {spec.name} failed: {result['error']}")
        exchanges.extend(result.get("exchanges", []))
        writes.extend(result.get("writes", []))
        faults.update(result.get("faults", {}))
    snapshot = stores.snapshot(stage)
    listed: dict[str, list[str]] = {}
    for s in range(knobs.shoppers):
        user = f"shopper-{s}"
        answer = setup_client(handlers, user).call("ListOrders")
        if answer.status == 200:
            listed[user] = answer.body["orderIds"]
    reset_caches()
    history = History(stage, seed, catalog, exchanges, writes, snapshot, listed)
    violations, notes, outcomes = check(history)
    statuses = Counter(f"{e['route']} {e['status']}{' ' + e['code'] if e['code'] else ''}" for e in exchanges)
    result = HistoryResult(
        stage=stage,
        seed=seed,
        seconds=time.monotonic() - started,
        operations=len(exchanges),
        statuses=statuses,
        faults=faults,
        outcomes=outcomes,
        orders=len(snapshot.orders),
        units=sum(line["quantity"] for o in snapshot.orders for line in o["items"]),
        violations=violations,
        notes=notes,
        harness=harness,
    )
    if violations or harness or os.environ.get("CLOUDSHELF_HISTORY_KEEP"):
        result.logs = str(workdir)
        (workdir / "history.json").write_text(
            json.dumps(
                {
                    "stage": stage,
                    "seed": seed,
                    "catalog": catalog,
                    "exchanges": exchanges,
                    "writes": writes,
                    "final_books": snapshot.books,
                    "final_orders": snapshot.orders,
                    "mirror_books": snapshot.mirror_books,
                    "mirror_orders": snapshot.mirror_orders,
                    "listed": listed,
                    "repairs": {k: sorted(v) for k, v in snapshot.repairs.items()},
                    "carts": snapshot.carts,
                },
                indent=1,
                default=str,
            )
        )
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def recheck(path: str) -> list[Violation]:
    """Run the checker again over a saved history (``history.json`` of a failing or kept history)."""
    from tests.histories.stores import Snapshot

    data = json.loads(Path(path).read_text())
    snapshot = Snapshot(
        stage=data["stage"],
        books=data["final_books"],
        orders=data["final_orders"],
        mirror_books=data.get("mirror_books"),
        mirror_orders=data.get("mirror_orders"),
        repairs={k: set(v) for k, v in data.get("repairs", {}).items()},
        carts=data.get("carts", {}),
    )
    history = History(
        data["stage"],
        data["seed"],
        data["catalog"],
        data["exchanges"],
        data["writes"],
        snapshot,
        data.get("listed", {}),
    )
    violations, notes, _ = check(history)
    for line in [*map(str, violations), *(f"note: {n}" for n in notes)]:
        print(line)
    return violations


if __name__ == "__main__":  # python -m tests.histories.runner <dir>/history.json
    import sys

    raise SystemExit(1 if recheck(sys.argv[1]) else 0)
