"""Books and categories."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator

from cloudshelf.models.common import ApiModel, Timestamp
from cloudshelf.money import Money

BOOK_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CATEGORY_PATTERN = r"^[\w][\w &'-]{0,47}$"
MAX_STOCK = 1_000_000


def normalize_isbn(value: str) -> str:
    """Validate an ISBN-10 or ISBN-13 (hyphens and spaces allowed) and return its bare digits."""
    digits = re.sub(r"[\s-]", "", value).upper()
    if re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        if total % 11 == 0:
            return digits
    elif re.fullmatch(r"97[89]\d{10}", digits):
        total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(digits))
        if total % 10 == 0:
            return digits
    raise ValueError("isbn must be a valid ISBN-10 or ISBN-13 (check digit included)")


def check_image_url(value: str) -> str:
    """Covers are served by us (a path) or from an https URL; nothing else."""
    if value and not (value.startswith("https://") or re.fullmatch(r"/(?!/)[\w./-]{1,200}", value)):
        raise ValueError("imageUrl must be an https URL or a path starting with /")
    return value


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, pattern=CATEGORY_PATTERN)]


class BookInput(ApiModel):
    """What an admin sends to create or replace a book. Server-owned fields are refused."""

    title: Title
    author: Title
    category: Category
    price: Money = Field(description="Decimal string with two places, greater than zero")
    stock: int = Field(ge=0, le=MAX_STOCK)
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    isbn: Annotated[str, AfterValidator(normalize_isbn)]
    imageUrl: Annotated[str, StringConstraints(max_length=500), AfterValidator(check_image_url)] = ""

    @field_validator("price")
    @classmethod
    def _price_positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("price must be greater than zero")
        return value


class Book(BaseModel):
    """A book in the catalog."""

    bookId: str
    title: str
    author: str
    category: str
    price: Money
    stock: int
    description: str = ""
    isbn: str
    imageUrl: str = ""
    createdAt: Timestamp
    updatedAt: Timestamp
    version: int = Field(default=1, exclude=True)


class CategoryCount(BaseModel):
    """A category and how many books it holds."""

    name: str
    count: int


class CategoryList(BaseModel):
    """GET /categories."""

    items: list[CategoryCount]


class BookPage(BaseModel):
    """One page of books."""

    items: list[Book]
    nextCursor: str | None = None
