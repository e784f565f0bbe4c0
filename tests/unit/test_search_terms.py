"""Phase 1 search terms: prefixes, normalization, ranking."""

# Titles in other scripts hold letters that look like Latin ones (е, р, σ): that is the point.
# ruff: noqa: RUF003

from __future__ import annotations

from pathlib import Path

from cloudshelf.domain import search_terms
from cloudshelf.domain.search_terms import index_terms, normalize, query_terms, query_words, score, title_key, words

MIGRATIONS = Path(search_terms.__file__).parents[1] / "repositories" / "postgres" / "migrations"


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


def test_latin_accents_fold_and_sharp_s_is_ss() -> None:
    # Given French and German titles / When normalized / Then accents go, ß reads as "ss"
    assert normalize("Café Ünïcode") == "cafe unicode"
    assert words("Über die Brücke") == ["uber", "die", "brucke"]
    assert words("Straße") == words("STRASSE") == words("strasse") == ["strasse"]
    assert words("ẞ") == ["ss"]


def test_cyrillic_words_keep_their_letters_and_fold_yo() -> None:
    # Given a Russian title / When split / Then its words are found; й stays a letter, ё reads as е
    assert words("Война и мир") == ["война", "мир"]
    assert words("ВОЙНА") == ["война"]
    assert words("Ёлка") == ["елка"]
    assert query_words("войн") == ["войн"]
    assert score(query_words("войн мир"), "Война и мир", "Лев Толстой") is not None
    assert score(query_words("толстой"), "Война и мир", "Лев Толстой") is not None
    assert {"во", "вой", "война", "ми", "мир", "то", "толстой"} <= index_terms("Война и мир", "Лев Толстой")


def test_cjk_is_indexed_by_characters_and_pairs() -> None:
    # Given a Japanese title (no spaces) / When indexed / Then every character and adjacent pair is a term
    assert words("吾輩は猫である") == [
        "吾", "吾輩", "輩", "輩は", "は", "は猫", "猫", "猫で", "で", "であ", "あ", "ある", "る",
    ]  # fmt: skip
    assert {"猫", "吾輩", "吾"} <= index_terms("吾輩は猫である", "夏目漱石")
    # And a query is its character (one) or its pairs (several), each a word
    assert query_words("猫") == ["猫"]
    assert query_words("吾輩") == ["吾輩"]
    assert query_words("猫である") == ["猫で", "であ", "ある"]
    assert score(query_words("猫"), "吾輩は猫である", "夏目漱石") is not None
    assert score(query_words("吾輩"), "吾輩は猫である", "夏目漱石") is not None
    assert score(query_words("夏目"), "吾輩は猫である", "夏目漱石") is not None
    assert score(query_words("犬"), "吾輩は猫である", "夏目漱石") is None
    assert score(query_words("猫輩"), "吾輩は猫である", "夏目漱石") is None  # both there, not side by side
    # And kana keep their voicing marks (が is not か); half-width kana read as full-width
    assert normalize("がっこう") == "がっこう"
    assert normalize("ｶﾞｯｺｳ") == "ガッコウ"
    # And a CJK run next to Latin letters splits from them
    assert words("ハリー・ポッターと賢者の石 Vol2")[-1] == "vol2"


def test_other_scripts_keep_whole_words() -> None:
    # Given words whose letters carry non-Latin marks / When split / Then each stays one word
    assert words("हिन्दी किताब") == ["हिन्दी", "किताब"]
    assert words("Ἰλιάς") == words("ΙΛΙΑΣ") == ["ιλιασ"]  # final sigma reads as σ
    assert words("snake_case") == ["snake", "case"]


def test_title_key_for_non_ascii_titles() -> None:
    # Given titles in several scripts / When keyed / Then their words are kept, folded like search
    assert title_key("Война и мир") == "война и мир"
    assert title_key("吾輩は猫である") == "吾輩は猫である"
    assert title_key("The Café Ünïcode") == "cafe unicode"
    assert title_key("Straße") == "strasse"
    # And a title without letters or digits still has a key (cursors refuse an empty one)
    assert title_key("★") == "★"
    assert title_key("!!!") == "!!!"


def test_query_terms_carry_no_search_syntax() -> None:
    # Given hostile text / When split for phase 2 / Then only letters, digits and marks remain
    assert query_terms("a & b | !c (d) e:* 'f' <-> \\g\x00h") == ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert query_terms("吾輩は 猫") == ["吾輩", "輩は", "猫"]
    assert query_terms("war war peace") == ["war", "peace"]


def test_phase_2_folds_with_the_same_patterns() -> None:
    # Given the SQL function of migration 0002 / Then it strips the same accents and spaces the same CJK
    sql = (MIGRATIONS / "0002_unicode_search.sql").read_text()
    assert search_terms.ACCENTS in sql
    assert search_terms.CJK in sql
