"""Profile rules: created on first use from the token's claims; users edit only their own fields."""

from __future__ import annotations

from cloudshelf.domain.caller import Caller
from cloudshelf.domain.ports import UserRepository
from cloudshelf.models.common import utcnow, without_control_characters
from cloudshelf.models.users import ProfileUpdate, UserProfile


def get_profile(caller: Caller, repo: UserRepository) -> UserProfile:
    """The caller's profile, created from the token claims the first time."""
    profile = repo.get(caller.user_id)
    if profile is not None:
        return profile
    now = utcnow()
    # Claims are the identity provider's text, not ours: nothing a store can't hold (a NUL) gets in.
    name, email = without_control_characters(caller.name).strip(), without_control_characters(caller.email)
    display = name or (email.split("@", 1)[0] if email else "") or "Reader"
    fresh = UserProfile(userId=caller.user_id, email=email, displayName=display[:80], createdAt=now, updatedAt=now)
    return repo.create(fresh)


def update_profile(caller: Caller, update: ProfileUpdate, repo: UserRepository) -> UserProfile:
    """Replace the fields a user owns (display name, address). Email and id stay as the token says."""
    current = get_profile(caller, repo)
    profile = current.model_copy(
        update={"displayName": update.displayName, "address": update.address, "updatedAt": utcnow()}
    )
    repo.update(profile)
    return profile
