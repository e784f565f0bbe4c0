"""Items 2 and 3: every route's handler called in this process, with its store.

The handlers are the template's own (``handler_for``), fed real REST proxy events, on
moto's DynamoDB in this process (phase 1) or on PostgreSQL plus moto for carts and
idempotency (phase 2), with the demo catalog loaded. Per route: p50/p99 of the whole
handler call, the handler's own time (total minus the time spent in store calls), and
the store work of one request, counted by hooks. Setup that a measured call needs (a
fresh book to delete, a full cart to check out) runs before the clock starts and before
the counters are reset.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .common import new_context, section_log, summary
from .counters import COUNTER, Work
from .stores import Stores, in_process

ADMIN = {"sub": "bench-admin", "email": "admin@bench.local", "groups": ["admin"]}
HOT_STOCK = 1_000_000


@dataclass
class Scenario:
    """One route call to measure."""

    route: str  # "GET /books/{bookId}"
    variant: str  # what is special about this call ("search", "replay", ...)
    function: str
    event: Callable[[], dict[str, Any]]
    status: int
    setup: Callable[[], None] | None = None
    cleanup: Callable[[dict[str, Any]], None] | None = None  # after the clock: keep the tables' size steady


@dataclass
class Measured:
    """Samples of one scenario."""

    total_ms: list[float] = field(default_factory=list)
    own_ms: list[float] = field(default_factory=list)
    store_ms: list[float] = field(default_factory=list)
    work: list[dict[str, Any]] = field(default_factory=list)


def claims(sub: str, groups: list[str] | None = None) -> dict[str, str]:
    """What the REST Cognito authorizer passes on for a user."""
    from cloudshelf_dev.events import claims_for

    return claims_for(sub, f"{sub}@bench.local", groups)


def event(
    method: str,
    resource: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    who: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Callable[[], dict[str, Any]]:
    """A builder of fresh proxy events (new request id each time)."""
    from cloudshelf_dev.events import proxy_event

    multi = {k: [v] for k, v in (headers or {}).items()}
    if body is not None:
        multi["Content-Type"] = ["application/json"]

    def build() -> dict[str, Any]:
        return proxy_event(
            method,
            resource,
            path,
            path_parameters=params,
            query={k: [v] for k, v in (query or {}).items()},
            headers=dict(multi),
            body=json.dumps(body) if body is not None else None,
            claims=who,
        )

    return build


def book_input(title: str, stock: int = 10) -> dict[str, Any]:
    """A valid BookInput body."""
    return {
        "title": title,
        "author": "Bench Author",
        "category": "Fiction",
        "price": "12.50",
        "stock": stock,
        "description": "A book made by the benchmark.",
        "isbn": "9780306406157",
    }


def scenarios(stores: Stores) -> list[Scenario]:
    """The routes of the API, each with what it needs."""
    from cloudshelf.api import deps
    from cloudshelf.domain import books as book_rules
    from cloudshelf.domain.carts import set_quantity
    from cloudshelf.models.books import BookInput
    from cloudshelf.repositories import factory

    repo, carts = factory.book_repository(), factory.cart_repository()
    rules = deps.cart_rules()
    hot = [
        book_rules.create_book(repo, BookInput.model_validate(book_input(f"Hot Book {i}", HOT_STOCK))).bookId
        for i in range(3)
    ]
    to_replace = book_rules.create_book(repo, BookInput.model_validate(book_input("Replace Me"))).bookId
    admin = claims("bench-admin", ["admin"])
    viewer, editor, buyer, person = (claims(f"bench-{n}") for n in ("viewer", "editor", "buyer", "person"))
    for book_id in hot:
        set_quantity(viewer["sub"], book_id, 2, carts, repo, rules)
    doomed: list[str] = []

    def drop_created(answer: dict[str, Any]) -> None:
        book_rules.delete_book(repo, json.loads(answer["body"])["bookId"])

    def new_doomed() -> None:
        doomed.append(book_rules.create_book(repo, BookInput.model_validate(book_input("Delete Me"))).bookId)

    def delete_event() -> dict[str, Any]:
        book_id = doomed.pop()
        return event("DELETE", "/books/{bookId}", f"/books/{book_id}", params={"bookId": book_id}, who=admin)()

    def replace_event() -> dict[str, Any]:
        # Book writes are optimistic: the admin sends the version they read (not timed, not counted).
        version = book_rules.get_book(repo, to_replace).version
        path, params = f"/books/{to_replace}", {"bookId": to_replace}
        body, headers = book_input("Replaced Title"), {"If-Match": f'"{version}"'}
        return event("PUT", "/books/{bookId}", path, params=params, body=body, headers=headers, who=admin)()

    def fill(user: str, lines: int = 2) -> Callable[[], None]:
        def setup() -> None:
            for book_id in hot[:lines]:
                set_quantity(user, book_id, 1, carts, repo, rules)

        return setup

    quantity = iter(range(10**9))

    def put_item_event() -> dict[str, Any]:
        body = {"quantity": next(quantity) % 5 + 1}
        path = f"/cart/items/{hot[0]}"
        return event("PUT", "/cart/items/{bookId}", path, params={"bookId": hot[0]}, body=body, who=editor)()

    def checkout_event() -> dict[str, Any]:
        key = {"Idempotency-Key": f"bench-{uuid.uuid4().hex}"}
        return event("POST", "/orders", "/orders", headers=key, who=buyer)()

    replay_key = {"Idempotency-Key": "bench-replayed-key-0001"}
    placed: list[str] = []

    def remember_order() -> None:
        if not placed:
            page = factory.order_repository().list_page(buyer["sub"], 1, None)
            placed.extend(o.orderId for o in page.items)

    def get_order_event() -> dict[str, Any]:
        order_id = placed[0]
        return event("GET", "/orders/{orderId}", f"/orders/{order_id}", params={"orderId": order_id}, who=buyer)()

    profile = {
        "displayName": "Bench Person",
        "address": {"line1": "1 Bench Road", "city": "Leeds", "postalCode": "LS1 1AA", "country": "GB"},
    }
    item_path = f"/cart/items/{hot[1]}"
    return [
        Scenario("GET /books", "first page", "BooksFunction", event("GET", "/books", "/books"), 200),
        Scenario(
            "GET /books",
            "category",
            "BooksFunction",
            event("GET", "/books", "/books", query={"category": "Fiction"}),
            200,
        ),
        Scenario(
            "GET /books", "search", "BooksFunction", event("GET", "/books", "/books", query={"q": "time machine"}), 200
        ),
        Scenario(
            "GET /books/{bookId}",
            "",
            "BooksFunction",
            event("GET", "/books/{bookId}", "/books/pride-and-prejudice", params={"bookId": "pride-and-prejudice"}),
            200,
        ),
        Scenario("GET /categories", "", "BooksFunction", event("GET", "/categories", "/categories"), 200),
        Scenario(
            "POST /books",
            "",
            "BooksFunction",
            event("POST", "/books", "/books", body=book_input("New Book"), who=admin),
            201,
            cleanup=drop_created,
        ),
        Scenario("PUT /books/{bookId}", "", "BooksFunction", replace_event, 200),
        Scenario("DELETE /books/{bookId}", "", "BooksFunction", delete_event, 204, new_doomed),
        Scenario("GET /cart", "3 lines", "CartsFunction", event("GET", "/cart", "/cart", who=viewer), 200),
        Scenario("PUT /cart/items/{bookId}", "", "CartsFunction", put_item_event, 200),
        Scenario(
            "DELETE /cart/items/{bookId}",
            "",
            "CartsFunction",
            event("DELETE", "/cart/items/{bookId}", item_path, params={"bookId": hot[1]}, who=editor),
            200,
            fill(editor["sub"]),
        ),
        Scenario(
            "DELETE /cart", "", "CartsFunction", event("DELETE", "/cart", "/cart", who=editor), 204, fill(editor["sub"])
        ),
        Scenario("POST /orders", "checkout, 2 lines", "OrdersFunction", checkout_event, 201, fill(buyer["sub"])),
        Scenario(
            "POST /orders",
            "idempotent replay",
            "OrdersFunction",
            event("POST", "/orders", "/orders", headers=replay_key, who=buyer),
            201,
            fill(buyer["sub"]),
        ),
        Scenario(
            "GET /orders", "", "OrdersFunction", event("GET", "/orders", "/orders", who=buyer), 200, remember_order
        ),
        Scenario("GET /orders/{orderId}", "", "OrdersFunction", get_order_event, 200, remember_order),
        Scenario("GET /users/me", "", "UsersFunction", event("GET", "/users/me", "/users/me", who=person), 200),
        Scenario(
            "PUT /users/me", "", "UsersFunction", event("PUT", "/users/me", "/users/me", body=profile, who=person), 200
        ),
    ]


def seed_demo_catalog(stores: Stores) -> tuple[int, bool | None]:
    """The local stack's demo catalog: through the repository on PostgreSQL; on moto written
    directly, as moto needs ~20 s for 75 transactions. Returns (books, whether the direct
    items equal what the repository writes, checked on three of the books)."""
    from cloudshelf_dev.seed import catalog_book, load_catalog, seed_catalog
    from cloudshelf_dev.template import table_definitions

    from .catalog import check_direct_items, load_books_dynamodb

    if stores.phase == "2":
        return len(seed_catalog(workers=1).created), None
    books = [catalog_book(entry) for entry in load_catalog()]
    same = check_direct_items(stores.client, table_definitions(), books[:3])
    load_books_dynamodb(stores.tables["BooksTable"], books)
    return len(books), same


def call(
    handler: Callable[..., dict[str, Any]],
    scenario: Scenario,
    around: tuple[Callable[[], None], Callable[[], None]] | None = None,
) -> tuple[float, Work, dict[str, Any]]:
    """One measured call: setup (not timed, not counted), the handler, cleanup (not timed either).
    ``around``: called just before and just after the handler (the statement-log cross-check)."""
    if scenario.setup is not None:
        scenario.setup()
    request = scenario.event()
    if around is not None:
        around[0]()
    COUNTER.reset()
    began = time.perf_counter()
    answer = handler(request, new_context())
    total = (time.perf_counter() - began) * 1000
    work = COUNTER.reset()
    if around is not None:
        around[1]()
    if answer.get("statusCode") != scenario.status:
        raise RuntimeError(f"{scenario.route} ({scenario.variant}): {answer.get('statusCode')} {answer.get('body')}")
    if scenario.cleanup is not None:
        scenario.cleanup(answer)
    return total, work, answer


def typical_work(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every count over the samples, and which counts varied."""
    keys = [k for k in samples[0] if k != "ddb_calls"]
    out: dict[str, Any] = {k: statistics.median(s[k] for s in samples) for k in keys}
    ops = sorted({op for s in samples for op in s["ddb_calls"]})
    out["ddb_calls"] = {op: statistics.median(s["ddb_calls"].get(op, 0) for s in samples) for op in ops}
    out["varies"] = sorted(k for k in keys if len({s[k] for s in samples}) > 1)
    out["scan"] = any(s["ddb_calls"].get("Scan", 0) for s in samples)
    return out


