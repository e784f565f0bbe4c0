"""Minimal, deterministic replays of what the store-history checker found (docs/testing.md).

One request at a time, the real handlers, one fault at one chosen point. Each test states the
invariant the checker saw broken before its fix (the seeds are in each test's docstring or
docs/testing.md); each failed on the tree where the checker found it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cloudshelf.repositories.dynamodb.client import dynamodb_client
from cloudshelf_dev.events import claims_for
from cloudshelf_dev.handlers import Handler
from tests.histories.actors import Client, Environment, LambdaTimeout
from tests.histories.runner import reset_caches
from tests.histories.stores import Stores

DEADLINE_S = 1.0  # each invocation's deadline, hence how long an interrupted checkout holds its key
BOOK = {
    "title": "Replay",
    "author": "A. Checker",
    "category": "Fiction",
    "price": "10.00",
    "stock": 5,
    "isbn": "9780306406157",
}


class Shop:
    """An admin and a shopper calling the real handlers in this process, fault-free unless told."""

    def __init__(self, stores: Stores, handlers: dict[str, Handler], stage: str) -> None:
        self.stores, self.stage = stores, stage
        stores.reset(stage)
        reset_caches()
        env = Environment(handlers, None, DEADLINE_S)
        self.admin = Client(env, "admin", claims_for("admin-1", "admin@example.com", ["admin"]), None, 0.0)
        self.shopper = Client(env, "shopper", claims_for("shopper-1", "shopper@example.com"), None, 0.0)

    def book(self, **fields: Any) -> dict[str, Any]:
        answer = self.admin.call("CreateBook", body={**BOOK, **fields})
        assert answer.status == 201, answer.body
        return answer.body["full"]  # type: ignore[no-any-return]

    def cart_with(self, book_id: str, quantity: int = 1) -> str:
        assert self.shopper.call("PutCartItem", path={"bookId": book_id}, body={"quantity": quantity}).status == 200
        total: str = self.shopper.call("GetCart").body["total"]
        return total

    def checkout(self, key: str, total: str) -> Any:
        return self.shopper.call("PlaceOrder", body={"expectedTotal": total}, headers={"Idempotency-Key": key})

    def snapshot(self) -> Any:
        return self.stores.snapshot(self.stage)


def stop_after_next(operation: str) -> None:
    """The function stops right after its next successful DynamoDB ``operation`` (as if its deadline
    passed there): the write happened, the answer is API Gateway's 504. One shot: the execution
    environment is replaced afterwards, with a client that has no such hook."""

    def stop(http_response: Any, **_: Any) -> None:
        if http_response.status_code == 200:
            raise LambdaTimeout(f"stopped after {operation}")

    dynamodb_client().meta.events.register(f"after-call.dynamodb.{operation}", stop)


@pytest.fixture
def shop_env(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stores]:
    previous = signal.getsignal(signal.SIGALRM)
    yield stores
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    reset_caches()


def _in(stage: str, stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in stores.environment(stage).items():
        monkeypatch.setenv(variable, value)


# Found by the checker (dual-write seeds 579049922, 905924012; postgres-read 568775234): a checkout
# whose function stopped between the DynamoDB transaction and the mirror write left the order out
# of PostgreSQL with no repair recorded. Fixed by recording an intent before every dual-stage write.
@pytest.mark.parametrize("stage", ["dual-write", "postgres-read"])
def test_an_order_placed_by_a_stopped_checkout_reaches_the_mirror_or_the_repairs(
    stage: str, shop_env: Stores, handlers: dict[str, Handler], monkeypatch: pytest.MonkeyPatch
) -> None:
    _in(stage, shop_env, monkeypatch)
    shop = Shop(shop_env, handlers, stage)
    book = shop.book()
    total = shop.cart_with(book["bookId"])
    # Given the checkout's function stops right after its DynamoDB transaction
    stop_after_next("TransactWriteItems")
    assert shop.checkout("replay-key-0001", total).status == 504
    # When the shopper retries with the same key once the interrupted attempt no longer holds it
    time.sleep(DEADLINE_S + 0.2)
    shop.checkout("replay-key-0001", total)
    # Then the order, in DynamoDB (the source of truth), is in the mirror or recorded for repair
    snap = shop.snapshot()
    assert len(snap.orders) == 1
    order = snap.orders[0]
    mirrored = any(o["orderId"] == order["orderId"] for o in snap.mirror_orders)
    assert mirrored or f"{order['userId']}/{order['orderId']}" in snap.repairs["orders"], (
        f"order {order['orderId']} is in neither the mirror nor the repairs ({snap.repairs})"
    )


# Found by the checker (postgres-read seeds 707659144, 568775234, 201925932, 208646200): the retry's
# order lookup went to the mirror only, which lacked the order; it answered 409 CART_EMPTY.
def test_postgres_read_a_retry_with_the_same_key_gets_the_order(
    shop_env: Stores, handlers: dict[str, Handler], monkeypatch: pytest.MonkeyPatch
) -> None:
    _in("postgres-read", shop_env, monkeypatch)
    shop = Shop(shop_env, handlers, "postgres-read")
    book = shop.book()
    total = shop.cart_with(book["bookId"])
    # Given the checkout's function stops right after its DynamoDB transaction (the order is placed)
    stop_after_next("TransactWriteItems")
    assert shop.checkout("replay-key-0002", total).status == 504
    # When the shopper retries with the same key once the interrupted attempt no longer holds it
    time.sleep(DEADLINE_S + 0.2)
    retry = shop.checkout("replay-key-0002", total)
    # Then the retry is answered with the order that was placed
    placed = shop.snapshot().orders
    assert len(placed) == 1
    assert (retry.status, (retry.body or {}).get("orderId")) == (201, placed[0]["orderId"]), retry.body


# Found by the checker (postgres-read seed 126427878): checkout priced the cart from the mirror
# while DynamoDB's transaction checked the source's price: every checkout answered CART_CHANGED.
def test_postgres_read_a_price_change_missing_from_the_mirror_does_not_block_checkout(
    shop_env: Stores, handlers: dict[str, Handler], monkeypatch: pytest.MonkeyPatch
) -> None:
    _in("postgres-read", shop_env, monkeypatch)
    shop = Shop(shop_env, handlers, "postgres-read")
    book = shop.book(price="10.00")
    # Given the admin's price change to 12.00 stopped right after the DynamoDB write (before the mirror's)
    stop_after_next("TransactWriteItems")
    body = {k: book[k] for k in ("title", "author", "category", "stock", "isbn")} | {"price": "12.00"}
    headers = {"If-Match": f'"{book["version"]}"'}
    assert shop.admin.call("ReplaceBook", path={"bookId": book["bookId"]}, body=body, headers=headers).status == 504
    again = shop.admin.call("ReplaceBook", path={"bookId": book["bookId"]}, body=body, headers=headers)
    assert again.code == "VERSION_CONFLICT"
    assert again.body["error"]["details"]["current"]["price"] == "12.00"  # it was applied
    # When the shopper checks out, agreeing each time to the total the store shows or says
    total = shop.cart_with(book["bookId"])
    answers = []
    for attempt in range(3):
        answer = shop.checkout(f"replay-key-01{attempt:02d}", total)
        answers.append(f"{answer.status} {answer.code or ''}".strip())
        if answer.status == 201:
            break
        details = answer.body["error"]["details"] if answer.code == "PRICE_CHANGED" else None
        total = details["total"] if details else shop.shopper.call("GetCart").body["total"]
    # Then the book can be bought (at the price in force: a PRICE_CHANGED first is fine)
    assert answers[-1] == "201", answers
