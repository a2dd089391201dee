"""Text normalisation shared by search and duplicate detection: accent folding, stemming."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"\w+", re.UNICODE)
_stemmer = snowballstemmer.stemmer("french")


def fold(text: str) -> str:
    """Lower-case and strip accents: "Réparation" -> "reparation"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def stem(word: str) -> str:
    """The French stem of one word, accents folded after stemming.

    A number is its own stem, and stays out of the cache: street numbers, postal codes
    and years, as many as the records of an import, would crowd out the words."""
    if word.isascii() and word.isdigit():
        return word
    return _stem_word(word)


@lru_cache(maxsize=65536)
def _stem_word(word: str) -> str:
    return fold(_stemmer.stemWord(word.casefold()))


def stemmed(text: str) -> str:
    """The text as a space-separated list of folded French stems (what FTS5 indexes)."""
    return " ".join(stem(w) for w in words(text))


def slugify(text: str, max_length: int = 80) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return slug[:max_length].strip("-") or "initiative"
