"""Catalog rules."""

from __future__ import annotations

from cloudshelf.errors import Conflict, NotFound
from cloudshelf.ids import new_book_id
from cloudshelf.models.books import Book, BookInput, BookPage, CategoryList
from cloudshelf.models.common import utcnow
from cloudshelf.repositories.base import BookRepository

REPLACE_ATTEMPTS = 3


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
    """Add a book with a new id."""
    now = utcnow()
    book = Book(bookId=new_book_id(), createdAt=now, updatedAt=now, version=1, **dict(data))
    repo.create(book)
    return book


def replace_book(repo: BookRepository, book_id: str, data: BookInput) -> Book:
    """Replace every editable field of a book, keeping its id and creation time.

    Retries when a checkout changed the stock meanwhile: the admin's values win.
    """
    for attempt in range(REPLACE_ATTEMPTS):
        previous = get_book(repo, book_id)
        book = Book(
            bookId=previous.bookId,
            createdAt=previous.createdAt,
            updatedAt=utcnow(),
            version=previous.version + 1,
            **dict(data),
        )
        try:
            repo.replace(book, previous)
            return book
        except Conflict:
            if attempt == REPLACE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def delete_book(repo: BookRepository, book_id: str) -> None:
    """Remove a book. Past orders keep their own copy of its title and price."""
    for attempt in range(REPLACE_ATTEMPTS):
        book = get_book(repo, book_id)
        try:
            repo.delete(book)
            return
        except Conflict:
            if attempt == REPLACE_ATTEMPTS - 1:
                raise
