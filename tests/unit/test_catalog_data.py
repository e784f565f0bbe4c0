"""The demo catalog (cloudshelf_dev/data/catalog.json) and the generated SVG covers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cloudshelf.models.books import BookInput
from cloudshelf_dev.covers import cover_path, cover_svg

CATALOG_PATH = Path(__file__).resolve().parents[2] / "cloudshelf_dev" / "data" / "catalog.json"
CATEGORIES = {"Fiction", "Science Fiction", "Mystery", "Adventure", "Poetry", "Philosophy", "History", "Children"}
FIELDS = {"bookId", "title", "author", "category", "price", "stock", "description", "isbn"}
SVG_NS = "{http://www.w3.org/2000/svg}"


def isbn13_is_valid(isbn: str) -> bool:
    """True when ``isbn`` is 13 digits whose weighted (1, 3, 1, 3, ...) sum is a multiple of 10."""
    if not re.fullmatch(r"\d{13}", isbn):
        return False
    return sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(isbn)) % 10 == 0


@pytest.fixture(scope="module")
def catalog() -> list[dict[str, Any]]:
    """The catalog as loaded from disk."""
    data: list[dict[str, Any]] = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    return data


def test_catalog_has_enough_books_in_each_category(catalog: list[dict[str, Any]]) -> None:
    # Given the demo catalog
    # When the books are counted per category
    counts = Counter(book["category"] for book in catalog)
    # Then there are at least 60 books, in the 8 known categories, each with at least 7 books
    assert len(catalog) >= 60
    assert set(counts) == CATEGORIES
    assert all(count >= 7 for count in counts.values()), counts


def test_every_entry_has_exactly_the_expected_fields(catalog: list[dict[str, Any]]) -> None:
    # Given the demo catalog
    # When each entry's keys are examined
    wrong = [book.get("bookId") for book in catalog if set(book) != FIELDS]
    # Then every entry has exactly the documented fields, all non-empty strings except stock
    assert wrong == []
    for book in catalog:
        for field in FIELDS - {"stock"}:
            assert isinstance(book[field], str)
            assert book[field].strip(), (book["bookId"], field)


def test_book_ids_are_unique_slugs(catalog: list[dict[str, Any]]) -> None:
    # Given the demo catalog
    ids = [book["bookId"] for book in catalog]
    # When the ids are checked for shape and duplicates
    bad = [book_id for book_id in ids if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", book_id) or len(book_id) > 64]
    # Then every id is a lowercase slug of at most 64 characters and none repeats
    assert bad == []
    assert len(set(ids)) == len(ids)


def test_isbns_are_unique_and_have_valid_check_digits(catalog: list[dict[str, Any]]) -> None:
    # Given the ISBNs of every book
    isbns = [book["isbn"] for book in catalog]
    # When their check digits are verified
    invalid = [isbn for isbn in isbns if not isbn13_is_valid(isbn)]
    # Then all are valid ISBN-13s in the synthetic 978-0-000 range and none repeats
    assert invalid == []
    assert all(isbn.startswith("9780000") for isbn in isbns)
    assert len(set(isbns)) == len(isbns)


def test_isbn_check_helper_rejects_a_wrong_check_digit() -> None:
    # Given a valid ISBN-13 and the same number with its last digit changed
    valid, broken = "9780306406157", "9780306406158"
    # When both are checked
    # Then only the valid one passes
    assert isbn13_is_valid(valid)
    assert not isbn13_is_valid(broken)


def test_prices_are_positive_two_place_decimal_strings(catalog: list[dict[str, Any]]) -> None:
    # Given every book's price
    prices = {book["bookId"]: book["price"] for book in catalog}
    # When each is parsed as a decimal string
    bad = [bid for bid, price in prices.items() if not isinstance(price, str) or not re.fullmatch(r"\d+\.\d{2}", price)]
    # Then each has exactly two places, lies in the demo range and the prices vary
    assert bad == []
    assert all(Decimal("4.99") <= Decimal(price) <= Decimal("24.99") for price in prices.values())
    assert len(set(prices.values())) >= 10


def test_stock_is_a_non_negative_int_with_some_out_and_low(catalog: list[dict[str, Any]]) -> None:
    # Given every book's stock
    stocks = [book["stock"] for book in catalog]
    # When the stock levels are examined
    # Then all are plain ints from 0 to 40, a few books are out of stock and a few are almost gone
    assert all(type(stock) is int and 0 <= stock <= 40 for stock in stocks)
    assert sum(stock == 0 for stock in stocks) >= 3
    assert sum(1 <= stock <= 3 for stock in stocks) >= 5


def test_entries_are_accepted_by_the_admin_book_model(catalog: list[dict[str, Any]]) -> None:
    # Given every entry, with the cover URL path the local stack will serve
    for book in catalog:
        payload = {key: value for key, value in book.items() if key != "bookId"}
        payload["imageUrl"] = cover_path(book["bookId"])
        # When it is validated as an admin's create request
        model = BookInput.model_validate(payload)
        # Then it is accepted unchanged
        assert model.isbn == book["isbn"]
        assert str(model.price) == book["price"]


def test_catalog_has_shared_title_words_for_search(catalog: list[dict[str, Any]]) -> None:
    # Given the titles in the catalog
    words = Counter(word for book in catalog for word in set(re.findall(r"[a-z]+", book["title"].lower())))
    # When common words are counted
    # Then several titles share words that search tests can rely on
    assert words["the"] >= 10
    assert words["adventures"] >= 3
    assert words["war"] >= 3


def test_cover_path_is_the_served_svg_url() -> None:
    # Given a book id
    # When its cover path is built
    # Then it is the local stack's /covers URL for that id
    assert cover_path("pride-and-prejudice") == "/covers/pride-and-prejudice.svg"


def test_cover_svg_is_well_formed_svg_for_every_book(catalog: list[dict[str, Any]]) -> None:
    for book in catalog:
        # Given a catalog book
        # When its cover is generated
        svg = cover_svg(book["title"], book["author"], book["category"])
        # Then it parses as a 600x900 SVG document
        root = ET.fromstring(svg)  # noqa: S314 - our own generated markup
        assert root.tag == f"{SVG_NS}svg"
        assert root.get("viewBox") == "0 0 600 900"


def test_cover_svg_escapes_markup_in_title_and_author() -> None:
    # Given a title and author containing XML special characters
    title, author = "Pride & <Prejudice>", 'Jane "J" Austen & Co <Ltd>'
    # When a cover is generated
    svg = cover_svg(title, author, "Fiction")
    root = ET.fromstring(svg)  # noqa: S314 - our own generated markup
    # Then the text survives as text, not as injected elements
    text = " ".join("".join(node.itertext()) for node in root.iter(f"{SVG_NS}text"))
    assert "&" in text
    assert "<Prejudice>" in text
    assert "<Ltd>" in text
    assert "<Prejudice>" not in svg
    assert root.find(f".//{SVG_NS}Prejudice") is None


def test_cover_svg_is_deterministic_and_varies_by_title() -> None:
    # Given the same inputs twice, and a different title
    first = cover_svg("The Time Machine", "H. G. Wells", "Science Fiction")
    second = cover_svg("The Time Machine", "H. G. Wells", "Science Fiction")
    other = cover_svg("The Invisible Man", "H. G. Wells", "Science Fiction")
    # When the outputs are compared
    # Then identical inputs give identical covers and another title a different one
    assert first == second
    assert first != other


def test_cover_svg_handles_an_unknown_category_and_long_title() -> None:
    # Given a category outside the palette table and a very long title
    title = "The History of the Decline and Fall of the Roman Empire, Volume the Sixth and Last"
    # When a cover is generated
    svg = cover_svg(title, "Edward Gibbon", "Uncategorised")
    # Then it is still valid SVG that carries every word of the title
    root = ET.fromstring(svg)  # noqa: S314 - our own generated markup
    text = " ".join("".join(node.itertext()) for node in root.iter(f"{SVG_NS}text"))
    assert all(word in text for word in title.split())
