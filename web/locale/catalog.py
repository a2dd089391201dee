"""Extract the French messages of the code and templates, refresh the catalogs, list the gaps.

Usage (from the repository root):
    python -m web.locale.catalog            extract (babel.cfg), write messages.pot, update the
                                            fr and en catalogs, list the English messages that
                                            still have no translation (exit 1 if any)
    python -m web.locale.catalog --check    the same check, writing nothing

French is the source language (msgids); the English catalog must translate every message.
tests/web/test_catalog.py runs the same check, so the catalog cannot fall behind.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

LOCALE_DIR = Path(__file__).parent
ROOT = LOCALE_DIR.parents[1]
POT = LOCALE_DIR / "messages.pot"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
# Line widths as the files were first written (pybabel's default; web/locale/translate.py's).
WIDTHS = {"en": 100}


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def extract(root: Path = ROOT) -> Catalog:
    """Every message marked in the files babel.cfg names (Python `_`, `gettext`, `N_`...)."""
    with (root / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    template = Catalog(fuzzy=False)
    found = extract_from_dir(
        str(root),
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=lambda path: not Path(path).name.startswith((".", "node_modules")),
    )
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def read_catalog(lang: str) -> Catalog:
    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang)


def _translated(message: Message | None) -> bool:
    if message is None or message.fuzzy:
        return False
    if isinstance(message.string, tuple | list):
        return all(message.string)
    return bool(message.string)


def untranslated(template: Catalog, catalog: Catalog) -> list[str]:
    """The msgids of `template` that `catalog` does not translate (or only fuzzily)."""
    return [
        message.id if isinstance(message.id, str) else message.id[0]
        for message in template
        if message.id and not _translated(catalog.get(message.id, message.context))
    ]


def format_errors(catalog: Catalog) -> Iterator[str]:
    """Translations whose placeholders do not match their msgid, and catalogs that will not
    compile (what web/i18n.py does in memory at the first page)."""
    for message, errors in catalog.check():
        for error in errors:
            yield f"{message.id!r}: {error}"
    write_mo(io.BytesIO(), catalog)


def refresh(template: Catalog) -> None:
    """Write messages.pot and bring every language's catalog in line with it."""
    with POT.open("wb") as handle:
        write_po(handle, template, omit_header=True, no_location=True)
    for lang_dir in sorted(p for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir()):
        catalog = read_catalog(lang_dir.name)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        # A message that comes back (moved, or re-added by a branch) gets its old translation.
        for key, old in list(catalog.obsolete.items()):
            current = catalog.get(old.id, old.context)
            if current is not None and not _translated(current) and _translated(old):
                current.string = old.string
                del catalog.obsolete[key]
        with po_path(lang_dir.name).open("wb") as handle:
            write_po(handle, catalog, width=WIDTHS.get(lang_dir.name, 76), no_location=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.locale.catalog", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing, only report")
    args = parser.parse_args(argv)
    template = extract()
    if not args.check:
        refresh(template)
    english = read_catalog("en")
    problems = [f"untranslated: {msgid}" for msgid in untranslated(template, english)]
    problems += [f"wrong placeholders: {error}" for error in format_errors(english)]
    for line in problems:
        print(line)
    print(f"{len(template)} messages, {len(problems)} problem(s) in the English catalog")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
