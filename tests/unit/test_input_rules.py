"""What callers may send, for every input model: strict JSON types, no control characters, stated limits.

Issue 11: booleans are not numbers and numbers are not strings (``"stock": false`` must not
set the stock to 0); a NUL or another C0 control character never reaches a store; huge or
deeply nested JSON, ``1e30`` as a price and forged cursors are a 4xx, never a 500; and the
OpenAPI document states every limit the server enforces.
"""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from cloudshelf.api.resolver import precheck
from cloudshelf.cursor import decode_cursor, encode_cursor
from cloudshelf.errors import InvalidInput, LimitExceeded
from cloudshelf.models.books import MAX_PRICE, BookInput
from cloudshelf.models.carts import MAX_CART_LINES, QuantityInput
from cloudshelf.models.common import ApiModel
from cloudshelf.models.orders import CheckoutInput
from cloudshelf.models.users import Address, ProfileUpdate
from cloudshelf.money import MAX_AMOUNT, checked_total, line_total, to_money
from cloudshelf.settings import Settings
from cloudshelf_dev.events import claims_for, proxy_event

ADDRESS = {"line1": "1 High Street", "line2": "Flat 2", "city": "Bath", "postalCode": "BA1 1AA", "country": "GB"}
VALID: dict[type[ApiModel], dict[str, Any]] = {
    BookInput: {
        "title": "Emma",
        "author": "Jane Austen",
        "category": "Fiction",
        "price": "8.99",
        "stock": 3,
        "description": "A novel.\nIn three volumes.",
        "isbn": "0-306-40615-2",
        "imageUrl": "/img/emma.png",
    },
    QuantityInput: {"quantity": 2},
    CheckoutInput: {"note": "Leave it with the neighbour,\nplease."},
    ProfileUpdate: {"displayName": "Ann", "address": ADDRESS},
    Address: ADDRESS,
}


