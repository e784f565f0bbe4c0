"""BooksFunction: the catalog. Reads are public; writes need the admin group."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from cloudshelf.api.auth import AdminCaller
from cloudshelf.api.deps import Books
from cloudshelf.api.preconditions import Expected, IfMatch, book_response
from cloudshelf.api.resolver import create_app, lambda_entry, new_router, no_content
from cloudshelf.api.responses import ETAG, PUBLIC, SIGNED_IN, errors, ok
from cloudshelf.cursor import MAX_CURSOR_LENGTH
from cloudshelf.domain import books
from cloudshelf.errors import VersionConflict
from cloudshelf.models.books import (
    BOOK_ID_PATTERN,
    CATEGORY_PATTERN,
    Book,
    BookInput,
    BookPage,
    BookReplaceInput,
    CategoryList,
)
from cloudshelf.models.common import LINE_PATTERN

router = new_router()
BookId = Annotated[str, Path(pattern=BOOK_ID_PATTERN)]
ADMIN = {**SIGNED_IN, **errors(403, 413)}
ADMIN_WRITE = {**ADMIN, **errors(415)}


@router.get("/books", tags=["Books"], summary="List or search books", responses={**ok(), **PUBLIC})
def list_books(
    repo: Books,
    category: Annotated[str | None, Query(max_length=48, pattern=CATEGORY_PATTERN)] = None,
    q: Annotated[str | None, Query(max_length=100, pattern=LINE_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH, pattern=LINE_PATTERN)] = None,
) -> BookPage:
    return books.list_books(repo, category=category, query=q, limit=limit, cursor=cursor)


@router.get(
    "/books/<bookId>",
    tags=["Books"],
    summary="Get a book",
    description="The book, with its version in the body and as the ETag (what a write sends back as If-Match).",
    responses={**ok(headers=ETAG), **PUBLIC, **errors(404)},
)
def get_book(bookId: BookId, repo: Books) -> Response[Book]:  # noqa: N803 - the path parameter's name
    return book_response(books.get_book(repo, bookId))


@router.get("/categories", tags=["Books"], summary="Categories with book counts", responses={**ok(), **PUBLIC})
def list_categories(repo: Books) -> CategoryList:
    return books.list_categories(repo)


@router.post(
    "/books",
    tags=["Admin"],
    summary="Add a book",
    description="Creates the book at version 1 (a version in the body is refused: the server numbers them).",
    responses={**ok(201, "Created", Book, headers=ETAG), **ADMIN_WRITE, **errors(409)},
)
def create_book(body: BookInput, repo: Books, _: AdminCaller) -> Response[Book]:
    return book_response(books.create_book(repo, body), 201)


@router.put(
    "/books/<bookId>",
    tags=["Admin"],
    summary="Replace a book",
    description=(
        'Optimistic: name the version you read, as `If-Match: "<version>"` (the ETag of GET) or as '
        "`version` in the body (both: they must agree). Neither: 428. A version that is no longer "
        "current (a sale or another admin changed the book): 412 if it came as If-Match, else 409, "
        "code VERSION_CONFLICT, nothing written, the current book in `error.details.current` and its "
        "ETag. Saved: the book at the next version, with its ETag."
    ),
    responses={**ok(headers=ETAG), **ADMIN_WRITE, **errors(404, 409, 412, 428)},
)
def replace_book(
    bookId: BookId,  # noqa: N803 - the path parameter's name
    body: BookReplaceInput,
    repo: Books,
    _: AdminCaller,
    if_match: IfMatch = None,
) -> Response[Book]:
    expected = Expected(if_match, body.version)
    try:
        book = books.replace_book(repo, bookId, body, expected.version)
    except VersionConflict as conflict:
        raise expected.refusal(conflict) from conflict
    return book_response(book)


@router.delete(
    "/books/<bookId>",
    tags=["Admin"],
    summary="Delete a book",
    description=(
        'With `If-Match: "<version>"`, only if the book is still at that version (else 412 '
        "VERSION_CONFLICT with the current book); without it, whatever its version."
    ),
    responses={**ok(204, "Deleted"), **ADMIN, **errors(404, 409, 412)},
)
def delete_book(bookId: BookId, repo: Books, _: AdminCaller, if_match: IfMatch = None) -> Response[str]:  # noqa: N803
    expected = Expected(if_match, None)
    try:
        books.delete_book(repo, bookId, expected.version)
    except VersionConflict as conflict:
        raise expected.refusal(conflict) from conflict
    return no_content()


app = create_app(router)
lambda_handler = lambda_entry(app, admin_writes=True)
