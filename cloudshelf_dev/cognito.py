"""The local Cognito user pool, in moto, made from template.yaml's own definitions.

The pool (email usernames, the template's password policy and schema), its app client
(USER_PASSWORD_AUTH, no secret) and its groups (``admin``) are created from the
``AWS::Cognito::*`` resources of the template. Helpers create the demo admin and sign
users up, confirm and sign them in (tests, seed).

Region: moto answers the *unsigned* Cognito calls a browser makes (SignUp,
InitiateAuth, ...) from its us-east-1 backend, so the local pool lives in us-east-1.
Usernames are e-mail addresses, lower-cased here (the template's pool is case
insensitive; moto's is not).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config

from cloudshelf_dev.template import resources

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_cognito_idp.type_defs import AttributeTypeTypeDef

REGION = "us-east-1"
DEFAULT_ADMIN_EMAIL = "admin@cloudshelf.local"
DEFAULT_ADMIN_PASSWORD = "Shelf-Admin-2025"  # noqa: S105 # nosec B105 - not a password: the documented local demo admin password (printed at start; local pool only)
ADMIN_GROUP = "admin"

_POOL_PROPERTIES = (
    "UsernameAttributes",
    "AutoVerifiedAttributes",
    "UsernameConfiguration",
    "MfaConfiguration",
    "Policies",
    "AccountRecoverySetting",
    "AdminCreateUserConfig",
    "Schema",
)
_CLIENT_PROPERTIES = (
    "GenerateSecret",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "SupportedIdentityProviders",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
)


@dataclass(frozen=True)
class UserPool:
    """A user pool on a Cognito endpoint (moto), with its storefront app client."""

    endpoint: str
    region: str
    pool_id: str
    client_id: str

    @property
    def issuer(self) -> str:
        """The ``iss`` of the pool's tokens (what real Cognito uses, whatever the endpoint)."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    @property
    def jwks_url(self) -> str:
        """Where this endpoint serves the pool's signing keys."""
        return f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"

    def client(self) -> CognitoIdentityProviderClient:
        """An admin (signed, dummy credentials) client of the endpoint."""
        return idp_client(self.endpoint, self.region)


@dataclass(frozen=True)
class Tokens:
    """What a successful sign-in returns."""

    id_token: str
    access_token: str
    refresh_token: str


def admin_credentials() -> tuple[str, str]:
    """The demo admin's e-mail and password: CLOUDSHELF_DEV_ADMIN_EMAIL / _PASSWORD or the defaults."""
    email = os.environ.get("CLOUDSHELF_DEV_ADMIN_EMAIL") or DEFAULT_ADMIN_EMAIL
    password = os.environ.get("CLOUDSHELF_DEV_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD
    return email.strip().lower(), password


def idp_client(endpoint: str, region: str = REGION, *, signed: bool = True) -> CognitoIdentityProviderClient:
    """A cognito-idp client of ``endpoint`` (dummy credentials), or of AWS itself when ``endpoint`` is empty
    (the usual credential chain). Unsigned clients make the calls a browser makes."""
    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3, read_timeout=10)
    if not signed:
        config = config.merge(Config(signature_version=UNSIGNED))
    if not endpoint:
        return boto3.client("cognito-idp", region_name=region, config=config)
    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 # nosec B106 - dummy credentials for the local moto server, which accepts any
        config=config,
    )


def _only_one(kind: str) -> dict[str, Any]:
    found = list(resources(kind).values())
    if len(found) != 1:
        raise ValueError(f"template.yaml must define exactly one {kind} (found {len(found)})")
    props: dict[str, Any] = found[0].get("Properties", {})
    return props


