"""User profiles."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from cloudshelf.models.common import ApiModel, Timestamp

Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]


class Address(ApiModel):
    """A shipping address."""

    line1: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    line2: Line = ""
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    postalCode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class ProfileUpdate(ApiModel):
    """PUT /users/me: only what the user owns. Role, id and email are not settable."""

    displayName: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    address: Address | None = None


class UserProfile(BaseModel):
    """A user's profile."""

    userId: str
    email: str
    displayName: str
    address: Address | None = None
    createdAt: Timestamp
    updatedAt: Timestamp
