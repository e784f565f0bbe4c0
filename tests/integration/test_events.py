"""events/: one real-format REST proxy event per template route, each accepted by its handler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from cloudshelf_dev.template import functions
from tests.integration.conftest import EVENTS, Invoke

ROUTES = {(r.method, r.path): r for spec in functions() for r in spec.routes}


def _events() -> list[Path]:
    return sorted(EVENTS.glob("*.json"))


def test_one_event_per_route() -> None:
    # Given the event files and the template / Then they cover the same routes, one each
    seen = {(e["httpMethod"], e["resource"]) for e in (json.loads(p.read_text()) for p in _events())}
    assert seen == set(ROUTES)
    assert len(_events()) == len(ROUTES)


@pytest.mark.parametrize("path", _events(), ids=lambda p: p.stem)
def test_events_have_the_api_gateway_shape(path: Path) -> None:
    # Given an event file / When read as Powertools reads API Gateway events
    raw = json.loads(path.read_text())
    event = APIGatewayProxyEvent(raw)
    route = ROUTES[(event.http_method, event.resource)]
    # Then it is a REST v1 proxy event with claims exactly where the route needs them
    assert event.request_context.request_id
    assert event.request_context.stage == "prod"
    assert raw["multiValueHeaders"]["Host"] == [event.headers["Host"]]
    has_claims = "authorizer" in raw["requestContext"]
    assert has_claims is not route.public


@pytest.mark.parametrize("path", _events(), ids=lambda p: p.stem)
def test_each_event_reaches_its_route(path: Path, invoke: Invoke) -> None:
    # Given an empty store / When each event is invoked as is
    name = "".join(part.title() for part in path.stem.split("_"))
    reply = invoke(name)
    # Then the route answered (success or a domain answer), never a 5xx or "no such route"
    assert reply.status < 500, reply.body
    if reply.body and "error" in reply.body:
        assert reply.body["error"]["message"] != "no such route"
