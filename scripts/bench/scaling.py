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
from contextlib import nullcontext
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


def explain(dsn: str, queries: list[bytes]) -> dict[str, Any]:
    """Rows examined and buffers touched by ``queries``, from EXPLAIN (ANALYZE, BUFFERS)."""
    import psycopg2

    rows = buffers = 0
    shapes = []
    conn = psycopg2.connect(dsn)
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


def measure(handler: Callable[..., Any], scenario: Scenario, rounds: int, warmup: int) -> dict[str, Any]:
    """p50/p99 and store work of one scenario."""
    import time

    total, own, works, items = [], [], [], 0
    for i in range(warmup + rounds):
        request = scenario.event()
        COUNTER.reset()
        began = time.perf_counter()
        answer = handler(request, new_context())
        elapsed = (time.perf_counter() - began) * 1000
        work = COUNTER.reset()
        if answer["statusCode"] != scenario.status:
            raise RuntimeError(f"{scenario.route}: {answer['statusCode']} {answer['body'][:300]}")
        if i >= warmup:
            total.append(elapsed)
            own.append(elapsed - work.store_ms)
            works.append(work.as_dict())
            items = len(json.loads(answer["body"]).get("items", [None]))
    return {"total": summary(total), "own": summary(own), "work": typical_work(works), "returned": items}


def run_phase(phase: str, sizes: list[int], rounds: int, warmup: int = 2) -> dict[str, Any]:
    """Every scenario at every size, in one phase."""
    from cloudshelf_dev.handlers import handler_for
    from cloudshelf_dev.template import table_definitions

    from .motofast import fast_json

    say = section_log(f"scaling phase {phase}")
    out: dict[str, Any] = {"phase": phase, "sizes": {}}
    with in_process(phase) as stores:
        handler = handler_for("BooksFunction")
        for size in sizes:
            books = synthetic_books(size)
            say(f"{size} books generated")
            size_out: dict[str, Any] = {}
            if phase == "1":
                size_out.update(load_moto(stores, books, table_definitions()))
                say(f"loaded into moto: {size_out['items']} items in {size_out['load_seconds']} s")
            else:
                import time

                began = time.perf_counter()
                load_books_postgres(stores.dsn, books)
                size_out["load_seconds"] = round(time.perf_counter() - began, 1)
                say(f"loaded into PostgreSQL by COPY in {size_out['load_seconds']} s")
            with moto_partitions(stores) as check:
                if check is not None and size == min(sizes):
                    with fast_json(check_first=10) as serializer:
                        size_out["answers_equal_unmodified_moto"] = check(handler, scenarios(size, books))
                    size_out["moto_json_checked"] = dict(serializer)
                    say(f"partition-local answers equal moto's own: {size_out['answers_equal_unmodified_moto']}")
                with fast_json() if phase == "1" else nullcontext():
                    plan = scenarios(size, books)
                    routes = [measure_route(handler, stores, s, size, rounds, warmup, say) for s in plan]
            size_out["routes"] = routes
            out["sizes"][str(size)] = size_out
            books.clear()
    small, large = str(min(sizes)), str(max(sizes))
    if small != large:
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
            for a, b in zip(out["sizes"][small]["routes"], out["sizes"][large]["routes"], strict=True)
        ]
    return out


def measure_route(
    handler: Callable[..., Any], stores: Stores, scenario: Scenario, size: int, rounds: int, warmup: int, say: Any
) -> dict[str, Any]:
    """One scenario at one size, with the items examined."""
    heavy = stores.phase == "1" and COMMON_WORD in scenario.variant and size > 10_000
    result = measure(handler, scenario, max(3, rounds // 4) if heavy else rounds, warmup)
    if stores.phase == "2":
        COUNTER.capture_sql = True
        COUNTER.reset()
        handler(scenario.event(), new_context())
        captured = COUNTER.reset().pg_queries
        COUNTER.capture_sql = False
        result["explain"] = explain(stores.dsn, captured)
        result["examined"] = result["explain"]["rows_examined"]
    else:
        result["examined"] = result["work"]["ddb_items_examined"]
    say(
        f"{size:>7} {scenario.route:22} {scenario.variant:34} p50 {result['total']['p50']:9.2f} ms"
        f"  examined {result['examined']}"
    )
    return {"route": scenario.route, "variant": scenario.variant, **result}


def load_moto(stores: Stores, books: list[Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """A fresh books table holding exactly ``books``, written straight into moto."""
    import time

    name = stores.tables["BooksTable"]
    stores.client.delete_table(TableName=name)
    stores.client.create_table(TableName=name, **definitions["BooksTable"]["create"])
    began = time.perf_counter()
    items = load_books_dynamodb(name, books)
    return {"items": items, "load_seconds": round(time.perf_counter() - began, 1)}


class moto_partitions:  # noqa: N801 - used like a function (a context manager)
    """Phase 1: the books table gets its partition index for the block; yields an equality check."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self.context: Any = None

    def __enter__(self) -> Callable[[Callable[..., Any], list[Scenario]], bool] | None:
        if self.stores.phase != "1":
            return None
        from .catalog import moto_table
        from .motofast import partitioned

        table = moto_table(self.stores.tables["BooksTable"])
        self.context = partitioned(table)
        self.context.__enter__()

        def check(handler: Callable[..., Any], plan: list[Scenario]) -> bool:
            from .motofast import unpartitioned

            for scenario in plan:
                fast = handler(scenario.event(), new_context())["body"]
                with unpartitioned(table):
                    slow = handler(scenario.event(), new_context())["body"]
                if fast != slow:
                    return False
            return True

        return check

    def __exit__(self, *exc: object) -> None:
        if self.context is not None:
            self.context.__exit__(*exc)


def run(phase: str, sizes: list[int], rounds: int) -> dict[str, Any]:
    """Entry point of the section."""
    result = run_phase(phase, sizes, rounds)
    result["median_of_ratios"] = (
        statistics.median(r["p50_ratio"] for r in result["ratios"] if r["p50_ratio"]) if result.get("ratios") else None
    )
    return result
