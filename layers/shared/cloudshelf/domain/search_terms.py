"""Words of catalog search in any script, the same in both phases.

Phase 1 indexes the prefixes of ``words()`` in DynamoDB; phase 2's ``search`` column is
built by the SQL function ``cloudshelf_search_text`` (migration 0002), which applies the
same folding: NFKD, combining accents removed (except a breve or diaeresis on a Cyrillic
letter: й, ў, ї stay letters; ё loses its dots), lower case, ß as "ss", apostrophes dropped,
and CJK characters spaced out, each also paired with the next one. The patterns below
appear verbatim in that migration; a test keeps them equal.

A word is a run of letters, digits and combining marks of any script. Scripts written
without spaces (Han, kana) have no words to split on, so every CJK character is a term
of its own and so is every pair of adjacent ones: a query of one character looks for
that character, a longer run for each of its pairs ("吾輩" finds "吾輩は猫である").
"""

from __future__ import annotations

import re
import unicodedata

MIN_TERM = 2  # shortest indexed word of a spaced script; a CJK character is a term by itself
MAX_TERM = 15
MAX_QUERY_WORDS = 8

# Accents to remove after NFKD: Latin, Greek and Cyrillic diacritics, Hebrew points, Arabic
# harakat and tatweel. A breve or diaeresis stays on a Cyrillic letter (й, ў, ї, ё).
ACCENTS = (
    r"(?<![\u0400-\u052f])[\u0306\u0308]"
    r"|[\u0300-\u0305\u0307\u0309-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
    r"\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    r"\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
# Letters of scripts written without spaces: CJK ideographs, kana and their iteration marks.
CJK = (
    r"[\u3005-\u3007\u3021-\u3029\u3031-\u3035\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff"
    r"\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af]"
)
_ACCENTS = re.compile(ACCENTS)
_CJK_RUN = re.compile(f"({CJK}+)")
_ALNUM = re.compile(r"[^\W_]+")  # letters and digits of any script; marks are joined in by _runs()
# Casefold already maps ß to "ss" and final sigma to sigma (the SQL function does both itself).
_FOLD = str.maketrans({"\u0451": "\u0435", "'": None, "\u2019": None})  # ё loses its dots


def normalize(text: str) -> str:
    """Lower case, accents removed, apostrophes dropped ("Alice's" -> "alices", "Straße" -> "strasse")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", _ACCENTS.sub("", decomposed)).translate(_FOLD)


def _runs(text: str) -> list[str]:
    """The runs of word characters of normalized ``text``: letters and digits with their marks."""
    runs: list[str] = []
    end = 0
    for match in _ALNUM.finditer(text):
        gap = text[end : match.start()]
        marks = _leading_marks(gap)
        if runs and marks == len(gap):  # only marks between: one word (हिन्दी)
            runs[-1] += gap + match.group()
        else:
            if runs:
                runs[-1] += gap[:marks]
            runs.append(match.group())
        end = match.end()
    if runs:
        runs[-1] += text[end : end + _leading_marks(text[end:])]
    return runs


def _leading_marks(text: str) -> int:
    """How many characters at the start of ``text`` are combining marks."""
    count = 0
    for char in text:
        if unicodedata.category(char)[0] != "M":
            break
        count += 1
    return count


def _pieces(text: str) -> list[tuple[str, bool]]:
    """The words of ``text`` in order, CJK runs apart from the rest, as (piece, is_cjk)."""
    pieces: list[tuple[str, bool]] = []
    for run in _runs(normalize(text)):
        pieces += [(p, bool(i % 2)) for i, p in enumerate(_CJK_RUN.split(run)) if p]
    return pieces


def _cjk_terms(run: str) -> list[str]:
    """Every character of a CJK run, each followed by its pair with the next one."""
    grams: list[str] = []
    for i, char in enumerate(run):
        grams.append(char)
        if i + 1 < len(run):
            grams.append(run[i : i + 2])
    return grams


def terms(text: str) -> list[str]:
    """Every term of ``text`` in order, whatever its length: what phase 2 indexes."""
    out: list[str] = []
    for piece, cjk in _pieces(text):
        out += _cjk_terms(piece) if cjk else [piece]
    return out


def words(text: str) -> list[str]:
    """The searchable words of ``text`` in order: words of MIN_TERM+ characters (cut to MAX_TERM),
    and every CJK character and pair of adjacent CJK characters."""
    out: list[str] = []
    for piece, cjk in _pieces(text):
        if cjk:
            out += _cjk_terms(piece)
        elif len(piece) >= MIN_TERM:
            out.append(piece[:MAX_TERM])
    return out


def index_terms(title: str, author: str) -> set[str]:
    """Every prefix (MIN_TERM..MAX_TERM characters) of every word of title and author, and
    every CJK term (one or two characters).

    Searching for any prefix of a word is then a single key lookup.
    """
    found: set[str] = set()
    for word in words(f"{title} {author}"):
        found.add(word)
        found.update(word[:k] for k in range(MIN_TERM, len(word)))
    return found


def _query_terms(query: str, min_length: int, max_length: int | None) -> list[str]:
    found: list[str] = []
    for piece, cjk in _pieces(query):
        if cjk:  # one character looks for itself, a run for each of its pairs
            found += [piece] if len(piece) == 1 else [piece[i : i + 2] for i in range(len(piece) - 1)]
        elif len(piece) >= min_length:
            found.append(piece[:max_length])
    return list(dict.fromkeys(found[:MAX_QUERY_WORDS]))


def query_words(query: str) -> list[str]:
    """The distinct words of a shopper's query, longest (most selective) first."""
    return sorted(_query_terms(query, MIN_TERM, MAX_TERM), key=len, reverse=True)


def query_terms(query: str) -> list[str]:
    """The distinct terms of a shopper's query in order, any length, uncut: what phase 2 looks for.

    Each is letters, digits and marks only, never a tsquery operator, quote, colon or NUL.
    """
    return _query_terms(query, 1, None)


def title_key(title: str) -> str:
    """Sort key for listing by title: normalized words, leading English article dropped.

    Never empty (a title without letters or digits keys by itself, folded), as cursors carry it.
    Both stores compare keys by code point: Latin, then Greek, Cyrillic, ..., CJK.
    """
    text = " ".join(_runs(normalize(title)))
    for article in ("the ", "a ", "an "):
        if text.startswith(article):
            text = text[len(article) :]
            break
    return (text or normalize(title).strip() or title)[:100]


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
