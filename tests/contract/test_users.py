"""The caller's profile: GET /users/me, PUT /users/me."""

from __future__ import annotations

import pytest
from contract_support import Api, User, error_code


def test_profile_is_created_from_the_token_on_first_use(api: Api, shopper_a: User) -> None:
    # Given a shopper who never asked for their profile
    # When they do
    response = api.get("/users/me", shopper_a.token)
    # Then it is made from the token: their sub and e-mail
    assert response.status_code == 200
    profile = response.json()
    assert (profile["userId"], profile["email"]) == (shopper_a.sub, shopper_a.email)
    assert profile["displayName"]
    # And asking again returns the same profile
    assert api.get("/users/me", shopper_a.token).json() == profile


def test_profile_update(api: Api, shopper_a: User) -> None:
    # Given a shopper
    address = {"line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}
    # When they set their display name and address
    response = api.put("/users/me", shopper_a.token, json={"displayName": "Ann Reader", "address": address})
    # Then the profile has them, and keeps the id and e-mail from the token
    assert response.status_code == 200, response.text
    profile = response.json()
    assert (profile["displayName"], profile["address"]["city"]) == ("Ann Reader", "Springfield")
    assert (profile["userId"], profile["email"]) == (shopper_a.sub, shopper_a.email)
    assert api.get("/users/me", shopper_a.token).json() == profile


@pytest.mark.parametrize(
    "body",
    [
        {"displayName": "Ann", "role": "admin"},
        {"displayName": "Ann", "email": "someone@else.example"},
        {"displayName": "Ann", "userId": "another-user"},
        {"displayName": "Ann", "address": {"line1": "x", "city": "y", "postalCode": "z", "country": "USA"}},
        {"displayName": ""},
        {"displayName": 42},
        {},
    ],
)
def test_unknown_or_invalid_fields_are_rejected(api: Api, shopper_a: User, body: dict[str, object]) -> None:
    # Given a profile
    before = api.get("/users/me", shopper_a.token).json()
    # When the shopper sends a body with an unknown, server-owned or invalid field
    response = api.put("/users/me", shopper_a.token, json=body)
    # Then 422 and the profile is unchanged
    assert response.status_code == 422, response.text
    assert error_code(response) == "VALIDATION_ERROR"
    assert api.get("/users/me", shopper_a.token).json() == before


def test_profiles_are_per_user(api: Api, shopper_a: User, shopper_b: User) -> None:
    # Given shopper A renamed themselves
    api.put("/users/me", shopper_a.token, json={"displayName": "Only A"})
    # When shopper B reads their profile
    profile = api.get("/users/me", shopper_b.token).json()
    # Then it is B's own
    assert (profile["userId"], profile["email"]) == (shopper_b.sub, shopper_b.email)
    assert profile["displayName"] != "Only A"
