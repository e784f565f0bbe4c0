"""Phase 1 search terms: prefixes, normalization, ranking."""

from __future__ import annotations

from cloudshelf.domain.search_terms import index_terms, normalize, query_words, score, title_key, words


def test_normalize_folds_case_accents_and_apostrophes() -> None:
    # Given text with accents and an apostrophe / When normalized / Then plain lower case
    assert normalize("Les Misérables") == "les miserables"
    assert words("Alice's Adventures") == ["alices", "adventures"]


def test_index_terms_hold_every_prefix_of_title_and_author_words() -> None:
    # Given a book / When indexed / Then every prefix of 2+ characters is a term
    terms = index_terms("War and Peace", "Leo Tolstoy")
    assert {"wa", "war", "an", "and", "pe", "peace", "le", "leo", "to", "tolstoy"} <= terms
    assert "w" not in terms
    assert "warandpeace" not in terms


def test_query_words_are_distinct_and_most_selective_first() -> None:
    # Given a query with repeats / When split / Then distinct words, longest first
    assert query_words("the time the machine") == ["machine", "time", "the"]
    assert query_words("  !! ") == []


def test_score_requires_every_word_and_prefers_title_matches() -> None:
    # Given a query / When scored against books / Then all words must match, title beats author
    assert score(["time"], "The Time Machine", "H. G. Wells") is not None
    assert score(["time", "verne"], "The Time Machine", "H. G. Wells") is None
    by_title = score(["wells"], "Wells of Time", "Somebody")
    by_author = score(["wells"], "The Time Machine", "H. G. Wells")
    assert by_title is not None
    assert by_author is not None
    assert by_title > by_author
    assert score(["mach"], "The Time Machine", "H. G. Wells") is not None


def test_title_key_sorts_without_leading_article() -> None:
    # Given titles with articles / When keyed / Then the article is ignored
    assert title_key("The Time Machine") == "time machine"
    assert title_key("A Tale of Two Cities") == "tale of two cities"
    assert title_key("Anna Karenina") == "anna karenina"
