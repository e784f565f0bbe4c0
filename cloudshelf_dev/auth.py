"""Verifying Cognito ID tokens the way API Gateway's REST Cognito authorizer does.

Only RS256 tokens signed by a key of the pool's JWKS pass; the issuer must be the
pool's (``https://cognito-idp.<region>.amazonaws.com/<poolId>``, kept apart from the
JWKS URL, since moto serves the keys on loopback), the audience one of the pool's app
clients, ``token_use`` must be ``id`` (a REST method without OAuth scopes takes only ID
tokens), and ``exp``/``iat`` must hold. The claims come out as the REST authorizer
passes them to Lambda: every value a string, ``cognito:groups`` comma-joined.

An unreachable JWKS is never a pass: it raises :class:`JwksUnavailable` (HTTP 503).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import jwt
import requests

ALGORITHM = "RS256"
TIME_CLAIMS = ("exp", "iat", "auth_time", "nbf")


class AuthError(Exception):
    """The request carries no token or a bad one (HTTP 401)."""


class JwksUnavailable(Exception):
    """The pool's keys cannot be fetched (HTTP 503): no token can be checked."""


def token_from_header(value: str | None) -> str:
    """The token of an ``Authorization`` header: ``Bearer <jwt>`` or the raw JWT."""
    raw = (value or "").strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    if not raw:
        raise AuthError("Unauthorized")
    return raw


def rest_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims in the REST authorizer's form: strings only, lists comma-joined, times as dates."""
    out: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif name in TIME_CLAIMS and isinstance(value, int):
            out[name] = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
        elif isinstance(value, list):
            out[name] = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            out[name] = json.dumps(value, separators=(",", ":"))
        else:
            out[name] = str(value)
    return out


class CognitoAuthorizer:
    """Checks ID tokens of one user pool against its JWKS (fetched once, then cached).

    ``jwks_url``: where the keys are served; ``issuer``: the ``iss`` the tokens must carry;
    ``client_ids``: the app clients whose ID tokens are accepted (``aud``).
    """

    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        client_ids: Iterable[str],
        *,
        timeout: float = 3.0,
        refetch_after: float = 30.0,
        fetch: Callable[[str, float], dict[str, Any]] | None = None,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.client_ids = tuple(client_ids)
        self._timeout = timeout
        self._refetch_after = refetch_after
        self._fetch = fetch or _http_json
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")

    def claims_for_header(self, authorization: str | None) -> dict[str, str]:
        """Verified claims (REST form) of the token in an ``Authorization`` header."""
        return rest_claims(self.verify(token_from_header(authorization)))

    def verify(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``. Raises AuthError or JwksUnavailable."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError("Unauthorized") from exc
        if header.get("alg") != ALGORITHM:
            raise AuthError("Unauthorized")
        key = self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=list(self.client_ids),
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("The incoming token has expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("Unauthorized") from exc
        if claims.get("token_use") != "id":
            raise AuthError("Unauthorized")
        if not isinstance(claims.get("sub"), str) or not claims["sub"].strip():
            raise AuthError("Unauthorized")  # "require" only checks presence: an empty subject is nobody
        return claims

    def _key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= self._refetch_after:
                self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise AuthError("Unauthorized")
        return key

    def _refresh(self) -> None:
        try:
            document = self._fetch(self.jwks_url, self._timeout)
            keyset = jwt.PyJWKSet.from_dict(document)
        except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
            raise JwksUnavailable(f"cannot fetch the user pool's keys from {self.jwks_url}") from exc
        self._keys = {k.key_id: k for k in keyset.keys if k.key_id and k.algorithm_name == ALGORITHM}
        self._fetched_at = time.monotonic()


def _http_json(url: str, timeout: float) -> dict[str, Any]:
    response = requests.get(url, timeout=timeout)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document
