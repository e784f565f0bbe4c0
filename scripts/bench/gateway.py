"""Items 5 and 6: the local stack over HTTP, and checkout with 50 concurrent buyers.

The stack is ``cloudshelf_dev.server.start_stack`` (what ``make dev`` runs): the gateway
with the Cognito authorizer emulated, the functions in worker processes (up to
``pool_size`` execution environments each), moto behind its lock, PostgreSQL in phase 2.
Clients are threads of this process on loopback, each with its own signed-in user.

- Item 5: GET /books and checkout (PUT a cart line, then POST /orders; only the POST is
  timed) with 1 and with several concurrent clients: p50/p99 and requests per second.
  Next to them, the same handlers called in this process against the **same** moto
  server (and PostgreSQL), so the difference is the gateway path itself (HTTP, authorizer,
  proxy event, worker process) and not the store.
- Item 6: 50 buyers, each with one copy of a book in the cart, check out at the same
  moment (a barrier) while only 10 copies exist; then the stock and every buyer's orders
  are read back: the oversell count is orders placed beyond the stock (must be 0), and
  the stock must equal what it was minus what was sold. Repeated, then once with plenty
  of stock (every buyer succeeds) for the throughput of successful checkouts.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .common import new_context, section_log, summary

TIMEOUT = 60


def sign_up_users(stack: Any, count: int, prefix: str) -> list[str]:
    """``count`` new confirmed users; their ID tokens."""
    from cloudshelf_dev import cognito

    def one(i: int) -> str:
        email = f"{prefix}-{i:03d}-{uuid.uuid4().hex[:6]}@bench.local"
        return cognito.register_user(stack.user_pool, email, "Bench-Pass-1234").id_token

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def auth(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def new_book(session: Any, api: str, admin: str, title: str, stock: int) -> str:
    """Create a book through the API; its id."""
    body = {
        "title": title,
        "author": "Bench Author",
        "category": "Fiction",
        "price": "7.50",
        "stock": stock,
        "isbn": "9780306406157",
    }
    answer = session.post(f"{api}/books", headers=auth(admin), json=body, timeout=TIMEOUT)
    if answer.status_code != 201:
        raise RuntimeError(f"POST /books: {answer.status_code} {answer.text[:300]}")
    return str(answer.json()["bookId"])


def load(clients: int, requests_each: int, action: Callable[[Any, int], float | None]) -> dict[str, Any]:
    """``clients`` threads, each calling ``action(session, client)`` ``requests_each`` times.
    ``action`` returns the latency to record (ms) or None. Returns p50/p99 and requests/s."""
    import requests

    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(index: int) -> None:
        session = requests.Session()
        barrier.wait()
        for _ in range(requests_each):
            ms = action(session, index)
            if ms is not None:
                with lock:
                    latencies.append(ms)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    wall = time.perf_counter() - began
    return {
        **summary(latencies),
        "clients": clients,
        "per_second": round(len(latencies) / wall, 1),
        "wall_s": round(wall, 2),
    }


def timed(call: Callable[[], Any], expect: int) -> float:
    """Milliseconds of one HTTP call, checking its status."""
    began = time.perf_counter()
    answer = call()
    ms = (time.perf_counter() - began) * 1000
    if answer.status_code != expect:
        raise RuntimeError(f"expected {expect}, got {answer.status_code}: {answer.text[:300]}")
    return ms


def gateway_latency(stack: Any, admin: str, shoppers: list[str], rounds: int, levels: list[int]) -> dict[str, Any]:
    """Item 5 through the gateway."""
    api = stack.api_url
    import requests

    hot = new_book(requests.Session(), api, admin, "Gateway Hot Book", 1_000_000)

    def list_books(session: Any, _: int) -> float:
        return timed(lambda: session.get(f"{api}/books", timeout=TIMEOUT), 200)

    def checkout(session: Any, client: int) -> float:
        mine = auth(shoppers[client])
        session.put(f"{api}/cart/items/{hot}", headers=mine, json={"quantity": 1}, timeout=TIMEOUT)
        key = {"Idempotency-Key": f"gw-{uuid.uuid4().hex}"}
        return timed(lambda: session.post(f"{api}/orders", headers={**mine, **key}, timeout=TIMEOUT), 201)

    load(max(levels), 5, list_books)  # every execution environment started and warm
    load(max(levels), 3, checkout)
    out: dict[str, Any] = {"GET /books": {}, "POST /orders": {}, "book": hot}
    for clients in levels:
        each = max(1, rounds // clients)
        out["GET /books"][str(clients)] = load(clients, each, list_books)
        out["POST /orders"][str(clients)] = load(clients, max(1, each // 2), checkout)
    return out


def in_process_same_store(stack: Any, shopper_token: str, book: str, rounds: int) -> dict[str, Any]:
    """The same two handlers called in this process, against the stack's own stores."""
    from cloudshelf.domain.carts import set_quantity
    from cloudshelf.repositories import factory
    from cloudshelf_dev.auth import CognitoAuthorizer
    from cloudshelf_dev.handlers import handler_for
    from cloudshelf_dev.lambda_env import function_environment
    from cloudshelf_dev.seed import local_environment
    from cloudshelf_dev.template import functions

    from .inprocess import event
    from .stores import db_overrides

    pool = stack.user_pool
    claims = CognitoAuthorizer(pool.jwks_url, pool.issuer, [pool.client_id]).claims_for_header(shopper_token)
    refs = {**stack.table_names, "Stage": "local", "AllowedOrigin": stack.url, "DataPhase": stack.phase}
    overrides = db_overrides(stack.postgres.dsn) if stack.postgres is not None else {}
    spec = next(s for s in functions() if s.logical_id == "OrdersFunction")
    out: dict[str, Any] = {}
    with local_environment(function_environment(spec, refs, stack.moto_url, overrides)):
        books, orders = handler_for("BooksFunction"), handler_for("OrdersFunction")
        from cloudshelf.api import deps

        list_event = event("GET", "/books", "/books")
        samples = []
        for i in range(rounds + 5):
            began = time.perf_counter()
            answer = books(list_event(), new_context())
            if i >= 5:
                samples.append((time.perf_counter() - began) * 1000)
            assert answer["statusCode"] == 200, answer  # noqa: S101 # nosec B101 - narrows a type for mypy; not a runtime check
        out["GET /books"] = summary(samples)
        samples = []
        for i in range(rounds // 2 + 3):
            set_quantity(
                claims["sub"], book, 1, factory.cart_repository(), factory.book_repository(), deps.cart_rules()
            )
            request = event(
                "POST", "/orders", "/orders", headers={"Idempotency-Key": f"ip-{uuid.uuid4().hex}"}, who=claims
            )()
            began = time.perf_counter()
            answer = orders(request, new_context())
            if i >= 3:
                samples.append((time.perf_counter() - began) * 1000)
            assert answer["statusCode"] == 201, answer  # noqa: S101 # nosec B101 - narrows a type for mypy; not a runtime check
        out["POST /orders"] = summary(samples)
    return out


def contention(stack: Any, admin: str, buyers: list[str], copies: int, rounds: int) -> dict[str, Any]:
    """Item 6: every buyer checks out one copy at the same moment."""
    import requests

    api = stack.api_url
    admin_session = requests.Session()
    results = []
    for round_no, stock in enumerate([copies] * rounds + [len(buyers) * 2]):
        book = new_book(admin_session, api, admin, f"Scarce Book {round_no}", stock)

        def fill(token: str, book: str = book) -> None:
            with requests.Session() as session:
                session.delete(f"{api}/cart", headers=auth(token), timeout=TIMEOUT)
                answer = session.put(
                    f"{api}/cart/items/{book}", headers=auth(token), json={"quantity": 1}, timeout=TIMEOUT
                )
                if answer.status_code != 200:
                    raise RuntimeError(f"PUT /cart/items: {answer.status_code} {answer.text[:200]}")

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(fill, buyers))
        barrier = threading.Barrier(len(buyers) + 1)
        finished: list[float] = []

        def buy(
            token: str, barrier: threading.Barrier = barrier, finished: list[float] = finished
        ) -> tuple[int, float]:
            session = requests.Session()
            key = {"Idempotency-Key": f"buy-{uuid.uuid4().hex}"}
            barrier.wait()
            began = time.perf_counter()
            answer = session.post(f"{api}/orders", headers={**auth(token), **key}, timeout=TIMEOUT)
            ended = time.perf_counter()
            finished.append(ended)
            return answer.status_code, (ended - began) * 1000

        with ThreadPoolExecutor(max_workers=len(buyers)) as pool:
            futures = [pool.submit(buy, token) for token in buyers]
            barrier.wait()
            started = time.perf_counter()
            outcomes = [f.result() for f in futures]
        wall = max(finished) - started
        statuses = Counter(status for status, _ in outcomes)
        left = admin_session.get(f"{api}/books/{book}", timeout=TIMEOUT).json()["stock"]

        def orders_of(token: str, book: str = book) -> int:
            with requests.Session() as session:
                page = session.get(f"{api}/orders?limit=100", headers=auth(token), timeout=TIMEOUT).json()
            return sum(1 for o in page["items"] if any(line["bookId"] == book for line in o["items"]))

        with ThreadPoolExecutor(max_workers=8) as pool:
            stored = sum(pool.map(orders_of, buyers))
        placed = statuses.get(201, 0)
        results.append(
            {
                "stock": stock,
                "buyers": len(buyers),
                "placed": placed,
                "refused_409": statuses.get(409, 0),
                "other_statuses": {str(k): v for k, v in statuses.items() if k not in (201, 409)},
                "orders_stored": stored,
                "stock_left": left,
                "oversold": max(0, stored - stock) + max(0, -left),
                "consistent": stored == placed and left == stock - stored,
                "wall_s": round(wall, 3),
                "orders_per_s": round(placed / wall, 1),
                "checkouts_per_s": round(len(buyers) / wall, 1),
                "latency": summary([ms for _, ms in outcomes]),
            }
        )
    return {"scarce_rounds": results[:-1], "plentiful": results[-1]}