def input_models() -> list[type[ApiModel]]:
    """Every input model of the API: each subclass of ApiModel in cloudshelf.models, found, not listed."""
    found, todo = [], list(ApiModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model.__module__.startswith("cloudshelf.models."):
            found.append(model)
    return sorted(set(found), key=lambda m: (m.__module__, m.__name__))


def example(model: type[ApiModel]) -> dict[str, Any]:
    """A valid body of ``model`` (a subclass without one of its own uses its parent's)."""
    return next(VALID[klass] for klass in model.__mro__ if klass in VALID)


INPUT_MODELS = input_models()
# Free text that may span lines: tab, LF and CR allowed there (and only there).
MULTILINE = {(BookInput, "description"), (CheckoutInput, "note")}


def validate(model: type[BaseModel], data: Any) -> BaseModel:
    """Validate a parsed JSON body the way Powertools' resolver does (Python mode, from attributes)."""
    return TypeAdapter(model).validate_python(data, from_attributes=True)


def leaf(schema: dict[str, Any]) -> dict[str, Any]:
    """A property schema without its ``anyOf: [..., null]`` wrapper."""
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    assert len(options) == 1, schema
    return options[0]


def fields_of(model: type[ApiModel], kind: str) -> list[str]:
    """The model's own fields whose JSON type is ``kind`` (``string``, ``integer``, ``money``)."""
    names = []
    for name, field in model.model_fields.items():
        prop = leaf(model.model_json_schema()["properties"][name])
        is_money = "Decimal" in repr(field.annotation)
        if (kind == "money" and is_money) or (not is_money and prop.get("type") == kind):
            names.append(name)
    return names


def cases(kind: str) -> list[tuple[type[ApiModel], str]]:
    return [(model, name) for model in INPUT_MODELS for name in fields_of(model, kind)]


def ids(params: list[tuple[type[ApiModel], str]]) -> list[str]:
    return [f"{model.__name__}.{name}" for model, name in params]


def assert_refused(model: type[ApiModel], field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as error:
        validate(model, {**example(model), field: value})
    assert [e["loc"][0] for e in error.value.errors()] == [field], error.value


@pytest.mark.parametrize("model", INPUT_MODELS, ids=lambda m: m.__name__)
def test_every_input_model_has_a_valid_example(model: type[ApiModel]) -> None:
    validate(model, example(model))


# ---------------------------------------------------------------- strict types (defect 7)

INTEGERS = cases("integer")
STRINGS = cases("string")
MONIES = cases("money")


def test_every_kind_of_field_is_covered() -> None:
    assert {(BookInput, "stock"), (QuantityInput, "quantity")} <= set(INTEGERS)
    assert (BookInput, "price") in MONIES
    assert {(ProfileUpdate, "displayName"), (CheckoutInput, "note"), (Address, "city")} <= set(STRINGS)


@pytest.mark.parametrize(("model", "field"), INTEGERS, ids=ids(INTEGERS))
@pytest.mark.parametrize("value", [False, True, "1", "3", 2.5, 1e300, float("nan"), float("inf")], ids=repr)
def test_integers_are_json_integers_only(model: type[ApiModel], field: str, value: Any) -> None:
    # Given a boolean, a numeric string or a fraction where an integer belongs / Then refused, naming the field
    assert_refused(model, field, value)


@pytest.mark.parametrize(("model", "field"), INTEGERS, ids=ids(INTEGERS))
def test_an_integer_may_be_written_with_a_zero_fraction(model: type[ApiModel], field: str) -> None:
    # JSON has one number type, and JSON Schema's "integer" takes 2.0: it is the integer 2
    value = getattr(validate(model, {**example(model), field: 2.0}), field)
    assert (value, type(value)) == (2, int)


@pytest.mark.parametrize(("model", "field"), STRINGS, ids=ids(STRINGS))
@pytest.mark.parametrize("value", [1, 0, 1.5, True, False, ["x"], {"x": "y"}], ids=repr)
def test_strings_are_json_strings_only(model: type[ApiModel], field: str, value: Any) -> None:
    assert_refused(model, field, value)


@pytest.mark.parametrize(("model", "field"), MONIES, ids=ids(MONIES))
@pytest.mark.parametrize("value", [True, False, 8.99, 1.0, "1e30", 10**30, "NaN", "Infinity", ["8.99"]], ids=repr)
def test_money_is_a_decimal_string_or_an_integer_never_a_float_or_a_boolean(
    model: type[ApiModel], field: str, value: Any
) -> None:
    assert_refused(model, field, value)


@pytest.mark.parametrize(("model", "field"), MONIES, ids=ids(MONIES))
def test_money_accepts_decimal_strings_and_json_integers(model: type[ApiModel], field: str) -> None:
    assert getattr(validate(model, {**example(model), field: "12.50"}), field) == Decimal("12.50")
    assert getattr(validate(model, {**example(model), field: 12}), field) == Decimal("12.00")


# ---------------------------------------------------------------- control characters (defect 6)

CONTROLS = ["\x00", "a\x00b", "\x01", "x\x07y", "a\x1b[31m", "x\x1fy", "x\x08y", "a\x0bb", "a\x0cb"]
LINE_BREAKS = ["one\ntwo", "one\r\ntwo", "one\ttwo"]
SURROGATES = ["\ud800", "a\udfffb"]


@pytest.mark.parametrize(("model", "field"), STRINGS, ids=ids(STRINGS))
@pytest.mark.parametrize("value", CONTROLS + SURROGATES, ids=repr)
def test_no_string_field_takes_a_control_character_or_a_lone_surrogate(
    model: type[ApiModel], field: str, value: str
) -> None:
    # Given a NUL, another C0 control character or half a surrogate pair in any string field / Then refused
    assert_refused(model, field, value)


@pytest.mark.parametrize(("model", "field"), STRINGS, ids=ids(STRINGS))
@pytest.mark.parametrize("value", LINE_BREAKS, ids=repr)
def test_line_breaks_and_tabs_only_in_free_text(model: type[ApiModel], field: str, value: str) -> None:
    if any(issubclass(model, kind) and field == name for kind, name in MULTILINE):
        assert getattr(validate(model, {**example(model), field: value}), field) == value
    else:
        assert_refused(model, field, value)


def test_the_rule_is_model_wide_for_any_new_string_field() -> None:
    # Given an input model someone adds later, with a bare ``str`` field
    class Later(ApiModel):
        text: str
        texts: list[str] = Field(default_factory=list)

    # Then the base model refuses control characters there too
    for bad in ({"text": "a\x00"}, {"text": "ok", "texts": ["fine", "b\x01"]}):
        with pytest.raises(ValidationError):
            validate(Later, bad)
    assert validate(Later, {"text": "ok", "texts": ["fine"]})


# ---------------------------------------------------------------- limits stated in the document (defect 8)


def properties(model: type[ApiModel]) -> dict[str, dict[str, Any]]:
    return {name: leaf(prop) for name, prop in model.model_json_schema(mode="validation")["properties"].items()}


@pytest.mark.parametrize(("model", "field"), STRINGS + MONIES, ids=ids(STRINGS + MONIES))
def test_every_string_states_its_length_and_that_control_characters_are_refused(
    model: type[ApiModel], field: str
) -> None:
    prop = properties(model)[field]
    assert prop["type"] == "string"
    assert 0 < prop["maxLength"] <= 5000, prop
    # the stated pattern refuses what the server refuses, and matches what it accepts
    pattern = re.compile(prop["pattern"])
    assert pattern.search(str(example(model).get(field, "12.50")))
    for bad in CONTROLS:
        assert not pattern.search(bad), (field, bad)


def test_the_quantity_limit_is_the_one_stated() -> None:
    prop = properties(QuantityInput)["quantity"]
    settings_bound = next(m.le for m in Settings.model_fields["max_line_quantity"].metadata if hasattr(m, "le"))
    # Then the document states 1..20, the default is 20, and no deployment may allow more than stated
    assert (prop["minimum"], prop["maximum"]) == (1, Settings().max_line_quantity) == (1, 20)
    assert settings_bound <= prop["maximum"]
    assert_refused(QuantityInput, "quantity", 21)
    assert validate(QuantityInput, {"quantity": 20})
    # and the lines per cart the document states (PUT /cart/items' description) are the most a deployment may set
    lines_bound = next(m.le for m in Settings.model_fields["max_cart_lines"].metadata if hasattr(m, "le"))
    assert lines_bound <= MAX_CART_LINES == Settings().max_cart_lines == 50


def test_the_note_has_a_limit() -> None:
    assert properties(CheckoutInput)["note"]["maxLength"] == 500
    assert validate(CheckoutInput, {"note": "x" * 500})
    assert_refused(CheckoutInput, "note", "x" * 501)


def test_a_price_is_capped_so_that_no_cart_total_can_overflow() -> None:
    # Given the most a deployment may allow: lines per cart and copies per line
    def bound(name: str) -> int:
        return int(next(m.le for m in Settings.model_fields[name].metadata if hasattr(m, "le")))

    # Then the dearest full cart still fits in money's range
    assert MAX_PRICE * bound("max_cart_lines") * bound("max_line_quantity") <= MAX_AMOUNT
    # And the cap is enforced and stated
    assert validate(BookInput, {**example(BookInput), "price": str(MAX_PRICE)})
    for over in ("100000.00", 100000, "99999999.99", "1e30"):
        assert_refused(BookInput, "price", over)
    pattern = re.compile(properties(BookInput)["price"]["pattern"])
    assert all(pattern.search(v) for v in ("99999.99", "0.01", "12.50"))
    assert not any(pattern.search(v) for v in ("100000.00", "0.00", "-1.00", "1e30"))


# ---------------------------------------------------------------- money's range (defect 6)


@pytest.mark.parametrize("raw", ["1e30", "-1e30", "1E+30", 10**30, "9" * 5000, "1e999999999", "-1e-999999999"])
def test_money_out_of_range_is_refused_not_a_crash(raw: object) -> None:
    # Given an amount beyond the decimal context's precision / Then ValueError (a 422), not InvalidOperation (a 500)
    with pytest.raises(ValueError, match="money"):
        to_money(raw)


def test_totals_beyond_money_are_a_limit_not_a_crash() -> None:
    # Given a line or a cart beyond what money can hold (books stored before the price cap)
    with pytest.raises(LimitExceeded):
        checked_total([line_total(MAX_AMOUNT, 2)])
    with pytest.raises(LimitExceeded):
        checked_total([Decimal("60000000.00"), Decimal("60000000.00")])
    assert checked_total([MAX_PRICE * 20] * 50) <= MAX_AMOUNT


# ---------------------------------------------------------------- cursors (defect 6)


def raw_cursor(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode("utf-8", "surrogatepass")).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor("books", {"t": "a\x00b", "id": "x"}),
        encode_cursor("books", {"t": "emma", "id": "\x00"}),
        encode_cursor("books", {"t": "a\x1b", "id": "x"}),
        raw_cursor('{"k": "books", "v": {"t": "\\ud800", "id": "x"}}'),
        raw_cursor('{"k": "books", "v": {"t": "\\u0000", "id": "x"}}'),
        raw_cursor('{"k": "books", "v": {"t": "emma", "id": 1' + "0" * 30 + "}}"),
        raw_cursor('{"k": "books", "v": {"t": "emma", "id": "x"' + ', "n": [' * 200 + "]" * 200 + "}}"),
        raw_cursor('{"k": "books", "v": {"t": "emma", "id": ' + "1" * 600 + "}}"),
        raw_cursor('{"k": "books", "v": {"t": NaN, "id": "x"}}'),
        raw_cursor("[" * 500 + "]" * 500),
    ],
    ids=["nul", "nul-id", "escape", "surrogate", "escaped-nul", "huge-int", "nested", "long-int", "nan", "deep"],
)
def test_forged_cursors_with_hostile_values_are_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor("books", cursor)


