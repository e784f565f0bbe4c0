"""BooksFunction: the catalog. Reads are public; writes need the admin group."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from cloudshelf.api.auth import AdminCaller
from cloudshelf.api.deps import Books
from cloudshelf.api.resolver import create_app, lambda_entry, new_router, no_content
from cloudshelf.api.responses import PUBLIC, SIGNED_IN, errors, ok
from cloudshelf.domain import books
from cloudshelf.models.books import BOOK_ID_PATTERN, CATEGORY_PATTERN, Book, BookInput, BookPage, CategoryList

router = new_router()
BookId = Annotated[str, Path(pattern=BOOK_ID_PATTERN)]
ADMIN = {**SIGNED_IN, **errors(403, 413)}
ADMIN_WRITE = {**ADMIN, **errors(415)}


@router.get("/books", tags=["Books"], summary="List or search books", responses={**ok(), **PUBLIC})
def list_books(
    repo: Books,
    category: Annotated[str | None, Query(pattern=CATEGORY_PATTERN)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> BookPage:
    return books.list_books(repo, category=category, query=q, limit=limit, cursor=cursor)


@router.get("/books/<bookId>", tags=["Books"], summary="Get a book", responses={**ok(), **PUBLIC, **errors(404)})
def get_book(bookId: BookId, repo: Books) -> Book:  # noqa: N803 - the path parameter's name
    return books.get_book(repo, bookId)


@router.get("/categories", tags=["Books"], summary="Categories with book counts", responses={**ok(), **PUBLIC})
def list_categories(repo: Books) -> CategoryList:
    return books.list_categories(repo)


@router.post(
    "/books", tags=["Admin"], summary="Add a book", responses={**ok(201, "Created", Book), **ADMIN_WRITE, **errors(409)}
)
def create_book(body: BookInput, repo: Books, _: AdminCaller) -> tuple[Book, int]:
    return books.create_book(repo, body), 201


@router.put(
    "/books/<bookId>", tags=["Admin"], summary="Replace a book", responses={**ok(), **ADMIN_WRITE, **errors(404, 409)}
)
def replace_book(bookId: BookId, body: BookInput, repo: Books, _: AdminCaller) -> Book:  # noqa: N803
    return books.replace_book(repo, bookId, body)


@router.delete(
    "/books/<bookId>",
    tags=["Admin"],
    summary="Delete a book",
    responses={**ok(204, "Deleted"), **ADMIN, **errors(404, 409)},
)
def delete_book(bookId: BookId, repo: Books, _: AdminCaller) -> Response[str]:  # noqa: N803
    books.delete_book(repo, bookId)
    return no_content()


app = create_app(router)
lambda_handler = lambda_entry(app, admin_writes=True)
