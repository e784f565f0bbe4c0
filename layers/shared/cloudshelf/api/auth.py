"""The caller's identity, from the claims that API Gateway's Cognito authorizer verified."""

from __future__ import annotations

import re
from typing import Annotated

from aws_lambda_powertools.event_handler import Request
from aws_lambda_powertools.event_handler.depends import Depends

from cloudshelf.domain.caller import Caller
from cloudshelf.errors import Forbidden, Unauthorized
from cloudshelf.models.common import without_control_characters


def parse_groups(raw: object) -> frozenset[str]:
    """``cognito:groups`` as API Gateway passes it: a list, "a,b" or "[a b]"."""
    if isinstance(raw, list):
        return frozenset(str(g) for g in raw)
    if not raw:
        return frozenset()
    return frozenset(g for g in re.split(r"[\s,]+", str(raw).strip("[]")) if g)


def current_caller(request: Request) -> Caller:
    """The signed-in caller. Unauthorized when the request carries no verified identity."""
    context = request.resolved_event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or without_control_characters(sub) != sub:
        raise Unauthorized("sign in first")
    return Caller(
        user_id=sub,
        email=str(claims.get("email", "")),
        name=str(claims.get("name", "")),
        groups=parse_groups(claims.get("cognito:groups")),
    )


def admin_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """The caller, who must be in the ``admin`` group."""
    if not caller.is_admin:
        raise Forbidden("only admins may change the catalog")
    return caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]
AdminCaller = Annotated[Caller, Depends(admin_caller)]
