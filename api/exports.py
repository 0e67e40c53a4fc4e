"""CSV and NDJSON encoding for exports, safe to open in spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import msgspec

__all__ = ["csv_bytes", "csv_lines", "ndjson_lines"]

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formula injection in text cells (OWASP: prefix with ``'``)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
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
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow([_cell(row.get(c)) for c in columns])
        yield buf.getvalue().encode()


def csv_bytes(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(csv_lines(columns, rows))


def ndjson_lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    enc = msgspec.json.Encoder()
    for row in rows:
        yield enc.encode(row) + b"\n"
