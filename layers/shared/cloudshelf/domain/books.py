"""Catalog rules."""

from __future__ import annotations

from collections.abc import Callable

from cloudshelf.domain.ports import BookRepository
from cloudshelf.errors import Conflict, NotFound, PreconditionRequired, VersionConflict
from cloudshelf.ids import new_book_id
from cloudshelf.models.books import Book, BookInput, BookPage, CategoryList
from cloudshelf.models.common import utcnow

DELETE_ATTEMPTS = 3


def list_books(
    repo: BookRepository, *, category: str | None, query: str | None, limit: int, cursor: str | None
) -> BookPage:
    """Books by title (optionally one category), or matching ``query`` best first."""
    if query and query.strip():
        page = repo.search(query, category, limit, cursor)
    else:
        page = repo.list_page(category, limit, cursor)
    return BookPage(items=page.items, nextCursor=page.next_cursor)


def get_book(repo: BookRepository, book_id: str) -> Book:
    """One book; NotFound if there is none."""
    book = repo.get(book_id)
    if book is None:
        raise NotFound("no such book", {"bookId": book_id})
    return book


def list_categories(repo: BookRepository) -> CategoryList:
    """Categories with at least one book, by name."""
    return CategoryList(items=sorted(repo.categories(), key=lambda c: c.name))


def create_book(repo: BookRepository, data: BookInput) -> Book:
    """Add a book with a new id, at version 1."""
    now = utcnow()
    book = Book(bookId=new_book_id(), createdAt=now, updatedAt=now, version=1, **data.editable())
    repo.create(book)
    return book


def version_conflict(current: Book, expected: int) -> VersionConflict:
    """The refusal of a write that named ``expected``, carrying the book as it is now."""
    return VersionConflict(
        f"the book was changed meanwhile (it is at version {current.version}, not {expected}); "
        "check the current values and save again",
        current=current.model_dump(mode="json"),
        version=current.version,
        expected=expected,
    )


def _current(repo: BookRepository, book_id: str) -> Book:
    """The book as the source of truth holds it now; NotFound if there is none."""
    book = repo.get(book_id, consistent=True)
    if book is None:
        raise NotFound("no such book", {"bookId": book_id})
    return book


def _at_version(repo: BookRepository, book_id: str, expected: int) -> Book:
    """The book, if it is still at ``expected``; else VersionConflict (or NotFound)."""
    current = _current(repo, book_id)
    if current.version != expected:
        raise version_conflict(current, expected)
    return current


def _write_at_version(write: Callable[[], None], repo: BookRepository, book_id: str, expected: int) -> None:
    """Run a store write conditional on ``expected``. A refusal is explained by the book as it is
    now: NotFound (gone), VersionConflict (changed); still at ``expected``, the store's Conflict
    stands (it was busy, the caller may retry)."""
    try:
        write()
    except Conflict as exc:
        current = _current(repo, book_id)
        if current.version == expected:
            raise
        raise version_conflict(current, expected) from exc


def replace_book(repo: BookRepository, book_id: str, data: BookInput, expected_version: int | None) -> Book:
    """Replace every editable field of a book, keeping its id and creation time, if it is still
    at ``expected_version`` (the version the admin read).

    Optimistic: a sale or another admin's save in between makes the write fail with
    VersionConflict carrying the current book; nothing is retried over it. The store's write is
    itself conditional on the version, so a change between this check and the write is caught too.
    """
    if expected_version is None:
        raise PreconditionRequired(
            "say which version of the book you are replacing: If-Match with its ETag, or version in the body",
            {"bookId": book_id},
        )
    previous = _at_version(repo, book_id, expected_version)
    book = Book(
        bookId=previous.bookId,
        createdAt=previous.createdAt,
        updatedAt=utcnow(),
        version=expected_version + 1,
        **data.editable(),
    )
    _write_at_version(lambda: repo.replace(book, previous), repo, book_id, expected_version)
    return book


def delete_book(repo: BookRepository, book_id: str, expected_version: int | None = None) -> None:
    """Remove a book. Past orders keep their own copy of its title and price.

    With ``expected_version``, only if the book is still at that version (else VersionConflict
    with the current book); without, whatever its version (a sale in between is retried over).
    """
    if expected_version is not None:
        book = _at_version(repo, book_id, expected_version)
        _write_at_version(lambda: repo.delete(book), repo, book_id, expected_version)
        return
    for attempt in range(DELETE_ATTEMPTS):
        book = _current(repo, book_id)
        try:
            repo.delete(book)
            return
        except Conflict:
            if attempt == DELETE_ATTEMPTS - 1:
                raise
