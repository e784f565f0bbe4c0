"""Building API Gateway REST (v1) proxy events, the shape API Gateway hands to Lambda."""

from __future__ import annotations

import base64
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote


def match_route(resource: str, path: str) -> dict[str, str] | None:
    """Path parameters if ``path`` matches the template ``resource`` (``/books/{bookId}``), else None."""
    pattern = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(resource)) + "/?$"
    found = re.match(pattern, path)
    if not found:
        return None
    return {k: unquote(v) for k, v in found.groupdict().items()}


def proxy_event(
    method: str,
    resource: str,
    path: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    headers: dict[str, list[str]] | None = None,
    body: bytes | str | None = None,
    claims: dict[str, Any] | None = None,
    stage: str = "local",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """A REST proxy event. ``claims`` are what the Cognito authorizer would pass on (or None)."""
    headers = headers or {}
    query = query or {}
    is_base64 = False
    text: str | None
    if body is None or body in {b"", ""}:
        text = None
    elif isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
    else:
        text = body
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "resourceId": "local",
        "stage": stage,
        "requestId": str(uuid.uuid4()),
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(time.time() * 1000),
        "identity": {
            "sourceIp": source_ip,
            "userAgent": (headers.get("User-Agent") or headers.get("user-agent") or [""])[-1],
            "accountId": None,
            "caller": None,
            "user": None,
            "userArn": None,
            "accessKey": None,
            "cognitoIdentityPoolId": None,
            "cognitoIdentityId": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
        },
        "path": f"/{stage}{path}",
        "resourcePath": resource,
        "httpMethod": method,
        "apiId": "local",
        "protocol": "HTTP/1.1",
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in headers.items()} or None,
        "multiValueHeaders": headers or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": is_base64,
    }


def claims_for(sub: str, email: str, groups: list[str] | None = None, name: str = "") -> dict[str, str]:
    """Claims as the REST Cognito authorizer passes them: all strings, groups comma-joined."""
    claims = {
        "sub": sub,
        "email": email,
        "email_verified": "true",
        "token_use": "id",  # nosec B105 - not a password: the token_use claim value
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_local",
        "cognito:username": sub,
    }
    if name:
        claims["name"] = name
    if groups:
        claims["cognito:groups"] = ",".join(groups)
    return claims
