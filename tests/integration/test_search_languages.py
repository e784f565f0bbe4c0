"""Catalog search and listing order for titles in several languages and scripts, in both phases."""

# Titles in other scripts hold letters that look like Latin ones (е, р, σ): that is the point.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

import psycopg2
import pytest

from cloudshelf.domain.search_terms import terms, title_key
from cloudshelf.repositories.postgres import migrate
from cloudshelf.repositories.postgres.books import prefix_query
from cloudshelf.repositories.postgres.migrate import apply_migrations
from cloudshelf_dev.postgres import LocalPostgres
from tests.integration.conftest import Invoke

BOOKS = {
    "Café Ünïcode": "Émile Zola",
    "Über die Brücke": "Jürgen Müller",
    "Die Straße": "Anna Schmidt",
    "Война и мир": "Лев Толстой",
    "吾輩は猫である": "夏目漱石",
    "The Time Machine": "H. G. Wells",
}

FOUND_BY = {
    # French: accents and case do not matter
    "unicode": ["Café Ünïcode"],
    "ünïcode": ["Café Ünïcode"],
    "ÜNÏCODE": ["Café Ünïcode"],
    "cafe": ["Café Ünïcode"],
    "café unic": ["Café Ünïcode"],
    "emile": ["Café Ünïcode"],
    # German: umlauts fold to the vowel, ß reads as "ss"
    "über": ["Über die Brücke"],
    "uber brucke": ["Über die Brücke"],
    "brü": ["Über die Brücke"],
    "müller": ["Über die Brücke"],
    "straße": ["Die Straße"],
    "strasse": ["Die Straße"],
    "STRASSE": ["Die Straße"],
    # Russian: whole words, prefixes, upper case, author
    "война": ["Война и мир"],
    "ВОЙНА": ["Война и мир"],
    "мир": ["Война и мир"],
    "войн": ["Война и мир"],
    "война мир": ["Война и мир"],
    "толстой": ["Война и мир"],
    # Japanese: a character or a run of characters of the title or author
    "猫": ["吾輩は猫である"],
    "吾輩": ["吾輩は猫である"],
    "猫である": ["吾輩は猫である"],
    "夏目": ["吾輩は猫である"],
    # Nothing else matches
    "犬": [],
    "猫輩": [],
    "миру": [],
}


