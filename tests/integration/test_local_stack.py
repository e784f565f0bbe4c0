"""The local stack itself (`cloudshelf dev`): what it serves must match template.yaml and the repo."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from cloudshelf_dev import cognito
from cloudshelf_dev.cognito_proxy import TARGET_PREFIX, CognitoProxy
from cloudshelf_dev.covers import cover_svg
from cloudshelf_dev.openapi import DOCUMENT
from cloudshelf_dev.server import Stack, start_stack
from cloudshelf_dev.tables import local_table_names
from cloudshelf_dev.template import ROOT, functions, table_definitions

CONFIG_KEYS = {"apiUrl", "region", "userPoolId", "userPoolClientId", "cognitoEndpoint"}
PARAMS = {"bookId": "pride-and-prejudice", "orderId": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(port=0, seed=True, log_dir=tmp_path_factory.mktemp("function-logs"))
    yield running
    running.stop()


def template_routes() -> set[tuple[str, str]]:
    return {(r.method, r.path) for spec in functions() for r in spec.routes}


def test_the_stack_serves_exactly_the_template_routes(stack: Stack) -> None:
    # Given the routes of template.yaml
    expected = template_routes()
    # When each is called over HTTP without a token
    for method, path in sorted(expected):
        response = requests.request(method, stack.api_url + path.format(**PARAMS), json={}, timeout=30)
        # Then it is routed: public routes reach their function, protected ones meet the authorizer
        assert response.status_code not in (404, 405) or response.headers.get("x-amzn-RequestId"), (method, path)
        if not any(r.public for s in functions() for r in s.routes if (r.method, r.path) == (method, path)):
            assert response.status_code == 401, (method, path)
    # And every other method of those paths is 405 with an Allow header of the template's methods
    for path in {p for _, p in expected}:
        response = requests.request("PATCH", stack.api_url + path.format(**PARAMS), timeout=30)
        allowed = {m for m, p in expected if p == path} | {"OPTIONS"}
        assert response.status_code == 405
        assert set(response.headers["Allow"].split(", ")) == allowed


def test_tables_match_the_template_definitions(stack: Stack) -> None:
    # Given the DynamoDB tables of template.yaml
    client = boto3.client("dynamodb", endpoint_url=stack.moto_url, region_name="us-east-1")
    names = local_table_names()
    for logical_id, definition in table_definitions().items():
        # When the local table is described
        table = client.describe_table(TableName=names[logical_id])["Table"]
        ttl = client.describe_time_to_live(TableName=names[logical_id])["TimeToLiveDescription"]
        create = definition["create"]
        # Then its keys, attributes, indexes and TTL are the template's
        assert table["KeySchema"] == create["KeySchema"], logical_id
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(create["AttributeDefinitions"], key=str)
        indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in table.get("GlobalSecondaryIndexes", [])}
        wanted = {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in create.get("GlobalSecondaryIndexes", [])}
        assert indexes == wanted, logical_id
        assert ttl.get("AttributeName") == definition["ttl"], logical_id
        assert (ttl["TimeToLiveStatus"] == "ENABLED") == bool(definition["ttl"]), logical_id


def test_config_json_is_the_storefront_contract(stack: Stack) -> None:
    # Given the running stack
    # When the storefront reads its config
    response = requests.get(f"{stack.url}/config.json", timeout=10)
    # Then it has exactly the five keys, pointing at this stack and its user pool
    assert response.status_code == 200
    config = response.json()
    assert set(config) == CONFIG_KEYS
    assert config["apiUrl"] == stack.api_url
    assert (config["userPoolId"], config["userPoolClientId"]) == (stack.user_pool.pool_id, stack.user_pool.client_id)
    assert config["region"] == "us-east-1"
    # And the Cognito endpoint is same-origin and signs the admin in
    assert config["cognitoEndpoint"].startswith(stack.url + "/")
    email, password = stack.admin
    tokens = cognito.sign_in(config["cognitoEndpoint"], config["userPoolClientId"], email.upper(), password)
    assert tokens.id_token.count(".") == 2


def test_sign_up_needs_the_emailed_code(stack: Stack) -> None:
    # Given a new sign-up through the storefront's Cognito endpoint
    endpoint, client_id = stack.config["cognitoEndpoint"], stack.user_pool.client_id
    email = f"new-{time.time_ns()}@example.com"
    answer = cognito.sign_up(endpoint, client_id, email, "Reader-Pass-1234")
    assert answer["UserConfirmed"] is False
    assert answer["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    # When a wrong code is tried, a new code is requested, and that code is used
    with pytest.raises(ClientError, match="CodeMismatch"):
        cognito.confirm_sign_up(endpoint, client_id, email, "000000x")
    idp = cognito.idp_client(endpoint, signed=False)
    idp.resend_confirmation_code(ClientId=client_id, Username=email)
    sent = stack.proxy.mailbox.messages(email)
    assert len(sent) == 2
    code = sent[0]["code"]
    with pytest.raises(ClientError, match="NotConfirmed"):
        cognito.sign_in(endpoint, client_id, email, "Reader-Pass-1234")
    cognito.confirm_sign_up(endpoint, client_id, email, code)
    # Then the user can sign in, and the mailbox lists the codes sent
    assert cognito.sign_in(endpoint, client_id, email, "Reader-Pass-1234").id_token
    mailbox = requests.get(f"{stack.url}/_dev/mailbox", params={"to": email}, timeout=10).json()
    assert mailbox["messages"][0]["code"] == code


def test_auto_confirm_mode_confirms_at_sign_up(stack: Stack) -> None:
    # Given the Cognito proxy in auto-confirm mode
    proxy = CognitoProxy(stack.user_pool, auto_confirm=True)
    email = f"auto-{time.time_ns()}@example.com"
    body = {"ClientId": stack.user_pool.client_id, "Username": email, "Password": "Reader-Pass-1234"}
    # When a user signs up
    status, _, answer = proxy.handle(TARGET_PREFIX + "SignUp", json.dumps(body).encode())
    # Then they are confirmed at once and can sign in
    assert status == 200
    assert json.loads(answer)["UserConfirmed"] is True
    assert cognito.sign_in(stack.user_pool.endpoint, stack.user_pool.client_id, email, "Reader-Pass-1234").id_token


def test_covers_are_svg(stack: Stack) -> None:
    # Given a seeded book
    book = requests.get(f"{stack.api_url}/books/pride-and-prejudice", timeout=10).json()
    # When its cover is fetched
    response = requests.get(f"{stack.url}{book['imageUrl']}", timeout=10)
    # Then it is the generated SVG, cacheable by ETag
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    assert ET.fromstring(response.content).tag  # noqa: S314 - our own SVG == "{http://www.w3.org/2000/svg}svg"
    assert response.text == cover_svg(book["title"], book["author"], book["category"])
    again = requests.get(
        f"{stack.url}{book['imageUrl']}", headers={"If-None-Match": response.headers["ETag"]}, timeout=10
    )
    assert again.status_code == 304
    # And unknown books have no cover
    assert requests.get(f"{stack.url}/covers/no-such-book.svg", timeout=10).status_code == 404


def test_openapi_json_is_the_committed_document(stack: Stack) -> None:
    # Given the committed openapi.json
    committed = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    # When the stack's document (generated from the route code at start) is fetched
    served = requests.get(f"{stack.url}/openapi.json", timeout=10).json()
    # Then they are the same: the committed one is current
    assert served == committed
    assert {(m.upper(), p) for p, ops in served["paths"].items() for m in ops} == template_routes()


def test_docs_use_only_local_assets(stack: Stack) -> None:
    # Given the Swagger UI page
    html = requests.get(f"{stack.url}/docs", timeout=10).text
    # When its script and stylesheet references are read
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    # Then they are all same-origin paths that the stack serves, and nothing names another host
    assert refs
    assert all(r.startswith("/") and not r.startswith("//") for r in refs)
    assert not re.search(r"https?://", html)
    for ref in refs:
        assert requests.get(stack.url + ref, timeout=10).status_code == 200, ref


def test_storefront_root_is_served(stack: Stack) -> None:
    # Given the stack
    # When the browser opens /
    response = requests.get(stack.url + "/", timeout=10)
    # Then an HTML page comes back (the storefront, or the landing page until it exists)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def children_of(pid: int) -> set[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_cloudshelf_dev_starts_serves_and_stops_cleanly(tmp_path: Path) -> None:
    # Given `cloudshelf dev` started on a free port
    port = free_port()
    command = [sys.executable, "-m", "cloudshelf_dev.cli", "dev", "--port", str(port), "--log-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # When it is polled for up to 60 s
        deadline, books = time.monotonic() + 60, []
        while time.monotonic() < deadline and not books:
            try:
                if requests.get(f"{base}/config.json", timeout=2).status_code == 200:
                    books = requests.get(f"{base}/api/books", timeout=10).json()["items"]
            except (requests.RequestException, ValueError, KeyError):
                time.sleep(0.5)
        # Then config.json and a non-empty catalog are served
        assert books, "the stack did not serve books within 60 s"
        children = children_of(process.pid)
        assert children, "the functions run in worker processes"
        # When it gets SIGINT (Ctrl-C)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
        # Then it exits 0, said it was ready, and left no process behind
        assert process.returncode == 0, output
        assert "CloudShelf is ready at" in output
        time.sleep(0.5)
        assert not [pid for pid in children if running(pid)]
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{base}/config.json", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
