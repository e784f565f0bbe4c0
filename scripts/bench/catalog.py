"""A synthetic catalog of any size, and loading it fast into either store.

The books are made from the words of the demo catalog (titles, authors, descriptions),
so titles, authors and descriptions have realistic word lengths (which set how many
search-term items a book has in phase 1 and how large its tsvector is in phase 2).
Two marker words make search results comparable across sizes:

- ``lantern`` is in the title of 1 book in 100 (a common word: 10 matches in 1,000 books,
  1,000 in 100,000);
- ``zephyrine`` is in the title of exactly 5 books at every size (a rare word).

Loading:

- DynamoDB (moto): 100,000 books through the API would take moto ~20 minutes (one
  TransactWriteItems and a BatchWriteItem per book, 1-4 ms a call), so the items are
  written straight into moto's in-process backend. They are the items the repository
  writes (the same ``book_item`` and ``index_terms`` functions, category counters with
  the right counts); :func:`check_direct_items` proves it on sample books by comparing
  with what ``DynamoBookRepository.create`` stores.
- PostgreSQL: one ``COPY`` (the generated ``search`` tsvector and the indexes are built
  by PostgreSQL itself), then ``ANALYZE``.
"""

from __future__ import annotations

import io
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudshelf.models.books import Book

COMMON_WORD = "lantern"
RARE_WORD = "zephyrine"
RARE_COUNT = 5
COMMON_EVERY = 100
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


def _vocabulary() -> tuple[list[str], list[str], list[str], list[str]]:
    """Words, first names, last names and categories from the demo catalog."""
    from cloudshelf_dev.seed import load_catalog

    entries = load_catalog()
    text = " ".join(f"{e['title']} {e['description']}" for e in entries).lower()
    banned = (COMMON_WORD[:5], RARE_WORD[:5])
    words = sorted({w for w in re.findall(r"[a-z]{3,}", text) if not w.startswith(banned)})
    names = [e["author"].split() for e in entries]
    firsts = sorted({n[0] for n in names if len(n) > 1 and n[0].isalpha()})
    lasts = sorted({n[-1] for n in names if n[-1].isalpha()})
    categories = sorted({e["category"] for e in entries})
    return words, firsts, lasts, categories


def isbn13(number: int) -> str:
    """A valid ISBN-13 with prefix 978 and ``number`` as its 9-digit body."""
    body = f"978{number % 1_000_000_000:09d}"
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def book_id(i: int) -> str:
    """The id of synthetic book number ``i``."""
    return f"bench-{i:06d}"


