"""Conversion between Python values and DynamoDB's attribute-value format."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer


@lru_cache(maxsize=1)
def _serializer() -> TypeSerializer:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


@lru_cache(maxsize=1)
def _deserializer() -> TypeDeserializer:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Serialize a plain dict (None values dropped) into a DynamoDB item."""
    ser = _serializer()
    return {key: ser.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """Deserialize a DynamoDB item into a plain dict; whole numbers become ints."""
    des = _deserializer()
    out: dict[str, Any] = {}
    for key, raw in item.items():
        value = des.deserialize(raw)
        out[key] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal) and value.as_tuple().exponent == 0:
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def s(value: str) -> dict[str, str]:
    """A string attribute value."""
    return {"S": value}


def n(value: int | Decimal) -> dict[str, str]:
    """A number attribute value."""
    return {"N": str(value)}
