"""Item 4: list by category, search and get-by-id with 1,000 and 100,000 books, both phases.

The BooksFunction handler is called in this process, as in item 2, on a synthetic
catalog (:mod:`bench.catalog`). Per size and route: p50/p99, the handler's own time,
and the items the store examined for the page:

- DynamoDB: ``ScannedCount`` of every Query plus the items of every GetItem and
  BatchGetItem, counted by hooks. moto is given a partition-local Query
  (:mod:`bench.motofast`: moto's own code on the partition DynamoDB would read; the
  answers are checked equal to unmodified moto's at the small size), because unmodified
  moto lists and sorts the whole table on every Query.
- PostgreSQL: the statements the handler sent, captured by the counting cursor and run
  again under ``EXPLAIN (ANALYZE, BUFFERS)``: rows the scan nodes produced or removed
  (rows examined) and shared buffers touched.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from typing import Any

from .catalog import COMMON_WORD, RARE_WORD, book_id, load_books_dynamodb, load_books_postgres, synthetic_books
from .common import new_context, ratio, section_log, summary
from .counters import COUNTER
from .inprocess import Scenario, event, typical_work
from .stores import Stores, in_process

CATEGORY = "History"
SCAN_NODES = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan")


def scenarios(size: int, books: list[Any]) -> list[Scenario]:
    """The read paths of the catalog at one size."""
    from cloudshelf.cursor import encode_cursor
    from cloudshelf.domain.search_terms import title_key

    in_category = sorted((title_key(b.title), b.bookId) for b in books if b.category == CATEGORY)
    middle_key, middle_id = in_category[len(in_category) // 2]
    cursor = encode_cursor("books", {"t": middle_key, "id": middle_id})
    target = book_id(size // 2)
    return [
        Scenario(
            "GET /books?category=",
            "first page",
            "BooksFunction",
            event("GET", "/books", "/books", query={"category": CATEGORY}),
            200,
        ),
        Scenario(
            "GET /books?category=",
            "page in the middle",
            "BooksFunction",
            event("GET", "/books", "/books", query={"category": CATEGORY, "cursor": cursor}),
            200,
        ),
        Scenario(
            "GET /books?q=",
            f"common word ({COMMON_WORD}: 1% of books)",
            "BooksFunction",
            event("GET", "/books", "/books", query={"q": COMMON_WORD}),
            200,
        ),
        Scenario(
            "GET /books?q=",
            f"rare word ({RARE_WORD}: 5 books)",
            "BooksFunction",
            event("GET", "/books", "/books", query={"q": RARE_WORD}),
            200,
        ),
        Scenario(
            "GET /books/{bookId}",
            "",
            "BooksFunction",
            event("GET", "/books/{bookId}", f"/books/{target}", params={"bookId": target}),
            200,
        ),
    ]


def explain(dsn: str, queries: list[bytes], schema: str = "public") -> dict[str, Any]:
    """Rows examined and buffers touched by ``queries``, from EXPLAIN (ANALYZE, BUFFERS)."""
    import psycopg2

    rows = buffers = 0
    shapes = []
    conn = psycopg2.connect(dsn, options=f"-c search_path={schema}")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for query in queries:
                cur.execute(b"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query)
                row = cur.fetchone()
                if row is None:
                    continue
                plan = row[0][0]["Plan"]
                buffers += plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
                stack, names = [plan], []
                while stack:
                    node = stack.pop()
                    names.append(node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node else ""))
                    if node["Node Type"] in SCAN_NODES:
                        loops = node.get("Actual Loops", 1)
                        rows += (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops
                        rows += node.get("Rows Removed by Index Recheck", 0)
                    stack.extend(node.get("Plans", []))
                shapes.append(" > ".join(names))
    finally:
        conn.close()
    return {"rows_examined": rows, "buffers": buffers, "plans": shapes}


class Sample:
    """The samples of one scenario at one size."""

    def __init__(self) -> None:
        self.total: list[float] = []
        self.own: list[float] = []
        self.works: list[dict[str, Any]] = []
        self.returned = 0

    def result(self) -> dict[str, Any]:
        """p50/p99, own time and store work."""
        return {
            "total": summary(self.total),
            "own": summary(self.own),
            "work": typical_work(self.works),
            "returned": self.returned,
        }


def measure_pair(
    handler: Callable[..., Any],
    pair: dict[int, Scenario],
    switch: Callable[[int], None],
    rounds: int,
    warmup: int,
) -> dict[int, dict[str, Any]]:
    """Both sizes of one scenario, call by call in turn (small, large, small, ...): a burst of
    load from elsewhere on the machine then hits both sizes alike."""
    import time

    samples = {size: Sample() for size in pair}
    for i in range(warmup + rounds):
        for size, scenario in pair.items():
            switch(size)  # not timed, not counted
            request = scenario.event()
            COUNTER.reset()
            began = time.perf_counter()
            answer = handler(request, new_context())
            elapsed = (time.perf_counter() - began) * 1000
            work = COUNTER.reset()
            if answer["statusCode"] != scenario.status:
                raise RuntimeError(f"{scenario.route}: {answer['statusCode']} {answer['body'][:300]}")
            if i >= warmup:
                sample = samples[size]
                sample.total.append(elapsed)
                sample.own.append(elapsed - work.store_ms)
                sample.works.append(work.as_dict())
                sample.returned = len(json.loads(answer["body"]).get("items", [None]))
    return {size: sample.result() for size, sample in samples.items()}


def run_phase(phase: str, sizes: list[int], rounds: int, warmup: int = 2) -> dict[str, Any]:
    """Every scenario at both sizes, in one phase, both data sets loaded side by side."""
    from contextlib import ExitStack

    from cloudshelf_dev.handlers import handler_for

    from .motofast import fast_json

    say = section_log(f"scaling phase {phase}")
    small, large = min(sizes), max(sizes)
    out: dict[str, Any] = {"phase": phase, "sizes": {str(small): {}, str(large): {}}, "interleaved": True}
    with in_process(phase) as stores, ExitStack() as cleanup:
        handler = handler_for("BooksFunction")
        books = {size: synthetic_books(size) for size in (small, large)}
        say(f"{small} and {large} books generated")
        if phase == "1":
            switch = load_moto_side_by_side(stores, books, out, cleanup, say)
            check = moto_check(stores, books[small])
            with fast_json(check_first=10) as serializer:
                switch(small)
                out["sizes"][str(small)]["answers_equal_unmodified_moto"] = check(
                    handler, scenarios(small, books[small])
                )
            out["sizes"][str(small)]["moto_json_checked"] = dict(serializer)
            say(
                f"partition-local answers equal moto's own: {out['sizes'][str(small)]['answers_equal_unmodified_moto']}"
            )
            cleanup.enter_context(fast_json())
        else:
            switch = load_postgres_side_by_side(stores, books, out, say)
        plans = {size: scenarios(size, books[size]) for size in (small, large)}
        results: dict[int, list[dict[str, Any]]] = {small: [], large: []}
        for a, b in zip(plans[small], plans[large], strict=True):
            heavy = phase == "1" and COMMON_WORD in a.variant and large > 10_000
            pair = measure_pair(handler, {small: a, large: b}, switch, max(3, rounds // 4) if heavy else rounds, warmup)
            for size, scenario in ((small, a), (large, b)):
                result = pair[size]
                if phase == "2":
                    schema = SCHEMAS[size == large]
                    result["explain"] = explain_call(handler, scenario, switch, size, stores, schema)
                    result["examined"] = result["explain"]["rows_examined"]
                else:
                    result["examined"] = result["work"]["ddb_items_examined"]
                results[size].append({"route": scenario.route, "variant": scenario.variant, **result})
            p50 = f"{pair[small]['total']['p50']:8.2f} -> {pair[large]['total']['p50']:8.2f} ms"
            seen = f"{results[small][-1]['examined']} -> {results[large][-1]['examined']}"
            say(f"{a.route:22} {a.variant:34} p50 {p50}  examined {seen}")
        for size in (small, large):
            out["sizes"][str(size)]["routes"] = results[size]
    out["ratios"] = [
        {
            "route": a["route"],
            "variant": a["variant"],
            "p50_ratio": ratio(b["total"]["p50"], a["total"]["p50"]),
            "own_p50_ratio": ratio(b["own"]["p50"], a["own"]["p50"]),
            "examined_small": a["examined"],
            "examined_large": b["examined"],
            "returned_large": b["returned"],
        }
        for a, b in zip(out["sizes"][str(small)]["routes"], out["sizes"][str(large)]["routes"], strict=True)
    ]
    return out


def explain_call(
    handler: Callable[..., Any],
    scenario: Scenario,
    switch: Callable[[int], None],
    size: int,
    stores: Stores,
    schema: str,
) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements one call of the scenario sends."""
    switch(size)
    COUNTER.capture_sql = True
    COUNTER.reset()
    handler(scenario.event(), new_context())
    captured = COUNTER.reset().pg_queries
    COUNTER.capture_sql = False
    return explain(stores.dsn, captured, schema)


