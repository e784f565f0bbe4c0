"""User profiles."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from cloudshelf.models.common import ApiModel, Timestamp, line

Line = Annotated[str, line(120)]


class Address(ApiModel):
    """A shipping address."""

    line1: Annotated[str, line(120, min_length=1)]
    line2: Line = ""
    city: Annotated[str, line(80, min_length=1)]
    postalCode: Annotated[str, line(20, min_length=1)]
    country: Annotated[str, StringConstraints(max_length=2, pattern=r"^[A-Z]{2}$")]


class ProfileUpdate(ApiModel):
    """PUT /users/me: only what the user owns. Role, id and email are not settable."""

    displayName: Annotated[str, line(80, min_length=1)]
    address: Address | None = None


class UserProfile(BaseModel):
    """A user's profile."""

    userId: str
    email: str
    displayName: str
    address: Address | None = None
    createdAt: Timestamp
    updatedAt: Timestamp
