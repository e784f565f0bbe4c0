"""The local stack's parts on their own: worker protocol, gateway failure mapping, CLI commands."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from cloudshelf_dev import cli
from cloudshelf_dev.auth import CognitoAuthorizer, rest_claims, token_from_header
from cloudshelf_dev.events import proxy_event
from cloudshelf_dev.gateway import Gateway, cors_headers
from cloudshelf_dev.lambda_env import condition, decide_ifs, sam_env_vars
from cloudshelf_dev.runtime import Invocation, InvocationError, Throttled
from cloudshelf_dev.template import functions
from cloudshelf_dev.worker import serve

CONTEXT = {
    "function_name": "f",
    "function_version": "$LATEST",
    "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
    "memory_limit_in_mb": 512,
    "aws_request_id": "r-1",
    "log_group_name": "g",
    "log_stream_name": "s",
    "deadline_ms": 0,
}


def test_worker_answers_each_invocation_and_reports_crashes() -> None:
    # Given a worker of BooksFunction fed two invocations: an unknown route, and an event that is not an event
    lines = [json.dumps({"event": proxy_event("GET", "/nothing", "/nothing"), "context": CONTEXT}), ""]
    lines.append(json.dumps({"event": "not an event", "context": CONTEXT}))
    replies = io.StringIO()
    # When it serves them
    serve("BooksFunction", io.StringIO("\n".join(lines) + "\n"), replies)
    # Then it announced readiness, answered the first with the handler's 404 and reported the crash
    ready, first, second = (json.loads(line) for line in replies.getvalue().splitlines())
    assert ready["ready"] is True
    assert first["response"]["statusCode"] == 404
    assert "error" in second
    assert second["ms"] >= 0


class StubPool:
    """Stands in for a FunctionPool: answers or fails as told."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def invoke(self, event: dict[str, Any], request_id: str) -> Invocation:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return Invocation(self.outcome, 1.0, None)


def gateway_with(outcome: Any) -> Gateway:
    authorizer = CognitoAuthorizer("http://127.0.0.1:9/jwks.json", "issuer", ["client"])
    pools: dict[str, Any] = {"BooksFunction": StubPool(outcome)}
    return Gateway(functions(), pools, authorizer, allowed_origin="http://127.0.0.1:3000", max_body_bytes=1024)


@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [
        (InvocationError("crashed"), 502, "INTEGRATION_FAILURE"),
        (Throttled("busy"), 429, "THROTTLED"),
        ({"body": "no status code"}, 502, "INTEGRATION_FAILURE"),
        ({"statusCode": 200, "body": "%%%", "isBase64Encoded": True}, 502, "INTEGRATION_FAILURE"),
    ],
)
def test_gateway_maps_function_failures(outcome: Any, status: int, code: str) -> None:
    # Given a function that fails in one way
    gateway = gateway_with(outcome)
    # When a public route of it is called
    response = gateway.call("GET", "/books")
    # Then the gateway answers in the error shape with an honest status
    assert response.status_code == status
    assert json.loads(response.get_data())["error"]["code"] == code


def test_gateway_converts_proxy_responses() -> None:
    # Given a function answering with single and multi-value headers and a base64 body
    answer = {
        "statusCode": 201,
        "headers": {"X-One": "1", "X-Both": "single"},
        "multiValueHeaders": {"X-Both": ["multi-a", "multi-b"], "Set-Cookie": ["a=1", "b=2"]},
        "body": "aGVsbG8=",
        "isBase64Encoded": True,
    }
    # When it is called through the gateway
    response = gateway_with(answer).call("GET", "/books")
    # Then headers merge as API Gateway merges them (multi-value wins) and the body is decoded
    assert response.status_code == 201
    assert response.get_data() == b"hello"
    assert response.headers["X-One"] == "1"
    assert response.headers.getlist("X-Both") == ["multi-a", "multi-b"]
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["Content-Type"] == "application/json"


def test_gateway_refuses_oversized_bodies_before_the_function() -> None:
    # Given a gateway with a 1 KB limit whose function would crash if called
    gateway = gateway_with(InvocationError("must not be called"))
    # When a public route gets 2 KB
    environ_headers = {"Content-Type": "application/json"}
    response = gateway.handle(_request("GET", "/books", b"x" * 2048, environ_headers))
    # Then 413
    assert response.status_code == 413


def _request(method: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    return Request(EnvironBuilder(path=path, method=method, data=body, headers=list(headers.items())).get_environ())


def test_cors_comes_from_the_template() -> None:
    # Given the template's Cors settings
    # When they are resolved for an origin
    headers = cors_headers("http://127.0.0.1:4000")
    # Then the origin is substituted and the quotes are gone
    assert headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:4000"
    assert headers["Access-Control-Allow-Headers"] == "Content-Type,Authorization,Idempotency-Key,If-Match"


def test_claims_are_strings_as_the_rest_authorizer_passes_them() -> None:
    # Given decoded token claims
    claims = {"sub": "u", "cognito:groups": ["admin", "staff"], "email_verified": True, "exp": 0, "n": 5}
    # When they are shaped for the REST proxy event
    shaped = rest_claims(claims)
    # Then every value is a string, groups comma-joined, times as dates
    assert shaped == {
        "sub": "u",
        "cognito:groups": "admin,staff",
        "email_verified": "true",
        "exp": "Thu Jan 01 00:00:00 UTC 1970",
        "n": "5",
    }
    assert token_from_header("Bearer abc") == token_from_header("abc") == "abc"


def test_template_conditions_pick_the_phase_1_values() -> None:
    # Given the template's IsPhase2 condition and a phase-2-only variable
    env = {"CLOUDSHELF_DB_HOST": {"Fn::If": ["IsPhase2", {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}, ""]}}
    # When they are decided for phase 1 and phase 2
    # Then phase 1 gets the empty value and the condition follows the parameter
    assert decide_ifs(env, {"DataPhase": "1"}) == {"CLOUDSHELF_DB_HOST": ""}
    assert condition("IsPhase2", {"DataPhase": "2"}) is True


def test_cli_openapi_check(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the committed openapi.json / When the CLI checks it / Then it is current
    assert cli.main(["openapi", "--check"]) == 0
    assert "is current" in capsys.readouterr().out


def test_cli_refuses_an_unknown_phase() -> None:
    # Given a phase that does not exist / When dev is asked for it / Then argparse refuses it (exit 2)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["dev", "--phase", "3"])
    assert stopped.value.code == 2


def test_cli_sam_env_writes_the_function_environment(tmp_path: Path) -> None:
    # Given a moto port for sam local
    output = tmp_path / "env.json"
    # When the env-vars file is written
    assert cli.main(["sam-env", "--moto-port", "5999", "--output", str(output)]) == 0
    # Then every template function has its variables, pointed at that moto server
    document = json.loads(output.read_text())
    assert set(document) == {s.logical_id for s in functions()}
    assert document == json.loads(json.dumps(sam_env_vars("http://127.0.0.1:5999")))
    assert all(v["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:5999" for v in document.values())


def test_cli_seed_without_a_stack_or_table_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no books table and no local stack on the port
    monkeypatch.delenv("CLOUDSHELF_BOOKS_TABLE", raising=False)
    # When seed runs
    # Then it exits 2 instead of guessing
    assert cli.main(["seed", "--stack", "http://127.0.0.1:9"]) == 2