SCHEMAS = {False: "small", True: "public"}  # the small catalog lives in its own schema


def load_moto_side_by_side(
    stores: Stores, books: dict[int, list[Any]], out: dict[str, Any], cleanup: Any, say: Any
) -> Callable[[int], None]:
    """Each size in its own books table, each with its partition index; returns the switch."""
    import time

    from cloudshelf.repositories import factory
    from cloudshelf_dev.template import table_definitions

    from .catalog import moto_table
    from .motofast import partitioned

    definition = table_definitions()["BooksTable"]["create"]
    names = {}
    for size, data in books.items():
        name = stores.tables["BooksTable"] + ("" if size == max(books) else f"-{size}")
        if name != stores.tables["BooksTable"]:
            stores.client.create_table(TableName=name, **definition)
        began = time.perf_counter()
        items = load_books_dynamodb(name, data)
        out["sizes"][str(size)].update(items=items, load_seconds=round(time.perf_counter() - began, 1))
        say(f"{size} books: {items} items written into moto in {out['sizes'][str(size)]['load_seconds']} s")
        cleanup.enter_context(partitioned(moto_table(name)))
        names[size] = name

    def switch(size: int) -> None:
        # The one cached repository reads the other table (the table name is all that differs).
        repo: Any = factory.book_repository()
        repo.table = repo._search.table = names[size]

    return switch


