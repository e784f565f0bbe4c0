"""Cursors, ids and the pre-handler checks."""

from __future__ import annotations

import json

import pytest

from cloudshelf.api.auth import parse_groups
from cloudshelf.api.resolver import precheck
from cloudshelf.cursor import decode_cursor, encode_cursor
from cloudshelf.errors import InvalidInput
from cloudshelf.ids import new_sortable_id
from cloudshelf.settings import get_settings


def test_cursor_round_trip() -> None:
    # Given resume values / When encoded and decoded / Then they come back
    cursor = encode_cursor("books", {"id": "b1", "s": "emma#b1"})
    assert decode_cursor("books", cursor) == {"id": "b1", "s": "emma#b1"}


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", encode_cursor("orders", {"id": "x"}), "a" * 2000])
def test_bad_or_foreign_cursors_are_invalid_input(cursor: str) -> None:
    # Given garbage or another query's cursor / When decoded / Then InvalidInput (a 400)
    with pytest.raises(InvalidInput):
        decode_cursor("books", cursor)


def test_sortable_ids_sort_by_time() -> None:
    # Given ids made at increasing times / When sorted / Then the order is kept
    ids = [new_sortable_id(now_ms=t) for t in (1_000, 2_000, 3_000)]
    assert ids == sorted(ids)
    assert all(len(i) == 26 for i in ids)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("admin", {"admin"}), ("admin,staff", {"admin", "staff"}), ("[admin staff]", {"admin", "staff"}), (None, set())],
)
def test_groups_claim_formats(raw: object, expected: set[str]) -> None:
    # Given the groups claim as API Gateway passes it / When parsed / Then the set of groups
    assert parse_groups(raw) == expected


def test_precheck_refuses_big_bodies_and_non_admin_writes() -> None:
    # Given events / When prechecked / Then 413, 401, 403 or pass
    get_settings.cache_clear()
    big = {"httpMethod": "POST", "body": "x" * 70_000}
    assert precheck(big, admin_writes=False)["statusCode"] == 413  # type: ignore[index]
    anonymous = {"httpMethod": "POST", "body": "{}", "requestContext": {}}
    assert precheck(anonymous, admin_writes=True)["statusCode"] == 401  # type: ignore[index]
    shopper = {"httpMethod": "DELETE", "requestContext": {"authorizer": {"claims": {"sub": "u1"}}}}
    refused = precheck(shopper, admin_writes=True)
    assert refused is not None
    assert refused["statusCode"] == 403
    assert json.loads(refused["body"])["error"]["code"] == "FORBIDDEN"
    admin = {
        "httpMethod": "DELETE",
        "requestContext": {"authorizer": {"claims": {"sub": "a", "cognito:groups": "admin"}}},
    }
    assert precheck(admin, admin_writes=True) is None
    assert precheck({"httpMethod": "GET"}, admin_writes=True) is None
