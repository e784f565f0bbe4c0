"""API fuzzing with schemathesis against the generated OpenAPI document, on the local stack, both phases.

Every operation of ``openapi.json`` (the committed document, which the stack serves) is
fuzzed with real tokens: the demo admin's for the Admin operations, a shopper's for the
other protected ones. Schemathesis runs its examples, coverage (boundary values, wrong
types, undeclared media types and methods, missing headers) and fuzzing phases, bounded
by ``max_examples`` per operation and a per-case deadline, and checks every answer: no
5xx, the status code and body documented for the operation, the documented content
type, schema-invalid input rejected with a 4xx, undeclared methods answered 405 with
``Allow``, protected operations refusing requests without (or with a broken) token.

``positive_data_acceptance`` too: the document states the limits the server enforces (string
lengths and patterns, quantity 1..20, the price range, no control characters), so schema-valid
input is accepted, or refused only for the reasons below, which the document names and no
schema can state. Besides a 2xx, the check takes 401/403/404/409/429 (schemathesis' default:
an unknown book is a 404, an empty cart a 409) and, for the operations in ``ALSO_REFUSED``,
the statuses listed there.

``CLOUDSHELF_FUZZ_EXAMPLES`` and ``CLOUDSHELF_FUZZ_SEED`` run it longer or differently.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from security_support import User

from cloudshelf_dev.server import Stack
from cloudshelf_dev.template import ROOT, functions

MAX_EXAMPLES = int(os.environ.get("CLOUDSHELF_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("CLOUDSHELF_FUZZ_SEED", "20261122"))
DOCUMENT: dict[str, Any] = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
ACCEPTED = ["2xx", "401", "403", "404", "409", "429"]
ALSO_REFUSED: dict[tuple[str, str], list[str]] = {
    # a cursor that isn't one the server issued (random base64): 400
    ("GET", "/books"): ["400"],
    ("GET", "/orders"): ["400"],
    # an ISBN's check digit (422); a replace naming no version (428) or a stale If-Match (412)
    ("POST", "/books"): ["422"],
    ("PUT", "/books/{bookId}"): ["412", "422", "428"],
    # a stale If-Match (412); 422: schemathesis' coverage phase writes headers of letters and digits
    # only, and for one that needs a quote (an ETag, `"3"`) it sends "0" as its "valid" value
    ("DELETE", "/books/{bookId}"): ["412", "422"],
}
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "request-timeout": 15,
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        # Stateful runs need links between operations; the matrix and flow tests cover sequences.
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {
                "include-name": f"{method} {path}",
                "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED + extra}},
            }
            for (method, path), extra in ALSO_REFUSED.items()
        ],
    }
)
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
OPERATIONS = [(method, path) for path, ops in DOCUMENT["paths"].items() for method in ops]
CAN_CONFLICT = {
    ("post", "/books"),
    ("put", "/books/{bookId}"),
    ("delete", "/books/{bookId}"),
    ("put", "/cart/items/{bookId}"),
    ("delete", "/cart/items/{bookId}"),
    ("post", "/orders"),
}


@SCHEMA.auth(refresh_interval=None, retry_on=[])
class StackTokens:
    """The token a real caller of the operation has: the admin's for Admin operations, else a shopper's.

    A schemathesis auth provider (not a plain header), so that the cases which leave the token
    out or break it on purpose (negative testing of the security scheme) go out that way. Some
    cases are drawn at collection, before any stack runs: the provider sets a placeholder
    (``Bearer <admin>``) that the test swaps for the real token of the phase's stack.
    """

    def get(self, case: Any, context: Any) -> str | None:
        operation = DOCUMENT["paths"][case.operation.path][case.operation.method.lower()]
        if not operation.get("security"):
            return None
        return "admin" if "Admin" in operation.get("tags", []) else "shopper"

    def set(self, case: Any, data: str | None, context: Any) -> None:
        if data:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer <{data}>"}


@pytest.fixture(scope="session")
def fuzz_tokens(stack: Stack, admin: User, make_shopper: Any) -> dict[str, str]:
    """The real tokens of this phase's stack for :class:`StackTokens`' placeholders (the fuzzer's own shopper)."""
    shopper: User = make_shopper()
    return {"admin": admin.token, "shopper": shopper.token}


@SCHEMA.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=timedelta(seconds=15),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_fuzz_every_operation(case: Any, stack: Stack, fuzz_tokens: dict[str, str], tally: Counter[str]) -> None:
    # Given a generated request for one operation, with the token its callers would have (StackTokens)
    tally[f"fuzz cases phase{stack.phase}"] += 1
    placeholder = (case.headers or {}).get("Authorization")
    role = next((r for r in fuzz_tokens if placeholder == f"Bearer <{r}>"), None)
    if role is not None:
        case.headers["Authorization"] = f"Bearer {fuzz_tokens[role]}"
    try:
        # When it is sent to the local stack / Then every check holds (no 5xx, documented status and body, ...)
        response = case.call_and_validate(base_url=stack.api_url)
    finally:
        if role is not None:  # cases drawn at collection are reused by the next phase: leave the placeholder
            case.headers["Authorization"] = placeholder
    tally[f"fuzz answers phase{stack.phase} {response.status_code}"] += 1


def test_the_fuzzed_document_is_the_one_the_stack_serves(stack: Stack) -> None:
    # Given the committed document the fuzzer reads / When the stack serves its own
    served = requests.get(f"{stack.url}/openapi.json", timeout=10).json()
    # Then they are the same, with the API under the local server URL
    assert served == DOCUMENT
    assert DOCUMENT["servers"][0]["url"] == "/api"
    assert stack.api_url.endswith("/api")


def test_the_document_has_every_route_of_the_template() -> None:
    declared = {(r.method.lower(), r.path) for spec in functions() for r in spec.routes}
    assert set(OPERATIONS) == declared


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in OPERATIONS])
def test_every_operation_documents_its_answers(method: str, path: str) -> None:
    # Given an operation of the generated document
    operation = DOCUMENT["paths"][path][method]
    documented = set(operation["responses"])
    # Then its success answer is there with a body schema (none for 204) ...
    success = sorted(code for code in documented if code.startswith("2"))
    assert len(success) == 1, (method, path, documented)
    if success[0] != "204":
        assert operation["responses"][success[0]]["content"]["application/json"]["schema"], (method, path)
    # ... and every error it can answer, in the one error shape
    expected = {"400", "422", "429", "503"}
    if operation.get("security"):
        expected.add("401")
    if "Admin" in operation.get("tags", []):
        expected.add("403")
    if re.search(r"\{\w+\}", path):
        expected.add("404")
    if "requestBody" in operation:
        expected |= {"413", "415"}
    if (method, path) in CAN_CONFLICT:
        expected.add("409")
    assert expected <= documented, f"{method.upper()} {path} lacks {sorted(expected - documented)}"
    for code in documented - set(success):
        schema = operation["responses"][code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, code)


@pytest.mark.parametrize("path", sorted(DOCUMENT["paths"]))
def test_undeclared_methods_are_405_with_allow(stack: Stack, path: str) -> None:
    declared = {m.upper() for m in DOCUMENT["paths"][path]}
    concrete = path.format(bookId="pride-and-prejudice", orderId="01ARZ3NDEKTSV4RRFFQ69G5FAV")
    for method in sorted({"GET", "PUT", "POST", "DELETE", "PATCH", "TRACE"} - declared):
        # When a method the path doesn't have is used (with or without a token)
        response = requests.request(method, f"{stack.api_url}{concrete}", timeout=10)
        # Then 405 with Allow naming exactly the declared methods (and the CORS preflight), in the error shape
        assert response.status_code == 405, (method, path, response.text)
        assert set(response.headers["Allow"].split(", ")) == declared | {"OPTIONS"}
        assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
