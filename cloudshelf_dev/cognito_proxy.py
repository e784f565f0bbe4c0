"""The storefront's Cognito endpoint on the local stack: a same-origin proxy to moto's cognito-idp.

The browser posts Cognito's JSON API (``X-Amz-Target: AWSCognitoIdentityProviderService.*``)
to ``/cognito/``, which forwards it to moto, so no CORS is needed. Two things moto
doesn't do are done here:

- **Confirmation codes.** moto confirms a sign-up whatever code it is given and e-mails
  nothing. Here SignUp "e-mails" a 6-digit code into the local mailbox (printed on the
  console, listed at ``/_dev/mailbox``), ConfirmSignUp accepts only that code, and
  ResendConfirmationCode sends a new one: the same flow as the real pool, which
  e-mails the code. With ``auto_confirm`` SignUp confirms the user at once instead
  (``UserConfirmed: true``, as a pre-sign-up trigger would).
- **Case-insensitive usernames**, as the template's pool has them: e-mails are lower-cased.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from cloudshelf_dev.cognito import UserPool

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
Reply = tuple[int, dict[str, str], bytes]


class Mailbox:
    """The e-mails the local pool would have sent (newest last), and the codes they carry."""

    def __init__(self, size: int = 200) -> None:
        self._messages: deque[dict[str, str]] = deque(maxlen=size)
        self._codes: dict[str, str] = {}
        self._lock = threading.Lock()

    def send_code(self, email: str) -> str:
        """A new confirmation code for ``email`` (replacing any earlier one)."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        with self._lock:
            self._codes[email] = code
            self._messages.append(
                {
                    "to": email,
                    "subject": "Your CloudShelf verification code",
                    "code": code,
                    "sentAt": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
        return code

    def take_code(self, email: str, code: str) -> bool:
        """Whether ``code`` is the one sent to ``email`` (it is used up if so)."""
        with self._lock:
            if self._codes.get(email) != code.strip():
                return False
            del self._codes[email]
            return True

    def messages(self, to: str | None = None) -> list[dict[str, str]]:
        """Messages, newest first, optionally only those to one address."""
        with self._lock:
            found = [m for m in self._messages if to is None or m["to"] == to.strip().lower()]
        return found[::-1]

    def latest_code(self, email: str) -> str | None:
        """The last code sent to ``email`` (tests)."""
        found = self.messages(email)
        return found[0]["code"] if found else None


def _error(kind: str, message: str, status: int = 400) -> Reply:
    body = json.dumps({"__type": kind, "message": message}).encode()
    return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": kind}, body


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _parse(target: str, body: bytes) -> dict[str, Any] | Reply:
    """The request as a JSON object with lower-cased usernames, or an error reply."""
    if not target.startswith(TARGET_PREFIX):
        return _error("UnknownOperationException", "only the Cognito user pool API is served here")
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return _error("SerializationException", "the request body is not JSON")
    if not isinstance(payload, dict):
        return _error("SerializationException", "the request body must be a JSON object")
    _lower_usernames(payload)
    return payload


def _lower_usernames(payload: dict[str, Any]) -> None:
    if isinstance(payload.get("Username"), str):
        payload["Username"] = payload["Username"].strip().lower()
    params = payload.get("AuthParameters")
    if isinstance(params, dict) and isinstance(params.get("USERNAME"), str):
        params["USERNAME"] = params["USERNAME"].strip().lower()


class CognitoProxy:
    """Forwards Cognito calls to moto, adding e-mailed confirmation codes (or auto-confirmation)."""

    def __init__(self, pool: UserPool, *, auto_confirm: bool = False, announce: Callable[[str], None] | None = None):
        self.pool = pool
        self.auto_confirm = auto_confirm
        self.mailbox = Mailbox()
        self._announce = announce or (lambda _: None)

    def handle(self, target: str, body: bytes) -> Reply:
        """Serve one call: ``target`` is the X-Amz-Target header, ``body`` the JSON request."""
        parsed = _parse(target, body)
        if not isinstance(parsed, dict):
            return parsed
        action = target.removeprefix(TARGET_PREFIX)
        username = str(parsed.get("Username", ""))
        if action == "ConfirmSignUp" and not self.mailbox.take_code(username, str(parsed.get("ConfirmationCode", ""))):
            return _error("CodeMismatchException", "Invalid verification code provided, please try again.")
        if action == "ResendConfirmationCode":
            return self._resend(username)
        status, headers, answer = self._forward(target, parsed)
        if action == "SignUp" and status == 200:
            return status, headers, self._signed_up(username, json.loads(answer))
        return status, headers, answer

    def _forward(self, target: str, payload: dict[str, Any]) -> Reply:
        response = requests.post(
            f"{self.pool.endpoint}/",
            data=json.dumps(payload),
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
            timeout=10,
        )
        keep = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "x-amzn-errortype")}
        return response.status_code, keep, response.content

    def _signed_up(self, email: str, answer: dict[str, Any]) -> bytes:
        if self.auto_confirm:
            self.pool.client().admin_confirm_sign_up(UserPoolId=self.pool.pool_id, Username=email)
            answer["UserConfirmed"] = True
            answer.pop("CodeDeliveryDetails", None)
            self._announce(f"signed up and auto-confirmed {email}")
        else:
            answer["CodeDeliveryDetails"] = self._send(email)
        return json.dumps(answer).encode()

    def _send(self, email: str) -> dict[str, str]:
        code = self.mailbox.send_code(email)
        self._announce(f"confirmation code for {email}: {code}  (also listed at /_dev/mailbox)")
        return {"Destination": _mask(email), "DeliveryMedium": "EMAIL", "AttributeName": "email"}

    def _resend(self, email: str) -> Reply:
        client = self.pool.client()
        try:
            user = client.admin_get_user(UserPoolId=self.pool.pool_id, Username=email)
        except client.exceptions.UserNotFoundException:
            return _error("UserNotFoundException", "Username/client id combination not found.")
        if user["UserStatus"] != "UNCONFIRMED":
            return _error("InvalidParameterException", "User is already confirmed.")
        body = json.dumps({"CodeDeliveryDetails": self._send(email)}).encode()
        return 200, {"Content-Type": "application/x-amz-json-1.1"}, body
