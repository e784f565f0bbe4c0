"""Deterministic SVG book covers for the local developer stack.

Every cover is derived only from the book's title, author and category, so the
same book always gets the same cover. No fonts, images or network are needed:
the SVG uses generic font families and plain geometry.
"""

from __future__ import annotations

import hashlib
import math
import textwrap
from xml.sax.saxutils import escape  # nosec B406 - escapes text for SVG output; parses no XML

WIDTH, HEIGHT = 600, 900
SERIF = "Georgia, 'Times New Roman', serif"

# Per category, colour triples "background accent paper"; the title hash picks one.
PALETTES: dict[str, list[str]] = {
    "Fiction": ["#7b2d26 #e9c46a #fbf3e4", "#5c3d6e #f2c1a0 #f8f1ea", "#8a4b2a #f4d58d #fdf6e8"],
    "Science Fiction": ["#14213d #4cc9f0 #eef6fb", "#1b1b3a #b388ff #f1eefc", "#0b3c49 #7ae7c7 #ecfaf6"],
    "Mystery": ["#1f2a2e #c9a227 #f3efe2", "#2b2d42 #ef233c #f4f1ec", "#283618 #dda15e #f6f1e4"],
    "Adventure": ["#1d5c4d #f4a261 #fbf4e6", "#264653 #e9c46a #f7f3e8", "#6b3e26 #ffd166 #fdf5e2"],
    "Poetry": ["#6d597a #eaac8b #fbf2ee", "#355070 #e56b6f #f7eff0", "#4a4e69 #f2e9e4 #faf7f5"],
    "Philosophy": ["#3d405b #e07a5f #f4f1de", "#2f3e46 #cad2c5 #f3f5f2", "#463f3a #e0afa0 #f4f3ee"],
    "History": ["#582f0e #b6ad90 #f5f0e1", "#6f1d1b #bb9457 #f8f1e5", "#33415c #c9ada7 #f2eeea"],
    "Children": ["#ef476f #ffd166 #fffaf0", "#118ab2 #ffd166 #f4fbff", "#06a77d #f7b801 #f6fff9"],
}
DEFAULT_PALETTE = ["#3a3a3a #d4a373 #f6f1e9"]


def cover_path(book_id: str) -> str:
    """Return the URL path the local stack serves a book's cover at."""
    return f"/covers/{book_id}.svg"


def _pattern(kind: int, pid: str, accent: str) -> str:
    """One of three background patterns (stripes, dots, rings) as an SVG <pattern>."""
    shapes = [
        f'<path d="M0 40 L40 0" stroke="{accent}" stroke-width="6"/>',
        f'<circle cx="20" cy="20" r="5" fill="{accent}"/>',
        f'<circle cx="20" cy="20" r="13" fill="none" stroke="{accent}" stroke-width="3"/>',
    ]
    return f'<pattern id="{pid}" width="40" height="40" patternUnits="userSpaceOnUse">{shapes[kind]}</pattern>'


def _em_width(text: str) -> float:
    """Rough width of ``text`` in ems for a bold serif face (narrow, wide and capital letters)."""
    return sum(0.4 if c in " .,;:'-!ilIjft" else 0.88 if c.isupper() or c in "mw" else 0.68 for c in text)


def _wrap_title(title: str) -> tuple[list[str], int]:
    """Wrap the title (at spaces and hyphens only), choosing the line count that allows the largest font."""
    best: tuple[int, list[str]] = (0, [title])
    for width in range(6, 40, 2):
        lines = textwrap.wrap(title, width, break_long_words=False) or [""]
        widest = max(_em_width(line) for line in lines)
        size = int(min(76, 390 / max(widest, 1), 330 / (1.2 * len(lines))))
        if size > best[0]:
            best = (size, lines)
    return best[1], best[0]


def _text_lines(lines: list[str], y_centre: float, size: int, colour: str, weight: str = "bold") -> str:
    """Centre-aligned <text> elements for ``lines`` around ``y_centre`` (XML-escaped)."""
    step = size * 1.2
    first = y_centre - step * (len(lines) - 1) / 2 + size * 0.35
    return "".join(
        f'<text x="{WIDTH // 2}" y="{first + i * step:.1f}" font-size="{size}" fill="{colour}" '
        f'text-anchor="middle" font-family="{SERIF}" font-weight="{weight}">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )


def cover_svg(title: str, author: str, category: str) -> str:
    """Return a 600x900 SVG cover for a book.

    The palette comes from the category, the colour variant, pattern and ornament
    from a SHA-256 hash of the title, so the output is fully deterministic.
    """
    digest = hashlib.sha256(title.encode("utf-8")).hexdigest()
    seed = int(digest[:16], 16)
    palette = PALETTES.get(category, DEFAULT_PALETTE)
    bg, accent, paper = palette[seed % len(palette)].split()
    pid = "p" + hashlib.sha256(f"{title}|{category}".encode()).hexdigest()[:10]  # unique if inlined together
    lines, size = _wrap_title(title)
    author_size = int(min(34, 420 / max(_em_width(author) * 0.9, 1)))
    sides = 4 + (seed >> 8) % 3  # ornament: square, pentagon or hexagon
    angles = [math.radians(360 * k / sides - 90) for k in range(sides)]
    ornament = " ".join(f"{WIDTH / 2 + 22 * math.cos(a):.1f},{640 + 22 * math.sin(a):.1f}" for a in angles)
    label = escape(category.upper())
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">'
        f"<defs>{_pattern((seed >> 4) % 3, pid, accent)}</defs>"
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{bg}"/>'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#{pid})" opacity="0.18"/>'
        f'<rect x="28" y="28" width="544" height="844" fill="none" stroke="{accent}" stroke-width="3"/>'
        f'<rect x="40" y="40" width="520" height="820" fill="none" stroke="{accent}" stroke-width="1" opacity="0.6"/>'
        f'<text x="{WIDTH // 2}" y="110" font-size="22" fill="{accent}" text-anchor="middle" '
        f'font-family="{SERIF}" letter-spacing="6">{label}</text>'
        f'<rect x="70" y="170" width="460" height="400" rx="6" fill="{paper}"/>'
        f'<rect x="82" y="182" width="436" height="376" rx="4" fill="none" stroke="{bg}" stroke-width="2"/>'
        f"{_text_lines(lines, 370, size, bg)}"
        f'<line x1="140" y1="640" x2="255" y2="640" stroke="{accent}" stroke-width="3"/>'
        f'<line x1="345" y1="640" x2="460" y2="640" stroke="{accent}" stroke-width="3"/>'
        f'<polygon points="{ornament}" fill="none" stroke="{accent}" stroke-width="3"/>'
        f'<circle cx="{WIDTH // 2}" cy="640" r="6" fill="{accent}"/>'
        f"{_text_lines([author], 770, author_size, paper, 'normal')}"
        "</svg>"
    )