def synthetic_books(count: int, seed: int = 8) -> list[Book]:
    """``count`` valid books (deterministic for a given count and seed)."""
    from cloudshelf.models.books import Book

    words, firsts, lasts, categories = _vocabulary()
    rnd = random.Random(seed)  # noqa: S311 # nosec B311 - seeded generator for reproducible benchmark data, not security
    rare_every = max(1, count // RARE_COUNT)
    books = []
    for i in range(count):
        title_words = [rnd.choice(words) for _ in range(rnd.randint(1, 4))]
        if i % COMMON_EVERY == COMMON_EVERY // 2:
            title_words.insert(rnd.randint(0, len(title_words)), COMMON_WORD)
        if i % rare_every == 3 and i // rare_every < RARE_COUNT:
            title_words.append(RARE_WORD)
        title = " ".join(w.capitalize() for w in title_words)
        description = " ".join(rnd.choice(words) for _ in range(rnd.randint(12, 40))).capitalize() + "."
        books.append(
            Book(
                bookId=book_id(i),
                title=title,
                author=f"{rnd.choice(firsts)} {rnd.choice(lasts)}",
                category=categories[i % len(categories)],
                price=Decimal(f"{5 + i % 20}.99"),
                stock=100,
                description=description,
                isbn=isbn13(i),
                imageUrl=f"/covers/{book_id(i)}.svg",
                createdAt=CREATED,
                updatedAt=CREATED,
                version=1,
            )
        )
    return books


# ---------------------------------------------------------------------- DynamoDB (moto)
def dynamo_items(book: Book) -> list[dict[str, Any]]:
    """Every item the repository's ``create`` writes for a book, except the category counter."""
    from cloudshelf.domain.search_terms import index_terms
    from cloudshelf.repositories.dynamodb.books import book_item

    terms = [{"pk": {"S": f"TERM#{t}"}, "sk": {"S": book.bookId}} for t in sorted(index_terms(book.title, book.author))]
    return [book_item(book), *terms]


def counter_items(books: Iterable[Book]) -> list[dict[str, Any]]:
    """The category counters (``pk=CATEGORIES``) for ``books``."""
    counts = Counter(b.category for b in books)
    return [{"pk": {"S": "CATEGORIES"}, "sk": {"S": c}, "count": {"N": str(n)}} for c, n in sorted(counts.items())]


def moto_table(name: str) -> Any:
    """moto's in-process table object (the backend that both mock_aws and the local server use)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables[name]


def write_direct(table: Any, items: Iterable[dict[str, Any]]) -> int:
    """Store items in a moto table without an API call (moto's own fast copy path: no
    per-attribute size re-validation); returns how many. Items must be valid already."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    def typed_value(value: dict[str, Any]) -> Any:
        ((kind, raw),) = value.items()
        if kind in ("L", "M"):
            return DynamoType(value)  # moto converts nested values itself
        typed = DynamoType.__new__(DynamoType)  # what DynamoType(value) sets for a scalar or a set
        typed.type, typed.value = kind, raw
        return typed

    hash_attr, range_attr = table.hash_key_attr, table.range_key_attr
    partitions: dict[tuple[str, Any], Any] = {}  # by the key's plain value: hashing moto's key objects is slow
    count = 0
    for attrs in items:
        item: Any = Item.__new__(Item)
        typed = {k: typed_value(v) for k, v in attrs.items()}
        item.hash_key = typed[hash_attr]
        item.range_key = typed[range_attr] if range_attr else None
        store = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(store, typed)
        item.attrs = store
        if range_attr:
            plain = (item.hash_key.type, item.hash_key.value)
            partition = partitions.get(plain)
            if partition is None:
                partition = partitions[plain] = table.items[item.hash_key]
            partition[item.range_key] = item
        else:
            table.items[item.hash_key] = item
        count += 1
    return count


def load_books_dynamodb(table_name: str, books: list[Book]) -> int:
    """Write ``books`` (with search terms and category counters) into moto; returns items written."""
    table = moto_table(table_name)
    with no_gc():
        written = write_direct(table, (item for book in books for item in dynamo_items(book)))
        return written + write_direct(table, counter_items(books))


@contextmanager
def no_gc() -> Iterator[None]:
    """No cyclic garbage collection while millions of long-lived objects are made; afterwards they
    are frozen out of the collector, so its passes during the measurements do not walk them."""
    import gc

    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.freeze()


def check_direct_items(client: Any, table_defs: dict[str, Any], samples: list[Book]) -> bool:
    """True if the direct writer stores exactly what ``DynamoBookRepository.create`` stores."""
    from cloudshelf.repositories.dynamodb.books import DynamoBookRepository
    from cloudshelf.repositories.factory import clear_caches

    names = {"api": "bench-check-api", "direct": "bench-check-direct"}
    for name in names.values():
        client.create_table(TableName=name, **table_defs["BooksTable"]["create"])
    clear_caches()
    repo = DynamoBookRepository(names["api"])
    for book in samples:
        repo.create(book)
    load_books_dynamodb(names["direct"], samples)

    def everything(name: str) -> list[str]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": name}
        while True:
            page = client.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(json.dumps(i, sort_keys=True) for i in items)

    same = everything(names["api"]) == everything(names["direct"])
    for name in names.values():
        client.delete_table(TableName=name)
    return same


# ---------------------------------------------------------------------- PostgreSQL
def load_books_postgres(dsn: str, books: list[Book], schema: str = "public") -> None:
    """Replace the books table's rows (in ``schema``) with ``books`` by COPY, then ANALYZE."""
    import psycopg2

    from cloudshelf.domain.search_terms import title_key

    buffer = io.StringIO()
    for b in books:
        row = (
            b.bookId,
            b.title,
            b.author,
            b.category,
            str(b.price),
            str(b.stock),
            b.description,
            b.isbn,
            b.imageUrl,
            title_key(b.title),
            b.createdAt.isoformat(),
            b.updatedAt.isoformat(),
            str(b.version),
        )
        buffer.write("\t".join(_copy_text(v) for v in row) + "\n")
    buffer.seek(0)
    conn = psycopg2.connect(dsn, options=f"-c search_path={schema}")
    try:
        with conn, conn.cursor() as cur:
            cur.execute("TRUNCATE books, users, orders, order_items")
            cur.copy_expert(
                "COPY books (book_id, title, author, category, price, stock, description, isbn, image_url,"
                " title_key, created_at, updated_at, version) FROM STDIN",
                buffer,
            )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE books")
    finally:
        conn.close()


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
