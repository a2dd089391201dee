"""One translation mechanism for pages and messages: Babel catalogs, French first.

Catalogs live in web/locale/<lang>/LC_MESSAGES/messages.po with French msgids; they are
compiled in memory when the first page is rendered (no build step, nothing generated in the
repository). `python -m web.locale.catalog` (web/locale/catalog.py) extracts the messages,
refreshes the catalogs and lists the English ones still untranslated after a change.

The language of a request: `?lang=` (which also sets the `lang` cookie), then the `lang`
cookie, then Accept-Language, then the instance's default language.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

from directory import messages

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("fr", "en")
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
COOKIE = "lang"

_current: ContextVar[str] = ContextVar("maillage_lang", default="fr")


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalog of a language (French msgids: French needs no catalog entries)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang not in LANGUAGES or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def parse_accept_language(header: str) -> list[str]:
    """Primary language tags of an Accept-Language header, best first."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(request: Request, default: str = "fr") -> str:
    """The language to answer in: parameter, cookie, Accept-Language, default."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    for tag in parse_accept_language(request.headers.get("accept-language", "")):
        if tag in LANGUAGES:
            return tag
    return default if default in LANGUAGES else "fr"


def set_language(lang: str) -> None:
    """Make `lang` the language of the code running for this request."""
    _current.set(lang if lang in LANGUAGES else "fr")


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    """Translate a French message into the current request's language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def translate(message: str) -> str:
    """A French message of the code or of the domain in the current language: a
    directory.messages.Message is looked up by its template, then filled in again."""
    if isinstance(message, messages.Message):
        return gettext(message.template) % message.params
    return gettext(message) if message else message


def api_language(request: Request) -> str:
    """The language of a JSON API answer: Accept-Language, French by default (no cookie,
    no `?lang=`: machines say what they want in the header)."""
    for tag in parse_accept_language(request.headers.get("accept-language", "")):
        if tag in LANGUAGES:
            return tag
    return "fr"


def lazy_language(request: Request) -> str:
    """Choose the request's language, make it current, and return it."""
    settings = request.app.state.settings
    lang = choose_language(request, settings.default_language)
    set_language(lang)
    return lang


# Mark a French message for the catalog where it is translated later (tables, labels,
# errors); with parameters it keeps them for `translate()` (directory/messages.py).
N_ = messages.N_
