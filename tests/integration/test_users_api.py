"""UsersFunction: own profile only, created from the token on first use."""

from __future__ import annotations

from tests.integration.conftest import Invoke


def test_profile_is_created_from_claims_then_updated(invoke: Invoke, shopper: dict[str, str]) -> None:
    # Given a new user / When they read their profile / Then it is made from the token's claims
    me = invoke("GetMe", claims=shopper)
    assert me.status == 200
    assert (me.body["userId"], me.body["email"], me.body["displayName"]) == (
        shopper["sub"],
        "ann@example.com",
        "Ann Elliot",
    )
    # When they change what they own / Then it is stored
    body = {
        "displayName": "Anne",
        "address": {"line1": "Kellynch Hall", "city": "Bath", "postalCode": "BA1", "country": "GB"},
    }
    updated = invoke("PutMe", claims=shopper, body=body)
    assert updated.status == 200
    assert updated.body["displayName"] == "Anne"
    again = invoke("GetMe", claims=shopper).body
    assert again["address"]["city"] == "Bath"
    assert again["createdAt"] == me.body["createdAt"]


def test_first_use_can_be_a_put(invoke: Invoke, other_shopper: dict[str, str]) -> None:
    # Given no profile yet / When the user PUTs / Then the profile is created with the change
    reply = invoke("PutMe", claims=other_shopper, body={"displayName": "Ben"})
    assert reply.status == 200
    assert reply.body["email"] == "ben@example.com"


def test_fields_the_user_does_not_own_are_refused(invoke: Invoke, shopper: dict[str, str]) -> None:
    invoke("GetMe", claims=shopper)
    # Given attempts to set id, email or role / When sent / Then 422 and nothing changes
    for extra in ({"email": "boss@example.com"}, {"userId": "someone-else"}, {"role": "admin"}, {"groups": ["admin"]}):
        reply = invoke("PutMe", claims=shopper, body={"displayName": "Mallory", **extra})
        assert reply.status == 422, extra
    assert invoke("PutMe", claims=shopper, body={"displayName": ""}).status == 422
    assert invoke("PutMe", claims=shopper, body={"displayName": "A", "address": {"line1": "x"}}).status == 422
    me = invoke("GetMe", claims=shopper).body
    assert (me["displayName"], me["email"], me["userId"]) == ("Ann Elliot", "ann@example.com", shopper["sub"])


def test_no_identity_no_profile(invoke: Invoke) -> None:
    # Given no verified claims / When the profile is asked / Then 401
    reply = invoke("GetMe", claims=None)
    assert reply.status == 401
    assert reply.body["error"]["code"] == "UNAUTHORIZED"
    assert invoke("PutMe", claims={"email": "no-sub@example.com"}, body={"displayName": "X"}).status == 401
