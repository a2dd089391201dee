"""Reading a large JSON document one record at a time (ijson, yajl2 C backend).

An import file may hold 50 MB; parsed whole it would take three times that in memory. The
file is read twice instead, both times streamed: `outline` checks the whole document (a
broken one fails before anything is written, with its line and column), counts the records
of its list and keeps its small top-level members; `items` then yields the records one by
one. Memory stays flat whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import ijson

from directory.imports.records import ParseError

BUFFER = 64 * 1024
_SCALARS = {"string", "number", "boolean", "null"}


class _Reader:
    """A binary file that remembers where its last chunk started, to place a parse error."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.start = 0  # offset of the last chunk in the file
        self.lines = 0  # newlines before the last chunk
        self.line_start = 0  # offset of the line the last chunk starts in
        self.chunk = b""

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        if chunk:  # at the end, keep the last chunk: a premature end is placed in it
            newlines = self.chunk.count(b"\n")
            if newlines:
                self.lines += newlines
                self.line_start = self.start + self.chunk.rfind(b"\n") + 1
            self.start += len(self.chunk)
            self.chunk = chunk
        return chunk

    def error(self, exc: Exception) -> ParseError:
        """A ParseError saying where the document breaks, in words and line:column."""
        if self.start == 0 and not self.chunk.strip():
            return ParseError("fichier vide : un document JSON est attendu")
        raw = exc.args[0] if exc.args else ""
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        reason = message.strip().split("\n", 1)[0].removeprefix("parse error: ")
        offset = self._offset(message)
        if offset is None:
            where = f"après l'octet {self.start}"
        else:
            before = self.chunk[:offset]
            line = self.lines + before.count(b"\n") + 1
            if b"\n" in before:
                column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
            else:  # the line began in an earlier chunk
                column = self.start - self.line_start + len(before.decode("utf-8", "replace")) + 1
            where = f"ligne {line}, colonne {column} (octet {self.start + offset + 1})"
        return ParseError(f"JSON illisible {where} : {reason}")

    def _offset(self, message: str) -> int | None:
        """The error's offset in the last chunk, from yajl's excerpt and its caret."""
        lines = message.split("\n")
        if len(lines) < 3 or "^" not in lines[2]:
            return None
        excerpt, caret = lines[1], lines[2].index("^")
        text = excerpt.lstrip(" ")
        if not text:  # premature end of the file: after its last byte
            return len(self.chunk.rstrip())
        # yajl prints newlines of the excerpt as spaces.
        flat = self.chunk.replace(b"\n", b" ").replace(b"\r", b" ")
        found = flat.find(text.encode("utf-8", "replace"))
        if found < 0:
            return None
        # yajl's caret stands just after the byte it could not take.
        offset = found + caret - (len(excerpt) - len(text)) - 1
        return max(0, min(len(self.chunk), offset))


@dataclass
class Outline:
    """What the first pass learnt: the document's shape, its list's length, small members."""

    top: str  # "array" or "object"
    items: int = 0  # elements of the records list (the array itself, or the list member)
    members: dict[str, Any] = field(default_factory=dict)  # top-level scalars
    lists: set[str] = field(default_factory=set)  # top-level members that are arrays
    prefix: str = "item"  # where ijson finds the records


def outline(file: IO[bytes], list_key: str) -> Outline:
    """Check the whole document and describe it; ParseError (with position) if broken.

    Records are the elements of a top-level array, or of the top-level member `list_key`.
    """
    reader = _Reader(file)
    found: Outline | None = None
    depth = 0
    key = ""
    try:
        for event, value in ijson.basic_parse(reader, buf_size=BUFFER, use_float=True):
            if event in ("start_map", "start_array"):
                if depth == 0:
                    found = Outline("object" if event == "start_map" else "array")
                elif depth == 1 and found is not None and found.top == "object":
                    if event == "start_array":
                        found.lists.add(key)
                elif depth == 1 or (depth == 2 and found is not None and key == list_key):
                    found.items += 1  # type: ignore[union-attr]
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            elif event == "map_key":
                if depth == 1:
                    key = value
            elif depth == 0:
                found = Outline("scalar")
            elif depth == 1 and found is not None:
                if found.top == "array":
                    found.items += 1
                else:
                    found.members[key] = value
            elif depth == 2 and found is not None and found.top == "object" and key == list_key:
                found.items += 1
    except ijson.JSONError as exc:
        raise reader.error(exc) from None
    except UnicodeDecodeError:
        raise ParseError("JSON illisible : le fichier n'est pas en UTF-8") from None
    if found is None:
        raise ParseError("fichier vide : un document JSON est attendu")
    if found.top == "object":
        if list_key not in found.lists:
            found.items = 0
        found.prefix = f"{list_key}.item"
    return found


def items(file: IO[bytes], prefix: str) -> Iterator[Any]:
    """The elements under `prefix`, one parsed object at a time."""
    reader = _Reader(file)
    try:
        yield from ijson.items(reader, prefix, buf_size=BUFFER, use_float=True)
    except ijson.JSONError as exc:  # the file changed since `outline` checked it
        raise reader.error(exc) from None
