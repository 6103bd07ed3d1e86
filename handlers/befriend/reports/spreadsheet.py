"""CSV that is safe to open in a spreadsheet.

A spreadsheet runs a text cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage
return) as a formula: CSV injection. Such text cells get a leading apostrophe, which the
spreadsheet shows as plain text. Numbers are written as numbers, negative ones included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Value = str | int | float | None


def cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}" if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[Value], rows: Iterable[Sequence[Value]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def csv_lines(rows: Iterable[Sequence[Value]]) -> str:
    """Rows as `csv_text` writes them, without its header line (a file written in parts)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
