"""CSV and NDJSON encoding for exports, safe to open in spreadsheets.

Only free-text columns (:data:`TEXT_COLUMNS`: what people typed) are guarded against formula
injection; identifiers are written as they are, so an exported voter id such as
``-9x1X5iAwIY9ejLU`` can be pasted back into the API (e.g. to void that voter).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import msgspec

__all__ = ["TEXT_COLUMNS", "csv_bytes", "csv_lines", "ndjson_lines"]

_FORMULA = ("=", "+", "-", "@", "\t", "\r")

TEXT_COLUMNS = frozenset({"text", "reason", "group", "name", "question", "description"})
"""Columns holding text people typed: the only ones a spreadsheet must not run as formulas."""


def _cell(value: Any, text: bool) -> Any:
    """A CSV cell; in a text column a leading formula character is neutralised (OWASP:
    prefix with ``'``)."""
    if value is None:
        return ""
    if text and isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    if isinstance(value, list | dict):
        return msgspec.json.encode(value).decode()
    return value


def csv_lines(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """The header line, then one encoded line per row (missing keys are empty cells)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    yield buf.getvalue().encode()
    text = [c in TEXT_COLUMNS for c in columns]
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow([_cell(row.get(c), t) for c, t in zip(columns, text, strict=True)])
        yield buf.getvalue().encode()


def csv_bytes(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(csv_lines(columns, rows))


def ndjson_lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    enc = msgspec.json.Encoder()
    for row in rows:
        yield enc.encode(row) + b"\n"
