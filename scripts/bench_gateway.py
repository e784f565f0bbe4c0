"""Latency of the local gateway vs calling the handler in-process (loopback only, bounded).

Starts the local stack in this process, then for GET /books and for a checkout (POST
/orders of a one-line cart) measures:

- ``gateway``: HTTP round trip through the local stack (routing, Cognito authorizer,
  proxy event, worker process, response conversion);
- ``in-process``: the same handler called directly in this process with an equivalent
  proxy event, against the same moto server.

Usage: ``.venv/bin/python scripts/bench_gateway.py [--rounds 100]``. Prints p50/p99 in ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from cloudshelf_dev import cognito
from cloudshelf_dev.events import proxy_event
from cloudshelf_dev.handlers import handler_for
from cloudshelf_dev.lambda_env import function_environment
from cloudshelf_dev.seed import local_environment
from cloudshelf_dev.server import Stack, start_stack
from cloudshelf_dev.tables import local_table_names
from cloudshelf_dev.template import functions
from cloudshelf_dev.worker import LambdaContext


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.1f} ms   p99 {p99:7.1f} ms   (n={len(ordered)})"


def timed(action: Callable[[], Any], rounds: int, before: Callable[[], Any] | None = None) -> list[float]:
    samples = []
    for _ in range(rounds):
        if before is not None:
            before()
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def expect(status: int, wanted: int, detail: Any = None) -> None:
    if status != wanted:
        raise RuntimeError(f"expected {wanted}, got {status}: {detail}")


def context() -> LambdaContext:
    return LambdaContext(
        "bench",
        "$LATEST",
        "arn:aws:lambda:us-east-1:123456789012:function:bench",
        512,
        str(uuid.uuid4()),
        "bench",
        "bench",
        time.time() * 1000 + 10_000,
    )


def run(stack: Stack, rounds: int) -> None:
    api = stack.api_url
    session = requests.Session()
    email, password = stack.admin
    admin = cognito.sign_in(stack.user_pool.endpoint, stack.user_pool.client_id, email, password).id_token
    shopper_email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    shopper = cognito.register_user(stack.user_pool, shopper_email, "Bench-Pass-1234").id_token
    auth = {"Authorization": f"Bearer {admin}"}
    book = session.post(
        f"{api}/books",
        headers=auth,
        timeout=30,
        json={
            "title": "Benchmark Book",
            "author": "B. Mark",
            "category": "Bench",
            "price": "1.00",
            "stock": 1_000_000,
            "isbn": "9780306406157",
        },
    ).json()
    mine = {"Authorization": f"Bearer {shopper}"}

    def fill() -> None:
        session.put(f"{api}/cart/items/{book['bookId']}", headers=mine, json={"quantity": 1}, timeout=30)

    def order_via_gateway() -> None:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        expect(session.post(f"{api}/orders", headers={**mine, **key}, timeout=30).status_code, 201)

    timed(lambda: session.get(f"{api}/books", timeout=30), 20)  # warm every environment and cache
    print("GET /books   gateway    ", percentiles(timed(lambda: session.get(f"{api}/books", timeout=30), rounds)))
    print("checkout     gateway    ", percentiles(timed(order_via_gateway, rounds, fill)))

    def me() -> None:
        session.get(f"{api}/users/me", headers=mine, timeout=30)

    print("GET /users/me gateway   ", percentiles(timed(me, rounds)))

    claims = stack_claims(stack, shopper)
    specs = {s.logical_id: s for s in functions()}
    refs = {**local_table_names(), "Stage": "local", "AllowedOrigin": stack.url, "DataPhase": "1"}
    with local_environment(function_environment(specs["OrdersFunction"], refs, stack.moto_url)):
        books, orders, users = (handler_for(f"{n}Function") for n in ("Books", "Orders", "Users"))

        def list_event() -> dict[str, Any]:
            return proxy_event("GET", "/books", "/books")

        timed(lambda: books(list_event(), context()), 20)

        def order_in_process() -> None:
            event = proxy_event(
                "POST", "/orders", "/orders", claims=claims, headers={"Idempotency-Key": [uuid.uuid4().hex]}
            )
            answer = orders(event, context())
            expect(answer["statusCode"], 201, answer.get("body"))

        print("GET /books   in-process ", percentiles(timed(lambda: books(list_event(), context()), rounds)))
        print("checkout     in-process ", percentiles(timed(order_in_process, rounds, fill)))
        me_event = proxy_event("GET", "/users/me", "/users/me", claims=claims)

        def me_in_process() -> None:
            users(me_event, context())

        print("GET /users/me in-process", percentiles(timed(me_in_process, rounds)))


def stack_claims(stack: Stack, token: str) -> dict[str, str]:
    from cloudshelf_dev.auth import CognitoAuthorizer

    pool = stack.user_pool
    return CognitoAuthorizer(pool.jwks_url, pool.issuer, [pool.client_id]).claims_for_header(token)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100, help="requests per measurement (bounded: 1..2000)")
    rounds = max(1, min(2000, parser.parse_args().rounds))
    started = time.perf_counter()
    stack = start_stack(port=0, seed=True)
    print(f"local stack ready in {time.perf_counter() - started:.1f} s at {stack.url}")
    try:
        run(stack, rounds)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