def run(
    phase: str, rounds: int, levels: list[int], buyers: int = 50, copies: int = 10, pool_size: int = 4
) -> dict[str, Any]:
    """Start the stack for ``phase``, measure items 5 and 6, stop it."""
    from cloudshelf_dev import cognito
    from cloudshelf_dev.server import start_stack

    say = section_log(f"gateway phase {phase}")
    began = time.perf_counter()
    stack = start_stack(port=0, seed=True, phase=phase, pool_size=pool_size)
    say(f"local stack ready in {time.perf_counter() - began:.1f} s at {stack.url}")
    try:
        email, password = stack.admin
        admin = cognito.sign_in(stack.user_pool.endpoint, stack.user_pool.client_id, email, password).id_token
        users = sign_up_users(stack, max(levels) + buyers, f"p{phase}")
        shoppers, buyer_tokens = users[: max(levels)], users[max(levels) :]
        say(f"{len(users)} users signed up")
        gateway = gateway_latency(stack, admin, shoppers, rounds, levels)
        say("gateway latency measured")
        local = in_process_same_store(stack, shoppers[0], gateway["book"], rounds)
        say("in-process (same stores) measured")
        fight = contention(stack, admin, buyer_tokens, copies, 3)
        say("contention measured: " + ", ".join(f"{r['placed']}/{r['stock']} placed" for r in fight["scarce_rounds"]))
    finally:
        stack.stop()
    return {
        "phase": phase,
        "pool_size": pool_size,
        "gateway": gateway,
        "in_process_same_store": local,
        "contention": fight,
    }