def test_search_offsets_stay_small() -> None:
    for offset in (10**30, -1, True):
        with pytest.raises(InvalidInput):
            decode_cursor("search", encode_cursor("search", {"o": offset}))  # type: ignore[dict-item]


# ---------------------------------------------------------------- JSON the parser can't take (defect 6)


def body_event(body: str, method: str = "PUT", **query: str) -> dict[str, Any]:
    return proxy_event(
        method,
        "/users/me",
        "/users/me",
        headers={"Content-Type": ["application/json"]},
        query={k: [v] for k, v in query.items()},
        body=body,
        claims=claims_for("rules-user", "rules@example.com"),
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"displayName": ' + "1" * 5000 + "}", 400, "INVALID_JSON"),
        ('{"displayName": -' + "9" * 4301 + "}", 400, "INVALID_JSON"),
        ("[" * 30000 + "]" * 30000, 400, "INVALID_JSON"),
        ('{"displayName": ' + "[" * 2000 + "]" * 2000 + "}", 400, "INVALID_JSON"),
        ('{"a": ' * 5000 + "1" + "}" * 5000, 400, "INVALID_JSON"),
        ('{"displayName": NaN}', 400, "INVALID_JSON"),
        ('{"displayName": Infinity}', 400, "INVALID_JSON"),
        ('{"displayName": -Infinity}', 400, "INVALID_JSON"),
        ('{"displayName": "x", "address": ' + '{"a": ' * 40 + "1" + "}" * 41, 400, "INVALID_JSON"),
    ],
    ids=[
        "5000-digits",
        "4302-digits",
        "30000-deep",
        "2000-deep-field",
        "5000-deep-objects",
        "nan",
        "inf",
        "-inf",
        "40-deep",
    ],
)
def test_bodies_the_parser_cannot_take_are_refused_before_the_handler(body: str, status: int, code: str) -> None:
    answer = precheck(body_event(body), admin_writes=False)
    assert answer is not None
    assert answer["statusCode"] == status
    error = json.loads(answer["body"])["error"]
    assert (error["code"], set(error)) == (code, {"code", "message", "details"})


