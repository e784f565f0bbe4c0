"""Words and prefixes for catalog search where the store has no full-text index (phase 1)."""

from __future__ import annotations

import re
import unicodedata

MIN_TERM = 2
MAX_TERM = 15
MAX_QUERY_WORDS = 8
_WORD = re.compile(r"[a-z0-9]+")


def normalize(text: str) -> str:
    """Lower case, accents removed, apostrophes dropped ("Alice's" -> "alices")."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in folded if not unicodedata.combining(c))
    return stripped.replace("'", "").replace("\u2019", "")


def words(text: str) -> list[str]:
    """The searchable words of ``text`` in order, each at least MIN_TERM characters."""
    return [w[:MAX_TERM] for w in _WORD.findall(normalize(text)) if len(w) >= MIN_TERM]


def index_terms(title: str, author: str) -> set[str]:
    """Every prefix (MIN_TERM..MAX_TERM characters) of every word of title and author.

    Searching for any prefix of a word is then a single key lookup.
    """
    terms: set[str] = set()
    for word in words(f"{title} {author}"):
        terms.update(word[:k] for k in range(MIN_TERM, len(word) + 1))
    return terms


def query_words(query: str) -> list[str]:
    """The distinct words of a shopper's query, longest (most selective) first."""
    unique = dict.fromkeys(words(query)[:MAX_QUERY_WORDS])
    return sorted(unique, key=len, reverse=True)


def title_key(title: str) -> str:
    """Sort key for listing by title: normalized, leading article dropped."""
    text = " ".join(_WORD.findall(normalize(title)))
    for article in ("the ", "a ", "an "):
        if text.startswith(article):
            text = text[len(article) :]
            break
    return text[:100]


def score(query: list[str], title: str, author: str) -> int | None:
    """Relevance of a book for the query words, or None if some word does not match.

    A word matching the start of a title word counts 3, of an author word 2; an exact
    word counts one more.
    """
    title_words, author_words = words(title), words(author)
    total = 0
    for q in query:
        best = 0
        for candidates, weight in ((title_words, 3), (author_words, 2)):
            for w in candidates:
                if w.startswith(q):
                    best = max(best, weight + (1 if w == q else 0))
        if best == 0:
            return None
        total += best
    return total
