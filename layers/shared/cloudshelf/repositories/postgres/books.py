"""The catalog in PostgreSQL: keyset pagination by title, ranked full-text search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cloudshelf.cursor import decode_cursor, encode_cursor
from cloudshelf.domain.ports import Page
from cloudshelf.domain.search_terms import query_terms, title_key
from cloudshelf.errors import AlreadyExists, Conflict, NotFound
from cloudshelf.models.books import Book, CategoryCount
from cloudshelf.repositories.postgres.connection import run

COLUMNS = (
    "book_id, title, author, category, price, stock, description, isbn, image_url, created_at, updated_at, version"
)
MAX_SEARCH_OFFSET = 1000


def book_from_row(row: Sequence[Any]) -> Book:
    """A Book from a row in COLUMNS order."""
    keys = ("bookId", "title", "author", "category", "price", "stock", "description", "isbn", "imageUrl")
    data = dict(zip(keys, row[:9], strict=True))
    return Book(**data, createdAt=row[9], updatedAt=row[10], version=row[11])


def book_values(book: Book) -> tuple[Any, ...]:
    """A Book as parameters in COLUMNS order plus title_key."""
    return (
        book.bookId, book.title, book.author, book.category, book.price, book.stock, book.description,
        book.isbn, book.imageUrl, book.createdAt, book.updatedAt, book.version, title_key(book.title),
    )  # fmt: skip


def prefix_query(text: str) -> str:
    """A tsquery that matches every term of ``text`` as a stemmed prefix ("running" finds "Runner").

    Terms are search_terms.query_terms(): words of any script folded as the ``search`` column's
    cloudshelf_search_text() folds them, CJK as characters or pairs; letters, digits and marks
    only, so nothing in them is tsquery syntax.
    """
    return " & ".join(f"{t}:*" for t in query_terms(text))


class PostgresBookRepository:
    """BookRepository on the ``books`` table."""

    def get(self, book_id: str, *, consistent: bool = False) -> Book | None:
        # Every read of the primary is consistent: ``consistent`` changes nothing here.
        def work(cur: Any) -> Book | None:
            cur.execute(f"SELECT {COLUMNS} FROM books WHERE book_id = %s", (book_id,))  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter
            row = cur.fetchone()
            return book_from_row(row) if row else None

        return run(work)

    def get_many(self, book_ids: Sequence[str], *, consistent: bool = False) -> dict[str, Book]:
        def work(cur: Any) -> dict[str, Book]:
            cur.execute(f"SELECT {COLUMNS} FROM books WHERE book_id = ANY(%s)", (list(book_ids),))  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter
            return {row[0]: book_from_row(row) for row in cur.fetchall()}

        return run(work) if book_ids else {}

    def list_page(self, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        where, params = ["TRUE"], []
        if category:
            where.append("category = %s")
            params.append(category)
        if cursor:
            values = decode_cursor("books", cursor)
            where.append("(title_key, book_id) > (%s, %s)")
            params += [str(values.get("t", "")), str(values.get("id", ""))]
        sql = f"SELECT {COLUMNS}, title_key FROM books WHERE {' AND '.join(where)} ORDER BY title_key, book_id LIMIT %s"  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter

        def work(cur: Any) -> list[tuple[Book, str]]:
            cur.execute(sql, (*params, limit + 1))
            return [(book_from_row(r), r[12]) for r in cur.fetchall()]

        rows = run(work)
        more = len(rows) > limit
        rows = rows[:limit]
        # The stored key resumes exactly where this page ended, even for a row keyed by an older title_key().
        next_cursor = encode_cursor("books", {"t": rows[-1][1], "id": rows[-1][0].bookId}) if more and rows else None
        return Page([book for book, _ in rows], next_cursor)

    def search(self, query: str, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        tsquery = prefix_query(query)
        offset = int(decode_cursor("search", cursor).get("o", 0)) if cursor else 0
        if not tsquery or offset > MAX_SEARCH_OFFSET:
            return Page([])
        category_filter = "AND category = %s" if category else ""
        sql = (
            f"SELECT {COLUMNS} FROM books, to_tsquery('english', %s) AS q "  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter
            f"WHERE search @@ q {category_filter} "
            "ORDER BY ts_rank_cd(search, q) DESC, title_key, book_id LIMIT %s OFFSET %s"
        )
        params = [tsquery, *([category] if category else []), limit + 1, offset]

        def work(cur: Any) -> list[Book]:
            cur.execute(sql, params)
            return [book_from_row(r) for r in cur.fetchall()]

        books = run(work)
        more = len(books) > limit
        return Page(books[:limit], encode_cursor("search", {"o": offset + limit}) if more else None)

    def categories(self) -> list[CategoryCount]:
        def work(cur: Any) -> list[CategoryCount]:
            cur.execute("SELECT category, count(*) FROM books GROUP BY category ORDER BY category")
            return [CategoryCount(name=name, count=count) for name, count in cur.fetchall()]

        return run(work)

    def create(self, book: Book) -> None:
        def work(cur: Any) -> None:
            cur.execute(
                f"INSERT INTO books ({COLUMNS}, title_key) VALUES ({', '.join(['%s'] * 13)}) "  # noqa: S608 # nosec B608 - column lists are module constants; every value is a bound %s parameter
                "ON CONFLICT (book_id) DO NOTHING",
                book_values(book),
            )
            if cur.rowcount == 0:
                raise AlreadyExists(f"a book with id {book.bookId} exists already", {"bookId": book.bookId})

        run(work, write=True)

    def replace(self, book: Book, previous: Book) -> None:
        def work(cur: Any) -> None:
            values = book_values(book)
            cur.execute(
                "UPDATE books SET title = %s, author = %s, category = %s, price = %s, stock = %s, description = %s,"
                " isbn = %s, image_url = %s, created_at = %s, updated_at = %s, version = %s, title_key = %s"
                " WHERE book_id = %s AND version = %s",
                (*values[1:], book.bookId, previous.version),
            )
            if cur.rowcount == 0:
                raise Conflict("the book was changed by someone else meanwhile; reload and retry")

        run(work, write=True)

    def delete(self, book: Book) -> None:
        def work(cur: Any) -> None:
            cur.execute("DELETE FROM books WHERE book_id = %s AND version = %s", (book.bookId, book.version))
            if cur.rowcount == 0:
                cur.execute("SELECT 1 FROM books WHERE book_id = %s", (book.bookId,))
                if cur.fetchone() is None:
                    raise NotFound("no such book", {"bookId": book.bookId})
                raise Conflict("the book was changed by someone else meanwhile; reload and retry")

        run(work, write=True)
