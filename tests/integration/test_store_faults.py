"""A store that throttles or is down gives an honest 503 with Retry-After, never a 500 or lost data."""

from __future__ import annotations

from collections.abc import Callable
from secrets import token_hex
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from cloudshelf.errors import CartChanged
from cloudshelf.ids import new_sortable_id
from cloudshelf.models.carts import StoredCart
from cloudshelf.models.common import utcnow
from cloudshelf.models.orders import Order, OrderLine
from cloudshelf.repositories import factory
from cloudshelf.repositories.dynamodb.client import dynamodb_client
from tests.integration.conftest import Invoke

# These faults are DynamoDB's; PostgreSQL's have their own tests.
pytestmark = pytest.mark.parametrize("phase", ["1"], indirect=True)


class _RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


def _throttle(counter: list[str]) -> Callable[..., AWSResponse]:
    body = (
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
        b'"message":"Rate of requests exceeds the allowed throughput."}'
    )

    def send(request: Any, **_: Any) -> AWSResponse:
        counter.append(request.url)
        return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, _RawBody(body))  # type: ignore[arg-type]

    return send


def test_throttling_is_retried_then_answered_503(invoke: Invoke, add_book: Callable[..., Any]) -> None:
    book = add_book()
    # Given DynamoDB throttles every request
    attempts: list[str] = []
    dynamodb_client().meta.events.register_first("before-send.dynamodb.GetItem", _throttle(attempts))
    # When a shopper reads a book
    reply = invoke("GetBook", bookId=book["bookId"])
    # Then the SDK retried with backoff, and the answer is 503 with Retry-After in the error shape
    assert len(attempts) == 3
    assert (reply.status, reply.body["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert reply.headers["Retry-After"] == ["2"]


def test_unreachable_store_is_503_and_writes_nothing(
    invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any]
) -> None:
    book = add_book(stock=5)
    invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 2})

    # Given the network to DynamoDB fails for transactions
    def unreachable(request: Any, **_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=request.url)

    dynamodb_client().meta.events.register_first("before-send.dynamodb.TransactWriteItems", unreachable)
    # When the shopper checks out
    reply = invoke("PlaceOrder", claims=shopper, body=None, headers={"Idempotency-Key": ["outage-key-1"]})
    # Then 503 with Retry-After, and stock, cart and orders are unchanged
    assert reply.status == 503
    assert "Retry-After" in reply.headers
    dynamodb_client().meta.events.unregister("before-send.dynamodb.TransactWriteItems", unreachable)
    assert invoke("GetBook", bookId=book["bookId"]).body["stock"] == 5
    assert len(invoke("GetCart", claims=shopper).body["items"]) == 1
    assert invoke("ListOrders", claims=shopper).body["items"] == []
    # And once the store is back, the same key checks out (the failed attempt did not burn it)
    again = invoke("PlaceOrder", claims=shopper, body=None, headers={"Idempotency-Key": ["outage-key-1"]})
    assert again.status == 201


def test_checkout_refuses_a_stale_cart_or_price_and_changes_nothing(
    invoke: Invoke, shopper: dict[str, str], add_book: Callable[..., Any]
) -> None:
    book = add_book(stock=5, price="10.00")
    invoke("PutCartItem", claims=shopper, bookId=book["bookId"], body={"quantity": 1})
    carts, books = factory.cart_repository(), factory.book_repository()
    stored = carts.get(shopper["sub"])
    assert stored is not None

    def attempt(cart: StoredCart, price: str) -> None:
        line = OrderLine(bookId=book["bookId"], title="t", author="a", unitPrice=price, quantity=1, lineTotal=price)  # type: ignore[arg-type]
        draft = Order(
            orderId=new_sortable_id(),
            userId=shopper["sub"],
            items=[line],
            total=price,
            currency="USD",
            createdAt=utcnow(),
        )  # type: ignore[arg-type]
        factory.checkout_repository().place_order(draft, cart, token_hex(8))

    # Given a cart version that is no longer current / When placed / Then CartChanged
    stale = stored.model_copy(update={"version": stored.version - 1})
    for cart, price in ((stale, "10.00"), (stored, "9.00")):
        try:
            attempt(cart, price)
        except CartChanged:
            pass
        else:
            raise AssertionError("a stale cart or price must not check out")
    # And nothing changed
    current = books.get(book["bookId"])
    assert current is not None
    assert current.stock == 5
    assert carts.get(shopper["sub"]) == stored
    assert factory.order_repository().list_page(shopper["sub"], 10, None).items == []
