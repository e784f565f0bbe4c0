"""Books and categories."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, WithJsonSchema, field_validator

from cloudshelf.models.common import ApiModel, Timestamp, line, text
from cloudshelf.money import Money

BOOK_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CATEGORY_PATTERN = r"^[\w][\w &'-]{0,47}$"
MAX_STOCK = 1_000_000
MAX_PRICE = Decimal("99999.99")  # x 50 lines x 20 copies still fits in money (MAX_AMOUNT)
PRICE_PATTERN = r"^(0\.(0[1-9]|[1-9][0-9])|[1-9][0-9]{0,4}\.[0-9]{2})$"  # 0.01 .. 99999.99
IMAGE_URL_PATTERN = r"^(https://[^\x00-\x1f]*|/[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,199})?$"
ISBN_PATTERN = r"^[0-9Xx -]*$"
MAX_VERSION = 2_147_483_647  # PostgreSQL integer


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
    if value and not (value.startswith("https://") or re.fullmatch(r"/(?!/)[A-Za-z0-9_./-]{1,200}", value)):
        raise ValueError("imageUrl must be an https URL or a path starting with /")
    return value


Title = Annotated[str, line(200, min_length=1)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, max_length=48, pattern=CATEGORY_PATTERN)]
Price = Annotated[
    Money,
    WithJsonSchema({"type": "string", "pattern": PRICE_PATTERN, "maxLength": 8, "examples": ["12.99"]}),
]
"""A book's price: 0.01 to 99999.99, so that no cart (50 lines of 20 copies) can total more than money holds."""


class BookInput(ApiModel):
    """What an admin sends to create or replace a book. Server-owned fields are refused."""

    title: Title
    author: Title
    category: Category
    price: Price = Field(description=f"Decimal string with two places, from 0.01 to {MAX_PRICE}")
    stock: int = Field(ge=0, le=MAX_STOCK)
    description: Annotated[str, text(5000)] = ""
    isbn: Annotated[
        str,
        StringConstraints(max_length=20, pattern=ISBN_PATTERN),
        AfterValidator(normalize_isbn),
        Field(description="ISBN-10 or ISBN-13 with a valid check digit; hyphens and spaces allowed"),
    ]
    imageUrl: Annotated[
        str, StringConstraints(max_length=500, pattern=IMAGE_URL_PATTERN), AfterValidator(check_image_url)
    ] = ""

    @field_validator("price")
    @classmethod
    def _price_in_range(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("price must be greater than zero")
        if value > MAX_PRICE:
            raise ValueError(f"price may be at most {MAX_PRICE}")
        return value

    def editable(self) -> dict[str, Any]:
        """The fields an admin owns (those of BookInput; never a subclass's extras such as ``version``)."""
        return {name: getattr(self, name) for name in BookInput.model_fields}


class BookReplaceInput(BookInput):
    """PUT /books/{bookId}: every editable field, and the version the admin read.

    The version comes here or as ``If-Match: "<version>"``; a write naming neither is refused
    (428), and one naming a version that is no longer current is refused with the current book.
    """

    version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_VERSION,
        description="The version read (GET /books/{bookId}); alternatively send it as If-Match",
    )


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
    version: int = Field(
        default=1,
        description="Goes up with every change (an admin's save, a sale); GET sends it as the ETag too",
    )


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
