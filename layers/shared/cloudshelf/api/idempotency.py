"""Idempotent checkout: one order per (caller, Idempotency-Key), bound to the request body."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloudshelf.api.deps import cart_rules
from cloudshelf.api.errors import error_response
from cloudshelf.domain.caller import Caller
from cloudshelf.domain.orders import checkout
from cloudshelf.models.orders import CheckoutInput, Order
from cloudshelf.money import to_money
from cloudshelf.observability import count, logger
from cloudshelf.repositories import factory
from cloudshelf.repositories.dynamodb.client import dynamodb_client
from cloudshelf.settings import get_settings

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,128}$"


@lru_cache(maxsize=1)
def _config() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="[userId, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=get_settings().idempotency_ttl_seconds,
    )


@lru_cache(maxsize=1)
def _idempotent_checkout() -> Callable[..., Order]:
    persistence = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table, boto3_client=dynamodb_client())

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=persistence,
        config=_config(),
        output_serializer=PydanticSerializer(Order),
    )
    def run(request: dict[str, Any]) -> Order:
        body = request["body"]
        expected = body.get("expectedTotal")
        order = checkout(
            request["userId"],
            request["key"],
            note=body.get("note"),
            expected_total=to_money(expected) if expected is not None else None,
            rules=cart_rules(),
            attempts=get_settings().checkout_attempts,
            carts=factory.cart_repository(),
            books=factory.book_repository(),
            orders=factory.order_repository(),
            checkout_repo=factory.checkout_repository(),
        )
        count("OrderPlaced")
        count("BooksSold", sum(line.quantity for line in order.items))
        return order

    return run  # type: ignore[no-any-return]


def place_order(caller: Caller, key: str, body: CheckoutInput, context: LambdaContext | None) -> Order:
    """Check out the caller's cart once per key; a retry with the same key and body returns the same order."""
    if context is not None:
        _config().register_lambda_context(context)
    request = {"userId": caller.user_id, "key": key, "body": body.model_dump(mode="json")}
    order: Order = _idempotent_checkout()(request=request)
    return order


def clear_cache() -> None:
    """Forget the persistence layer (tests)."""
    _idempotent_checkout.cache_clear()
    _config.cache_clear()


def register_idempotency_errors(app: APIGatewayRestResolver) -> None:
    """Map Powertools' idempotency errors to 409 / 503 in the one error shape."""

    @app.exception_handler(IdempotencyValidationError)
    def _key_reused(_: Exception) -> Response[str]:
        return error_response(409, "IDEMPOTENCY_CONFLICT", "this Idempotency-Key was used with another request")

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def _in_flight(_: Exception) -> Response[str]:
        return error_response(
            409,
            "IDEMPOTENCY_IN_PROGRESS",
            "a request with this Idempotency-Key is still in progress",
            None,
            {"Retry-After": "1"},
        )

    @app.exception_handler(IdempotencyPersistenceLayerError)
    def _idempotency_store(_: Exception) -> Response[str]:
        logger.warning("idempotency store unavailable")
        return error_response(503, "SERVICE_UNAVAILABLE", "try again shortly", None, {"Retry-After": "2"})