def load_postgres_side_by_side(
    stores: Stores, books: dict[int, list[Any]], out: dict[str, Any], say: Any
) -> Callable[[int], None]:
    """The large catalog in the default schema, the small one in schema ``small``; returns the switch."""
    import time

    import psycopg2

    from cloudshelf.repositories.postgres.connection import _connection
    from cloudshelf.repositories.postgres.migrate import apply_migrations

    conn = psycopg2.connect(stores.dsn)  # the database's owner
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE SCHEMA small")
    finally:
        conn.close()
    conn = psycopg2.connect(stores.dsn, options="-c search_path=small")
    try:
        apply_migrations(conn)  # the same schema, in `small`
    finally:
        conn.close()
    for size, data in books.items():
        began = time.perf_counter()
        load_books_postgres(stores.dsn, data, schema=SCHEMAS[size == max(books)])
        out["sizes"][str(size)]["load_seconds"] = round(time.perf_counter() - began, 1)
        say(f"{size} books loaded into PostgreSQL by COPY in {out['sizes'][str(size)]['load_seconds']} s")

    def switch(size: int) -> None:
        # The function's one connection reads the other schema (same tables, same indexes).
        conn = _connection()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"SET search_path TO {SCHEMAS[size == max(books)]}")

    return switch


def moto_check(stores: Stores, small_books: list[Any]) -> Callable[[Callable[..., Any], list[Scenario]], bool]:
    """A check that the handler answers the same with the partition index as with unmodified moto."""
    from .catalog import moto_table
    from .motofast import unpartitioned

    table = moto_table(stores.tables["BooksTable"] + f"-{len(small_books)}")

    def check(handler: Callable[..., Any], plan: list[Scenario]) -> bool:
        for scenario in plan:
            fast = handler(scenario.event(), new_context())["body"]
            with unpartitioned(table):
                slow = handler(scenario.event(), new_context())["body"]
            if fast != slow:
                return False
        return True

    return check


def run(phase: str, sizes: list[int], rounds: int) -> dict[str, Any]:
    """Entry point of the section."""
    result = run_phase(phase, sizes, rounds)
    result["median_of_ratios"] = (
        statistics.median(r["p50_ratio"] for r in result["ratios"] if r["p50_ratio"]) if result.get("ratios") else None
    )
    return result
