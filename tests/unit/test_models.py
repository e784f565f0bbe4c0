"""Validation of what callers send: bad input is refused with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from cloudshelf.models.books import BookInput, BookReplaceInput, normalize_isbn
from cloudshelf.models.carts import QuantityInput
from cloudshelf.models.users import ProfileUpdate

VALID: dict[str, Any] = {
    "title": "Emma",
    "author": "Jane Austen",
    "category": "Fiction",
    "price": "8.99",
    "stock": 3,
    "isbn": "0-306-40615-2",
}


def test_a_valid_book_is_normalized() -> None:
    # Given a valid book with a hyphenated ISBN-10 / When parsed / Then the ISBN is bare digits
    book = BookInput.model_validate(VALID)
    assert book.isbn == "0306406152"
    assert str(book.price) == "8.99"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "0.00"),
        ("price", "-1.00"),
        ("price", 8.99),
        ("stock", -1),
        ("stock", 10_000_001),
        ("stock", "many"),
        ("isbn", "978-0-306-40615-8"),
        ("isbn", "12345"),
        ("title", ""),
        ("title", "x" * 201),
        ("category", "<script>"),
        ("imageUrl", "javascript:alert(1)"),
        ("imageUrl", "http://insecure.example/cover.png"),
    ],
)
def test_invalid_book_fields_are_refused(field: str, value: object) -> None:
    # Given one bad field / When parsed / Then validation fails naming that field
    with pytest.raises(ValidationError) as error:
        BookInput.model_validate({**VALID, field: value})
    assert field in str(error.value)


@pytest.mark.parametrize("field", ["bookId", "createdAt", "version", "rating"])
def test_server_owned_or_unknown_book_fields_are_refused(field: str) -> None:
    # Given a body that tries to set a server-owned field / When parsed / Then refused
    with pytest.raises(ValidationError):
        BookInput.model_validate({**VALID, field: "x"})


def test_a_replacement_may_name_the_version_it_replaces() -> None:
    # Given a PUT body with the version read / When parsed / Then the version is kept apart from the fields
    body = BookReplaceInput.model_validate({**VALID, "version": 3})
    assert body.version == 3
    assert "version" not in body.editable()
    assert body.editable() == BookInput.model_validate(VALID).editable()
    # And it is optional (If-Match may carry it instead)
    assert BookReplaceInput.model_validate(VALID).version is None


@pytest.mark.parametrize("version", [0, -1, 2**31, 1.5, "x"])
def test_a_replacement_version_is_a_positive_integer(version: object) -> None:
    # Given a nonsense version / When parsed / Then refused naming it
    with pytest.raises(ValidationError) as error:
        BookReplaceInput.model_validate({**VALID, "version": version})
    assert "version" in str(error.value)


def test_isbn_13_check_digit() -> None:
    # Given ISBN-13s / When validated / Then only correct check digits pass
    assert normalize_isbn("978-0-306-40615-7") == "9780306406157"
    with pytest.raises(ValueError, match="ISBN"):
        normalize_isbn("9780306406158")


@pytest.mark.parametrize("quantity", [0, -1, 21, 1001, "2", 2.5, True])
def test_quantities_are_bounded_integers(quantity: object) -> None:
    # Given an absurd quantity, or one that isn't a JSON integer / When parsed / Then refused (types are strict)
    with pytest.raises(ValidationError):
        QuantityInput.model_validate({"quantity": quantity})


@pytest.mark.parametrize("field", ["userId", "email", "role", "groups", "createdAt"])
def test_profile_update_refuses_fields_the_user_does_not_own(field: str) -> None:
    # Given a profile update that tries to set an owned-by-server field / When parsed / Then refused
    with pytest.raises(ValidationError):
        ProfileUpdate.model_validate({"displayName": "Ann", field: "x"})