def cross_check_round_trips(stores: Stores, chosen: list[tuple[Scenario, Any]]) -> dict[str, Any]:
    """Phase 2: count each route's PostgreSQL statements again from the server's own statement log."""
    server = stores.postgres
    log = server.root / "server.log"
    server.admin("ALTER SYSTEM SET log_statement = 'all'")
    server.admin("SELECT pg_reload_conf()")
    time.sleep(0.5)
    rows = []
    window: list[int] = []

    def lines() -> list[str]:
        text: str = log.read_text(errors="replace")
        return text.splitlines()

    def start() -> None:
        time.sleep(0.1)  # let the server finish logging the setup's statements
        window[:] = [len(lines())]

    def end() -> None:
        time.sleep(0.1)
        window.append(len(lines()))

    try:
        for scenario, handler in chosen:
            _, work, _ = call(handler, scenario, (start, end))
            logged = lines()[window[0] : window[1]]
            seen = sum(1 for line in logged if line.startswith("cloudshelf|") and "statement: " in line)
            rows.append(
                {
                    "route": scenario.route,
                    "variant": scenario.variant,
                    "counted": work.pg_round_trips,
                    "server_log": seen,
                }
            )
    finally:
        server.admin("ALTER SYSTEM SET log_statement = 'none'")
        server.admin("SELECT pg_reload_conf()")
    return {"routes": rows, "agree": all(r["counted"] == r["server_log"] for r in rows)}