@pytest.fixture
def catalog(add_book: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    """The books of BOOKS, created through the API, by title."""
    return {title: add_book(title=title, author=author, description="") for title, author in BOOKS.items()}


@pytest.mark.parametrize(("query", "expected"), list(FOUND_BY.items()), ids=list(FOUND_BY))
def test_titles_in_any_language_are_found_by_their_words(
    invoke: Invoke, catalog: dict[str, dict[str, Any]], query: str, expected: list[str]
) -> None:
    # Given French, German, Russian, Japanese and English books / When a shopper searches
    reply = invoke("ListBooks", query={"q": [query]})
    # Then exactly the matching books come back
    assert reply.status == 200, reply.body
    assert [b["title"] for b in reply.body["items"]] == expected


def test_english_stemming_and_prefixes_still_work(invoke: Invoke, catalog: dict[str, dict[str, Any]]) -> None:
    # Given the same catalog / When searching English words and prefixes / Then found as before
    for query in ("time", "tim mach", "machine", "wells"):
        assert [b["title"] for b in invoke("ListBooks", query={"q": [query]}).body["items"]] == ["The Time Machine"]


def test_listing_orders_titles_of_every_script_the_same_way_in_both_phases(
    invoke: Invoke, catalog: dict[str, dict[str, Any]], add_book: Callable[..., Any]
) -> None:
    # Given the catalog and a title without letters / When listed two at a time
    add_book(title="★")
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = invoke("ListBooks", query={"limit": ["2"], **({"cursor": [cursor]} if cursor else {})})
        assert page.status == 200, page.body
        seen += [b["title"] for b in page.body["items"]]
        cursor = page.body["nextCursor"]
        if cursor is None:
            break
    # Then every book comes once, by folded title without a leading "the", in code point order:
    # Latin, then Cyrillic, then symbols, then CJK
    assert seen == [
        "Café Ünïcode",
        "Die Straße",
        "The Time Machine",
        "Über die Brücke",
        "Война и мир",
        "★",
        "吾輩は猫である",
    ]


HOSTILE = [
    "\x00",
    "война\x00мир",
    "война & мир",
    "猫:*",
    "猫 | 犬",
    "!猫",
    "(ünïcode",
    "ü:*B",
    "café'",
    "<-> über",
    "\\ß",
    "\u0308\u0301",
    "ｶﾞ＆ｯ",
    "x" * 100,
    "猫" * 100,
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_non_ascii_queries_never_fail(invoke: Invoke, catalog: dict[str, dict[str, Any]], query: str) -> None:
    # Given the catalog / When a query carries search syntax, NUL or stray marks
    reply = invoke("ListBooks", query={"q": [query]})
    # Then it is an answer or a 4xx, never a server error
    assert reply.status < 500, reply.body


SAMPLES = [
    *BOOKS,
    *BOOKS.values(),
    "ВОЙНА Ёлка",
    "ハリー・ポッターと賢者の石 Vol2",
    "ｶﾞｯｺｳ",
    "हिन्दी किताब",
    "Ἰλιάς ΟΔΥΣΣΕΙΑ",
    "Alice's O’Brien",
    "«Война» — “quoted”",
    "한국어 책",
    "Tiếng Việt",
    "Łódź Ærø ﬁnal",
    "snake_case",
    "猫cat犬",
    "שָׁלוֹם",
    "العَرَبِيَّة",
    "Ölçü İstanbul",
    "GROẞE Maß",
]


def test_phase_2_indexes_the_terms_phase_1_finds(postgres: LocalPostgres) -> None:
    # Given text in many scripts / When PostgreSQL's search column function folds and parses it
    conn = psycopg2.connect(postgres.dsn)
    try:
        with conn.cursor() as cur:
            for text in SAMPLES:
                cur.execute(
                    "SELECT array(SELECT lexeme FROM unnest(to_tsvector('simple', cloudshelf_search_text(%s))))",
                    (text,),
                )
                (lexemes,) = cur.fetchone()
                # Then it has exactly the terms search_terms finds in Python
                assert sorted(lexemes) == sorted(set(terms(text))), text
    finally:
        conn.close()


def _old_title_key(title: str) -> str:
    """title_key() before issue 11: [a-z0-9] words only."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", title.casefold()) if not unicodedata.combining(c))
    text = " ".join(re.findall(r"[a-z0-9]+", folded.replace("'", "").replace("\u2019", "")))
    for article in ("the ", "a ", "an "):
        if text.startswith(article):
            text = text[len(article) :]
            break
    return text[:100]


def test_migration_0002_makes_existing_books_searchable_and_rekeys_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a database at 0001 holding books written by the old code
    server = LocalPostgres().start()
    conn = psycopg2.connect(server.dsn)
    try:
        shipped = migrate.available()
        monkeypatch.setattr(migrate, "available", lambda: [m for m in shipped if m.version <= "0001"])
        apply_migrations(conn)
        others = [
            "★ ☆",
            "!!!",
            "L'Étranger",
            "The Ёлка",
            "Łódź",
            "ハリー・ポッター",
            "हिन्दी किताब",
            "Ἰλιάς",
            "한국어 책",
        ]
        titles = [*BOOKS, *others, "Tiếng Việt", "GROẞE Maß", "שָׁלוֹם", "Ölçü İstanbul"]
        with conn.cursor() as cur:
            for i, title in enumerate(titles):
                cur.execute(
                    "INSERT INTO books (book_id, title, author, category, price, stock, isbn, title_key,"
                    " created_at, updated_at) VALUES (%s, %s, %s, 'Fiction', 10, 1, '9780306406157', %s, now(), now())",
                    (f"bk-{i:04d}", title, BOOKS.get(title, "Somebody"), _old_title_key(title)),
                )
        conn.commit()
        # When the remaining migrations run
        monkeypatch.setattr(migrate, "available", lambda: shipped)
        assert "0002" in apply_migrations(conn)
        with conn.cursor() as cur:
            # Then every title has the key title_key() gives it now (but for a virama: SQL's
            # [[:alnum:]] splits a word at it, Python keeps the word; the next write fixes the key)
            cur.execute("SELECT title, title_key FROM books")
            keys = dict(cur.fetchall())
            assert keys.pop("हिन्दी किताब") == "हिन दी किताब"
            assert keys == {t: title_key(t) for t in titles if t != "हिन्दी किताब"}
            # And the books are found by their words in any script
            for query, expected in FOUND_BY.items():
                cur.execute("SELECT title FROM books WHERE search @@ to_tsquery('english', %s)", (prefix_query(query),))
                assert [row[0] for row in cur.fetchall()] == expected, query
    finally:
        conn.close()
        server.stop()
