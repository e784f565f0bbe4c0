"""UsersFunction: the caller's own profile."""

from __future__ import annotations

from cloudshelf.api.auth import CurrentCaller
from cloudshelf.api.deps import Users
from cloudshelf.api.resolver import create_app, lambda_entry, new_router
from cloudshelf.api.responses import SIGNED_IN, errors, ok
from cloudshelf.domain import users
from cloudshelf.models.users import ProfileUpdate, UserProfile

router = new_router()


@router.get(
    "/users/me",
    tags=["Profile"],
    summary="The caller's profile (created on first use)",
    responses={**ok(), **SIGNED_IN},
)
def get_me(caller: CurrentCaller, repo: Users) -> UserProfile:
    return users.get_profile(caller, repo)


@router.put(
    "/users/me",
    tags=["Profile"],
    summary="Change the caller's profile",
    responses={**ok(), **SIGNED_IN, **errors(413, 415)},
)
def put_me(body: ProfileUpdate, caller: CurrentCaller, repo: Users) -> UserProfile:
    return users.update_profile(caller, body, repo)


app = create_app(router)
lambda_handler = lambda_entry(app)
