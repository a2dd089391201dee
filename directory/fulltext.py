"""What a user typed, turned into a safe full-text query for FTS5 or PostgreSQL tsquery.

User input never reaches either query language as syntax: it is cut into words (`\\w+`),
so quotes, operators (AND, OR, NOT, NEAR), `*`, `:`, `&`, `|`, `!` and parentheses are
only ever separators. Words are ANDed; the last one is a prefix ("répar" finds
"réparation"), as in a search-as-you-type box. French stop words are dropped, as
PostgreSQL's `french` configuration does, so "jardin de la gare" needs no "de" or "la".
"""

from __future__ import annotations

import unicodedata

from directory.text import fold, stem, words

MAX_WORDS = 12
MAX_WORD_LENGTH = 40

# The stop words of PostgreSQL's french.stop (Snowball's list), accents folded.
STOP_WORDS = frozenset(
    fold(w)
    for w in """
    au aux avec ce ces dans de des du elle en et eux il ils je la le les leur lui ma mais me
    meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te
    tes toi ton tu un une vos votre vous c d j l a m n s t y ete etee etees etes etant etante
    etants etantes suis es est sommes etes sont serai seras sera serons serez seront serais
    serait serions seriez seraient etais etait etions etiez etaient fus fut fumes futes furent
    sois soit soyons soyez soient fusse fusses fut fussions fussiez fussent ayant ayante
    ayantes ayants eu eue eues eus ai as avons avez ont aurai auras aura aurons aurez auront
    aurais aurait aurions auriez auraient avais avait avions aviez avaient eut eumes eutes
    eurent aie aies ait ayons ayez aient eusse eusses eussions eussiez eussent
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def query_words(text: str) -> list[str]:
    """The words of a query worth searching for: no stop words, bounded count and length."""
    normalised = unicodedata.normalize("NFKC", text[: MAX_WORDS * (MAX_WORD_LENGTH + 8)])
    parts = (p for w in words(normalised) for p in w.split("_") if p)
    kept = [w[:MAX_WORD_LENGTH] for w in parts if fold(w) not in STOP_WORDS]
    return kept[:MAX_WORDS]


def fts5_query(text: str) -> str:
    """An FTS5 MATCH expression: quoted folded stems ANDed, the last one a prefix; "" if none."""
    terms = [stem(w) for w in query_words(text)]
    terms = [t for t in terms if t]
    if not terms:
        return ""
    quoted = [f'"{t}"' for t in terms]  # stems are \w+ runs: they never contain a quote
    quoted[-1] += "*"
    return " AND ".join(quoted)


def tsquery_text(text: str) -> str:
    """Input for to_tsquery('maillage_fr', ...): words ANDed, the last one a prefix; "" if none.

    PostgreSQL stems and folds the words itself, with the same configuration that built
    the index; the words are `\\w+` runs, so they carry no tsquery syntax.
    """
    kept = query_words(text)
    if not kept:
        return ""
    return " & ".join([*kept[:-1], kept[-1] + ":*"])
