"""Faults: a store or the identity provider failing never yields a pass, a 500 or half a write.

Complements tests/integration/test_store_faults.py (throttled reads, an unreachable store at
checkout, stale carts) and tests/integration/test_postgres.py (PostgreSQL down: 503, nothing
half-written). Here: the idempotency store failing before and after an order is placed,
transient DynamoDB errors that a retry cures, errors that persist, transactions cancelled
by throttling, read timeouts; and the Cognito keys failing in every way at the gateway.
Faults are injected with botocore event hooks on the functions' own DynamoDB client
(in-process, on moto), and with a JWKS fetcher that fails for the gateway's authorizer.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from security_support import ADMIN_CLAIMS, OTHER_CLAIMS, SHOPPER_CLAIMS, Functions, Reply

from cloudshelf.repositories.dynamodb.client import dynamodb_client
from cloudshelf.settings import get_settings
from cloudshelf_dev.auth import CognitoAuthorizer
from cloudshelf_dev.gateway import Gateway
from cloudshelf_dev.runtime import Invocation
from cloudshelf_dev.template import functions

BOOK = {
    "title": "Fault Lines",
    "author": "F. Ault",
    "category": "Faults",
    "price": "7.50",
    "stock": 5,
    "isbn": "978-0-306-40615-7",
}


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def aws_error(status: int, code: str, extra: dict[str, Any] | None = None) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code, **(extra or {})})
    return AWSResponse("https://dynamodb", status, {"x-amzn-ErrorType": code}, _Body(body.encode()))  # type: ignore[arg-type]


@contextmanager
def injected(
    operation: str, fault: Callable[[], Any], *, times: int | None = None, table: str | None = None
) -> Iterator[list[str]]:
    """Make the functions' DynamoDB client fail ``operation`` (on ``table`` only, if given), ``times`` times or always.

    ``fault`` returns an AWSResponse (the service answered an error) or raises (the network
    failed). A failed request never reaches moto: the hook stands in for moto's own stub
    (botocore runs every ``before-send`` handler, so answering first would not stop moto from
    applying the request). Yields the list of requests that were failed, to count attempts.
    """
    from moto.core.models import botocore_stubber as stubber

    botocore_stubber: Any = stubber
    failed: list[str] = []

    def send(request: Any, event_name: str, **kwargs: Any) -> Any:
        chosen = event_name == f"before-send.dynamodb.{operation}"
        if chosen and table is not None:
            chosen = json.loads(request.body or b"{}").get("TableName") == table
        if chosen and (times is None or len(failed) < times):
            failed.append(event_name)
            return fault()
        return botocore_stubber(event_name=event_name, request=request, **kwargs)

    events = dynamodb_client().meta.events
    events.unregister("before-send", botocore_stubber)
    events.register("before-send", send)
    try:
        yield failed
    finally:
        events.unregister("before-send", send)
        events.register("before-send", botocore_stubber)


@pytest.fixture
def shop(functions_on_moto: Functions) -> Callable[..., tuple[dict[str, Any], str]]:
    """A book, and a cart holding ``quantity`` of it for shopper A; returns (book, Idempotency-Key)."""

    def make(quantity: int = 2) -> tuple[dict[str, Any], str]:
        book = functions_on_moto("POST", "/books", claims=ADMIN_CLAIMS, body=BOOK).body
        cart = functions_on_moto(
            "PUT", "/cart/items/{bookId}", claims=SHOPPER_CLAIMS, body={"quantity": quantity}, bookId=book["bookId"]
        )
        assert cart.status == 200, cart.body
        return book, f"fault-key-{book['bookId']}"

    return make


def state(call: Functions, book: dict[str, Any]) -> tuple[int, list[Any], list[Any]]:
    """Stock of the book, A's cart lines and A's orders."""
    stock = call("GET", "/books/{bookId}", bookId=book["bookId"]).body["stock"]
    cart = [(i["bookId"], i["quantity"]) for i in call("GET", "/cart", claims=SHOPPER_CLAIMS).body["items"]]
    orders = call("GET", "/orders", claims=SHOPPER_CLAIMS).body["items"]
    return stock, cart, orders


def checkout(call: Functions, key: str) -> Reply:
    return call("POST", "/orders", claims=SHOPPER_CLAIMS, headers={"Idempotency-Key": key})


def assert_unavailable(reply: Reply) -> None:
    assert reply.status == 503, reply.body
    assert reply.body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert int(reply.headers["Retry-After"][0]) > 0


def throttled() -> AWSResponse:
    return aws_error(400, "ThrottlingException")


def test_idempotency_store_throttled_before_the_order_is_503_and_nothing_is_written(
    functions_on_moto: Functions, shop: Callable[..., Any], tally: Counter[str]
) -> None:
    call = functions_on_moto
    book, key = shop()
    before = state(call, book)
    # Given the idempotency table throttles every write
    with injected("PutItem", throttled, table=get_settings().idempotency_table) as failed:
        # When A checks out
        reply = checkout(call, key)
    tally["faults injected"] += len(failed)
    # Then the SDK retried with backoff, the answer is 503 with Retry-After, and nothing changed
    assert len(failed) == 3
    assert_unavailable(reply)
    assert state(call, book) == before
    # And once the store is back, the same key checks out exactly once
    assert checkout(call, key).status == 201
    stock, cart, orders = state(call, book)
    assert (stock, cart, len(orders)) == (3, [], 1)


def test_idempotency_store_failing_after_the_order_never_orders_twice(
    functions_on_moto: Functions, shop: Callable[..., Any], tally: Counter[str]
) -> None:
    call = functions_on_moto
    book, key = shop()
    # Given the idempotency table fails the write that records the finished order
    with injected("UpdateItem", throttled, table=get_settings().idempotency_table) as failed:
        reply = checkout(call, key)
    tally["faults injected"] += len(failed)
    # Then the caller hears 503 (the result could not be recorded), but the order is placed once, whole
    assert_unavailable(reply)
    stock, cart, orders = state(call, book)
    assert (stock, cart, len(orders)) == (3, [], 1)
    # And a retry with the same key (the record is still "in progress") is a 409 to retry later: never a second order
    again = checkout(call, key)
    assert (again.status, again.body["error"]["code"]) == (409, "IDEMPOTENCY_IN_PROGRESS")
    assert again.headers["Retry-After"]
    assert len(state(call, book)[2]) == 1


@pytest.mark.parametrize(
    ("status", "code"), [(500, "InternalServerError"), (503, "ServiceUnavailable"), (400, "ThrottlingException")]
)
def test_transient_errors_are_retried_and_the_order_is_placed_once(
    functions_on_moto: Functions, shop: Callable[..., Any], tally: Counter[str], status: int, code: str
) -> None:
    call = functions_on_moto
    book, key = shop()
    # Given DynamoDB fails the checkout transaction twice, then recovers
    with injected("TransactWriteItems", lambda: aws_error(status, code), times=2) as failed:
        reply = checkout(call, key)
    tally["faults injected"] += len(failed)
    # Then the SDK's retries cure it: one order, stock taken once, cart cleared
    assert len(failed) == 2
    assert reply.status == 201, reply.body
    assert state(call, book) == (3, [], [reply.body])


@pytest.mark.parametrize(
    ("operation", "request_"),
    [
        ("GetItem", ("GET", "/cart", SHOPPER_CLAIMS)),
        ("BatchGetItem", ("GET", "/cart", SHOPPER_CLAIMS)),
        ("PutItem", ("PUT", "/cart/items/{bookId}", SHOPPER_CLAIMS)),
        ("Query", ("GET", "/orders", SHOPPER_CLAIMS)),
        ("PutItem", ("PUT", "/users/me", OTHER_CLAIMS)),
        ("TransactWriteItems", ("POST", "/orders", SHOPPER_CLAIMS)),
    ],
)
@pytest.mark.parametrize("fault", ["service-unavailable", "read-timeout"])
def test_persistent_failures_are_503_and_change_nothing(
    functions_on_moto: Functions,
    shop: Callable[..., Any],
    tally: Counter[str],
    operation: str,
    request_: tuple[str, str, dict[str, str]],
    fault: str,
) -> None:
    call = functions_on_moto
    book, key = shop()
    before = state(call, book)
    method, resource, claims = request_

    def fail() -> AWSResponse:
        if fault == "read-timeout":
            raise ReadTimeoutError(endpoint_url="https://dynamodb")
        return aws_error(503, "ServiceUnavailable")

    body = {"quantity": 1} if "items" in resource else {"displayName": "Ben"} if "users" in resource else None
    headers = {"Idempotency-Key": key} if resource == "/orders" else None
    # Given DynamoDB keeps failing one operation
    with injected(operation, fail) as failed:
        # When a request needs it
        reply = call(method, resource, claims=claims, body=body, headers=headers, bookId=book["bookId"])
    tally["faults injected"] += len(failed)
    # Then, after the SDK's retries, 503 with Retry-After; and nothing half-written
    assert len(failed) == 3, failed
    assert_unavailable(reply)
    assert state(call, book) == before
    assert call("GET", "/users/me", claims=OTHER_CLAIMS).body["displayName"] != "Ben"


def test_a_transaction_cancelled_by_throttling_is_503_and_changes_nothing(
    functions_on_moto: Functions, shop: Callable[..., Any], tally: Counter[str]
) -> None:
    call = functions_on_moto
    book, key = shop()
    before = state(call, book)
    reasons = {"CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}, {"Code": "None"}]}
    # Given DynamoDB cancels the checkout transaction for throttling (not for a condition)
    with injected("TransactWriteItems", lambda: aws_error(400, "TransactionCanceledException", reasons)) as failed:
        reply = checkout(call, key)
    tally["faults injected"] += len(failed)
    # Then 503 with Retry-After (not a 409 about stock), and nothing changed
    assert_unavailable(reply)
    assert state(call, book) == before


# ---------------------------------------------------------------- the Cognito keys at the gateway


class _OneFunction:
    """A stand-in function pool that records invocations (so a pass can't go unnoticed)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any], request_id: str) -> Invocation:
        self.events.append(event)
        response = {"statusCode": 200, "body": json.dumps({"claims": event["requestContext"]["authorizer"]})}
        return Invocation(response, 1.0, None)


@pytest.fixture
def jwks(forge: Callable[..., str], stack: Any) -> dict[str, Any]:
    """The pool's real key set."""
    document: dict[str, Any] = requests.get(stack.user_pool.jwks_url, timeout=10).json()
    return document


def gateway_with(fetch: Callable[[str, float], dict[str, Any]], stack: Any, **kwargs: Any) -> tuple[Gateway, Any]:
    pool = stack.user_pool
    authorizer = CognitoAuthorizer(pool.jwks_url, pool.issuer, [pool.client_id], fetch=fetch, **kwargs)
    function = _OneFunction()
    pools: dict[str, Any] = {spec.logical_id: function for spec in functions()}
    gateway = Gateway(functions(), pools, authorizer, allowed_origin="http://127.0.0.1:3000", max_body_bytes=65536)
    return gateway, function


def _raise(exc: Exception) -> Callable[[str, float], dict[str, Any]]:
    def fetch(url: str, timeout: float) -> dict[str, Any]:
        raise exc

    return fetch


def _http_error() -> Exception:
    response = requests.Response()
    response.status_code = 500
    return requests.HTTPError("500 Server Error", response=response)


@pytest.mark.parametrize(
    ("fetch", "statuses"),
    [
        (_raise(requests.ConnectionError("refused")), {503}),
        (_raise(requests.Timeout("timed out")), {503}),
        (_raise(_http_error()), {503}),
        (_raise(ValueError("Expecting value: line 1 column 1")), {503}),  # HTML or garbage instead of JSON
        (lambda url, timeout: {"nothing": "here"}, {401, 503}),
        (lambda url, timeout: {"keys": []}, {401, 503}),
        (lambda url, timeout: {"keys": [{"kty": "oct", "kid": "dummy", "k": "c2VjcmV0"}]}, {401, 503}),
    ],
    ids=["refused", "timeout", "http-500", "not-json", "no-keys-member", "empty-key-set", "symmetric-key"],
)
def test_unusable_keys_are_401_or_503_never_a_pass(
    stack: Any, forge: Callable[..., str], tally: Counter[str], fetch: Any, statuses: set[int]
) -> None:
    # Given a gateway whose authorizer can't get usable keys
    gateway, function = gateway_with(fetch, stack)
    # When well-made tokens reach protected routes
    for method, path in (("GET", "/cart"), ("POST", "/books"), ("GET", "/users/me")):
        response = gateway.call(
            method, path, headers={"Authorization": f"Bearer {forge(**{'cognito:groups': ['admin']})}"}
        )
        tally["faults injected"] += 1
        # Then 503 (keys unreachable, retry later) or 401 (no key matches); no function ran
        assert response.status_code in statuses, response.get_data()
        if response.status_code == 503:
            assert response.headers["Retry-After"]
    assert function.events == []


def test_keys_going_away_after_a_fetch_are_cached_but_never_widen_trust(
    stack: Any, forge: Callable[..., str], jwks: dict[str, Any], tally: Counter[str]
) -> None:
    calls: list[str] = []
    up = [True]

    def fetch(url: str, timeout: float) -> dict[str, Any]:
        calls.append(url)
        if not up[0]:
            raise requests.ConnectionError("the pool's keys are gone")
        return jwks

    gateway, function = gateway_with(fetch, stack, refetch_after=0.0)
    headers = {"Authorization": f"Bearer {forge('cached-user')}"}
    # Given the keys were fetched once
    assert gateway.call("GET", "/cart", headers=headers).status_code == 200
    # When the keys become unreachable
    up[0] = False
    tally["faults injected"] += 1
    # Then tokens of known keys still verify from the cache (as API Gateway caches them) ...
    assert gateway.call("GET", "/cart", headers=headers).status_code == 200
    # ... a token naming an unknown key makes the gateway try the keys again: 503, never a pass
    unknown = gateway.call("GET", "/cart", headers={"Authorization": f"Bearer {forge(kid='rotated-key')}"})
    assert unknown.status_code == 503
    # ... and bad tokens stay bad
    assert gateway.call("GET", "/cart", headers={"Authorization": "Bearer not.a.jwt"}).status_code == 401
    assert [e["requestContext"]["authorizer"]["claims"]["sub"] for e in function.events] == ["cached-user"] * 2
    assert len(calls) == 2
