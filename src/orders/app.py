"""OrdersFunction: checkout and the caller's order history."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

from cloudshelf.api.auth import CurrentCaller
from cloudshelf.api.deps import Orders
from cloudshelf.api.idempotency import IDEMPOTENCY_KEY_PATTERN, place_order, register_idempotency_errors
from cloudshelf.api.resolver import create_app, lambda_entry, new_router
from cloudshelf.api.responses import SIGNED_IN, errors, ok
from cloudshelf.cursor import MAX_CURSOR_LENGTH
from cloudshelf.domain import orders
from cloudshelf.models.common import LINE_PATTERN
from cloudshelf.models.orders import CheckoutInput, Order, OrderPage

router = new_router()


@router.post(
    "/orders",
    tags=["Orders"],
    summary="Check out the caller's cart (idempotent by Idempotency-Key)",
    responses={
        **ok(201, "The order (the same one again for a retry with the same key)", Order),
        **SIGNED_IN,
        **errors(409, 413, 415),
    },
)
def create_order(
    caller: CurrentCaller,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN)],
    body: CheckoutInput | None = None,
) -> tuple[Order, int]:
    return place_order(caller, idempotency_key, body or CheckoutInput(), router.lambda_context), 201


@router.get("/orders", tags=["Orders"], summary="The caller's orders, newest first", responses={**ok(), **SIGNED_IN})
def list_orders(
    caller: CurrentCaller,
    repo: Orders,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH, pattern=LINE_PATTERN)] = None,
) -> OrderPage:
    return orders.list_orders(caller.user_id, limit, cursor, repo)


@router.get(
    "/orders/<orderId>",
    tags=["Orders"],
    summary="One of the caller's orders",
    responses={**ok(), **SIGNED_IN, **errors(404)},
)
def get_order(
    orderId: Annotated[str, Path(pattern=r"^[0-9A-Z]{26}$")],  # noqa: N803 - the path parameter's name
    caller: CurrentCaller,
    repo: Orders,
) -> Order:
    return orders.get_order(caller.user_id, orderId, repo)


app = create_app(router)
register_idempotency_errors(app)
lambda_handler = lambda_entry(app)