@pytest.mark.parametrize(
    "body",
    [
        '{"displayName": "Ann", "address": null}',
        '{"displayName": 12345678901234567890}',
        '{"x": [[[[1]]]]}',
        "[]",
        '{"displayName": "Ann"',  # malformed: Powertools answers 400 with the position
    ],
)
def test_ordinary_json_passes_the_precheck(body: str) -> None:
    # Bodies that parse are the handler's to judge (422 for the wrong shape)
    assert precheck(body_event(body), admin_writes=False) is None


@pytest.mark.parametrize(
    ("name", "value"), [("q", "a\x00b"), ("category", "\x00"), ("cursor", "abc\x00"), ("q", "\x1b")]
)
def test_control_characters_in_query_strings_are_refused(name: str, value: str) -> None:
    answer = precheck(body_event("", "GET", **{name: value}), admin_writes=False)
    assert answer is not None
    assert answer["statusCode"] == 422
    error = json.loads(answer["body"])["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"][0]["loc"] == ["query", name]


def test_ordinary_query_strings_pass_the_precheck() -> None:
    assert precheck(body_event("", "GET", q="war and peace", category="Sci-Fi & Fantasy"), admin_writes=False) is None


def test_the_committed_document_states_the_limits() -> None:
    # Given openapi.json (what clients and the fuzzer read; `cloudshelf openapi --check` keeps it current)
    document = json.loads((Path(__file__).resolve().parents[2] / "openapi.json").read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    put_item = document["paths"]["/cart/items/{bookId}"]["put"]
    # Then it says what the server enforces
    assert schemas["QuantityInput"]["properties"]["quantity"]["maximum"] == Settings().max_line_quantity
    assert f"at most {MAX_CART_LINES} different books" in put_item["description"]
    assert leaf(schemas["CheckoutInput"]["properties"]["note"])["maxLength"] == 500
    assert schemas["BookInput"]["properties"]["price"]["pattern"] == properties(BookInput)["price"]["pattern"]
    q = next(p for p in document["paths"]["/books"]["get"]["parameters"] if p["name"] == "q")
    assert not re.search(leaf(q["schema"])["pattern"], "war\x00peace")
