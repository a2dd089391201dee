"""Fill the English catalog from a table of translations (a maintainer's helper, not run at start).

Usage: python -m web.locale.translate TABLE.py   (TABLE.py defines EN = {msgid: msgstr})
Messages already translated in messages.po are kept unless the table says otherwise.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).parent / "en" / "LC_MESSAGES" / "messages.po"


def main(table_path: str) -> int:
    table = runpy.run_path(table_path)["EN"]
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        if message.id in table:
            message.string = table[message.id]
        elif not message.string or (isinstance(message.string, tuple) and not all(message.string)):
            missing.append(message.id)
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False)
    for msgid in missing:
        print("untranslated:", msgid)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
