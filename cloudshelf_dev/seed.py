"""Loading the demo catalog (and the demo admin) idempotently.

Books are keyed by their slug (``pride-and-prejudice``). A book that exists already is
**left alone**: its stock may have been sold and an admin may have changed it, and a
re-run must not undo either. New books go in through the repository's ``create``, which
adds the book and bumps its category's counter in one transaction, so the counts of
GET /categories stay right however often the seed runs.

The repository and its DynamoDB client come from the settings, that is from the
environment (``CLOUDSHELF_BOOKS_TABLE``, ``AWS_ENDPOINT_URL_DYNAMODB``, ...):
:func:`local_environment` points them at a local stack for the duration of a block.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudshelf_dev.covers import cover_path

if TYPE_CHECKING:
    from cloudshelf.models.books import Book

CATALOG = Path(__file__).resolve().parent / "data" / "catalog.json"


@dataclass
class SeedReport:
    """What a seed run did."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{len(self.created)} books added, {len(self.existing)} already there (left alone)"


def load_catalog(path: Path = CATALOG) -> list[dict[str, Any]]:
    """The demo catalog entries."""
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return entries


def clear_cloudshelf_caches() -> None:
    """Forget cached settings, clients and repositories of the cloudshelf package."""
    from cloudshelf.api import deps, idempotency
    from cloudshelf.repositories import factory

    factory.clear_caches()
    idempotency.clear_cache()
    deps.cart_rules.cache_clear()


@contextmanager
def local_environment(env: dict[str, str]) -> Iterator[None]:
    """Set ``env`` in this process for a block (caches cleared on entry and exit), then restore it."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    clear_cloudshelf_caches()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clear_cloudshelf_caches()


def catalog_book(entry: dict[str, Any]) -> Book:
    """A catalog entry as a Book, validated as an admin's input would be, with its generated cover."""
    from cloudshelf.models.books import Book, BookInput
    from cloudshelf.models.common import utcnow

    book_id = str(entry["bookId"])
    data = BookInput.model_validate(
        {k: v for k, v in entry.items() if k != "bookId"} | {"imageUrl": cover_path(book_id)}
    )
    now = utcnow()
    return Book(bookId=book_id, createdAt=now, updatedAt=now, version=1, **data.model_dump())


def seed_catalog(entries: list[dict[str, Any]] | None = None, workers: int = 4) -> SeedReport:
    """Add the catalog's books that are not there yet, through the configured book repository."""
    from cloudshelf.errors import AlreadyExists
    from cloudshelf.repositories import factory

    entries = load_catalog() if entries is None else entries
    repo = factory.book_repository()
    books = [catalog_book(e) for e in entries]
    ids = [b.bookId for b in books]
    if len(set(ids)) != len(ids):
        raise ValueError("the catalog has duplicate bookIds")
    present = repo.get_many(ids)
    report = SeedReport(existing=[i for i in ids if i in present])

    def create(book: Book) -> None:
        try:
            repo.create(book)
            report.created.append(book.bookId)
        except AlreadyExists:  # created meanwhile by another seed run
            report.existing.append(book.bookId)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(create, [b for b in books if b.bookId not in present]))
    return report