def run(phase: str, rounds: int, warmup: int = 10) -> dict[str, Any]:
    """Measure every route ``rounds`` times after ``warmup`` calls."""
    from cloudshelf_dev.handlers import handler_for

    say = section_log(f"inprocess phase {phase}")
    with in_process(phase) as stores:
        loaded, direct_ok = seed_demo_catalog(stores)
        say(f"demo catalog: {loaded} books (direct items equal the repository's: {direct_ok})")
        handlers = {f: handler_for(f) for f in ("BooksFunction", "CartsFunction", "OrdersFunction", "UsersFunction")}
        first_calls: dict[str, float] = {}
        plan = scenarios(stores)
        results: list[dict[str, Any]] = []
        for scenario in plan:
            handler = handlers[scenario.function]
            measured = Measured()
            for i in range(warmup + rounds):
                total, work, _ = call(handler, scenario)
                if scenario.function not in first_calls:
                    first_calls[scenario.function] = round(total, 2)
                if i < warmup:
                    continue
                measured.total_ms.append(total)
                measured.store_ms.append(work.store_ms)
                measured.own_ms.append(total - work.store_ms)
                measured.work.append(work.as_dict())
            results.append(
                {
                    "route": scenario.route,
                    "variant": scenario.variant,
                    "function": scenario.function,
                    "status": scenario.status,
                    "total": summary(measured.total_ms),
                    "own": summary(measured.own_ms),
                    "store": summary(measured.store_ms),
                    "work": typical_work(measured.work),
                }
            )
            say(f"{scenario.route:28} {scenario.variant:20} p50 {results[-1]['total']['p50']:7.2f} ms")
        check = None
        if phase == "2":
            check = cross_check_round_trips(stores, [(s, handlers[s.function]) for s in plan])
            say(f"round trips cross-checked against the server log: {'agree' if check['agree'] else 'DIFFER'}")
    return {
        "phase": phase,
        "rounds": rounds,
        "warmup": warmup,
        "first_call_ms": first_calls,
        "routes": results,
        "round_trip_check": check,
        "demo_books": loaded,
        "direct_items_equal_repository": direct_ok,
        "store": "moto in-process (mock_aws)" + (" + PostgreSQL 127.0.0.1" if phase == "2" else ""),
    }
