"""Phase 1 catalog search without a Scan: an inverted index of word prefixes.

Each book writes one small item per prefix of its title and author words, and per
CJK character and pair of adjacent ones (``pk=TERM#<prefix>``, ``sk=<bookId>``; see
``search_terms``: words of any script, folded as phase 2 folds them). A query reads the partition of its most
selective word (one Query, capped), fetches those books with BatchGetItem, and keeps
those that match every word, ranked. Stale terms are harmless: every hit is checked
against the book itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cloudshelf.cursor import decode_cursor, encode_cursor
from cloudshelf.domain.ports import Page
from cloudshelf.domain.search_terms import query_words, score, title_key
from cloudshelf.models.books import Book
from cloudshelf.repositories.dynamodb.client import dynamodb_client, translated_errors
from cloudshelf.repositories.dynamodb.codec import s

MAX_CANDIDATES = 1000


class BookSearch:
    """Search over the term items of one books table."""

    def __init__(self, table: str, get_many: Callable[[Sequence[str]], dict[str, Book]]) -> None:
        self.table = table
        self.get_many = get_many

    def search(self, query: str, category: str | None, limit: int, cursor: str | None) -> Page[Book]:
        """Books matching every word of ``query`` (as word prefixes), best first."""
        wanted = query_words(query)
        offset = 0
        if cursor:
            offset = int(decode_cursor("search", cursor).get("o", 0))
        if not wanted:
            return Page([])
        ranked: list[tuple[int, str, Book]] = []
        for book in self.get_many(self._candidates(wanted[0])).values():
            if category and book.category != category:
                continue
            relevance = score(wanted, book.title, book.author)
            if relevance is not None:
                ranked.append((-relevance, title_key(book.title), book))
        ranked.sort(key=lambda r: (r[0], r[1], r[2].bookId))
        page = [r[2] for r in ranked[offset : offset + limit]]
        more = offset + limit < len(ranked)
        return Page(page, encode_cursor("search", {"o": offset + limit}) if more else None)

    def _candidates(self, term: str) -> list[str]:
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": s(f"TERM#{term}")},
            "ProjectionExpression": "sk",
        }
        ids: list[str] = []
        with translated_errors():
            while len(ids) < MAX_CANDIDATES:
                result = dynamodb_client().query(**params, Limit=MAX_CANDIDATES - len(ids))
                ids.extend(i["sk"]["S"] for i in result.get("Items", []))
                if "LastEvaluatedKey" not in result:
                    break
                params["ExclusiveStartKey"] = result["LastEvaluatedKey"]
        return ids