def create_user_pool(endpoint: str, region: str = REGION, name: str = "cloudshelf-local-users") -> UserPool:
    """Create the template's user pool, app client and groups on ``endpoint``."""
    client = idp_client(endpoint, region)
    pool_props = _only_one("AWS::Cognito::UserPool")
    pool_args = {k: pool_props[k] for k in _POOL_PROPERTIES if k in pool_props}
    pool_id = client.create_user_pool(PoolName=name, **pool_args)["UserPool"]["Id"]
    client_props = _only_one("AWS::Cognito::UserPoolClient")
    client_args = {k: client_props[k] for k in _CLIENT_PROPERTIES if k in client_props}
    # moto puts only the client's ReadAttributes into ID tokens; real Cognito includes these.
    client_args.setdefault("ReadAttributes", ["email", "email_verified", "name"])
    app = client.create_user_pool_client(UserPoolId=pool_id, ClientName=f"{name}-storefront", **client_args)
    for group in resources("AWS::Cognito::UserPoolGroup").values():
        props = group["Properties"]
        extra = {k: props[k] for k in ("Description", "Precedence") if k in props}
        client.create_group(UserPoolId=pool_id, GroupName=props["GroupName"], **extra)
    return UserPool(endpoint, region, pool_id, app["UserPoolClient"]["ClientId"])


def ensure_user(pool: UserPool, email: str, password: str, *, groups: tuple[str, ...] = (), name: str = "") -> str:
    """Create a confirmed user (or reset an existing one's password) in ``groups``; returns its ``sub``."""
    client = pool.client()
    email = email.strip().lower()
    try:
        user = client.admin_get_user(UserPoolId=pool.pool_id, Username=email)
        attributes = user["UserAttributes"]
    except client.exceptions.UserNotFoundException:
        extra: list[AttributeTypeTypeDef] = [{"Name": "name", "Value": name}] if name else []
        created = client.admin_create_user(
            UserPoolId=pool.pool_id,
            Username=email,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}, *extra],
        )
        attributes = created["User"]["Attributes"]
    client.admin_set_user_password(UserPoolId=pool.pool_id, Username=email, Password=password, Permanent=True)
    for group in groups:
        client.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=email, GroupName=group)
    return next(a["Value"] for a in attributes if a["Name"] == "sub")


def ensure_admin(pool: UserPool, email: str | None = None, password: str | None = None) -> tuple[str, str]:
    """The demo admin (in group ``admin``), from the arguments or :func:`admin_credentials`."""
    default_email, default_password = admin_credentials()
    email, password = (email or default_email).lower(), password or default_password
    ensure_user(pool, email, password, groups=(ADMIN_GROUP,), name="CloudShelf Admin")
    return email, password


def sign_up(endpoint: str, client_id: str, email: str, password: str, name: str = "") -> dict[str, Any]:
    """SignUp as the storefront does it (unsigned); returns Cognito's answer (UserSub, UserConfirmed, ...)."""
    attributes: list[AttributeTypeTypeDef] = [{"Name": "name", "Value": name}] if name else []
    response = idp_client(endpoint, signed=False).sign_up(
        ClientId=client_id, Username=email.strip().lower(), Password=password, UserAttributes=attributes
    )
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def confirm_sign_up(endpoint: str, client_id: str, email: str, code: str) -> None:
    """ConfirmSignUp with the code that was e-mailed (locally: the stack's mailbox)."""
    idp_client(endpoint, signed=False).confirm_sign_up(
        ClientId=client_id, Username=email.strip().lower(), ConfirmationCode=code
    )


def sign_in(endpoint: str, client_id: str, email: str, password: str) -> Tokens:
    """USER_PASSWORD_AUTH sign-in; returns the tokens."""
    result = idp_client(endpoint, signed=False).initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email.strip().lower(), "PASSWORD": password},
    )["AuthenticationResult"]
    return Tokens(result["IdToken"], result["AccessToken"], result.get("RefreshToken", ""))


def register_user(pool: UserPool, email: str, password: str, name: str = "") -> Tokens:
    """Sign a new user up, confirm them (as an admin would) and sign them in (tests)."""
    sign_up(pool.endpoint, pool.client_id, email, password, name)
    pool.client().admin_confirm_sign_up(UserPoolId=pool.pool_id, Username=email.strip().lower())
    return sign_in(pool.endpoint, pool.client_id, email, password)
