"""Import existing contacts from CSV, and export people as CSV or JSON lines.

The rules of an import are the core's (`core/imports.py`); here the file is read, each
address is checked against the table (already here, or erased and suppressed) and each
person is written by the one writer (`Writer.create`) in one transaction with their first
ledger entry and what they count for in the reports. Export reads every person (a scan,
an operator's command) a page at a time and writes each page as it comes.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from befriend.core.imports import (
    Rejected,
    ignored_columns,
    imported,
    missing_columns,
    read_row,
    row_email,
)
from befriend.core.person import Person, iso, permission_cell
from befriend.core.playbook import Playbook
from befriend.credentials.pseudonyms import Pseudonyms, email_key
from befriend.reports.spreadsheet import Value, cell
from befriend.store import Store
from befriend.writer.apply import Writer

FORMATS = ("csv", "jsonl")
FIRST_ROW = 2  # line 1 is the header: row numbers are the lines a spreadsheet shows


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unreadable, or no `email` column)."""


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    with_permissions: int = 0  # imported with the permissions their evidence supports
    dropped: int = 0  # listed permissions but carried no consent evidence: none granted
    exists: int = 0  # the address is here already: skipped, nothing changed
    rejected: list[Rejected] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def read_import_file(path: Path) -> list[dict[str, str | None]]:
    """Every row of a CSV file with a header line (UTF-8, a spreadsheet's BOM allowed)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ImportFileError(f"{path}: cannot read it ({reason})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = missing_columns(header)
    if missing:
        raise ImportFileError(f"{path}: no {', '.join(missing)} column in the header line")
    reader.fieldnames = header
    return [dict(row) for row in reader]


def import_people(
    store: Store,
    playbook: Playbook,
    pseudonyms: Pseudonyms,
    rows: Sequence[Mapping[str, str | None]],
    file_source: str,
    now: datetime,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    """Import each row that can be; re-importing the same rows changes nothing. Each person
    is written by the one writer, with what they count for in the reports; an import puts
    nothing on the bus."""
    run = _Import(Writer(store, playbook, None, lambda: now), pseudonyms, file_source, now)
    report = run.report
    report.rows = len(rows)
    if rows:
        report.ignored_columns = ignored_columns([c for c in rows[0] if c is not None])
    for line, raw in enumerate(rows, start=FIRST_ROW):
        try:
            run.row(line, raw)
        except Rejected as rejected:
            report.rejected.append(rejected)
        progress(1)
    return report


@dataclass
class _Import:
    writer: Writer
    pseudonyms: Pseudonyms
    file_source: str
    now: datetime
    report: ImportReport = field(default_factory=ImportReport)
    seen: dict[str, int] = field(default_factory=dict)  # address key -> its first line

    def row(self, line: int, raw: Mapping[str, str | None]) -> None:
        if None in raw:
            raise Rejected(line, "more cells than the header has columns")
        key = email_key(row_email(line, raw))
        if key in self.seen:
            # Whichever of two rows is right, the operator must say: neither is guessed.
            raise Rejected(line, f"duplicate: the same address as line {self.seen[key]}")
        self.seen[key] = line
        store, playbook, report = self.writer.store, self.writer.playbook, self.report
        row = read_row(line, raw, playbook, self.now)
        if store.suppressed(self.pseudonyms.suppression(row.email)):
            raise Rejected(line, "suppressed: this address was erased at the person's request")
        if store.email_claim(key, self.now) is not None:
            report.exists += 1
            return
        person_id = uuid.uuid4().hex
        outcome = imported(row, person_id, self.file_source, self.now, playbook)
        if self.writer.create(outcome, key) is None:  # claimed between the check and the write
            report.exists += 1
            return
        report.imported += 1
        if row.granted:
            report.with_permissions += 1
        elif row.permissions:
            report.dropped += 1


# --- export ---


def csv_header(playbook: Playbook) -> list[str]:
    header = ["id", "email", "name", "stage", "circle", "created_at", "confirmed_at", "interests"]
    for channel, purpose in playbook.grid():
        pair = f"{channel}:{purpose}"
        header += [pair, f"{pair} since", f"{pair} source"]
    return header


def csv_row(person: Person, playbook: Playbook) -> list[Value]:
    rel = person.relationship
    row: list[Value] = [
        person.id,
        person.email,
        person.name,
        rel.stage,
        rel.circle,
        iso(person.created_at),
        iso(person.confirmed_at),
        ";".join(t for t in playbook.topics if t in person.interests),
    ]
    for pair in playbook.grid():
        shown = permission_cell(person, pair)
        row += [shown["state"], shown["since"], shown["source"]]
    return row


def json_record(person: Person, playbook: Playbook) -> dict[str, Any]:
    rel = person.relationship
    return {
        "id": person.id,
        "email": person.email,
        "name": person.name,
        "stage": rel.stage,
        "circle": rel.circle,
        "created_at": iso(person.created_at),
        "confirmed_at": iso(person.confirmed_at),
        "interests": [t for t in playbook.topics if t in person.interests],
        "permissions": [permission_cell(person, pair) for pair in playbook.grid()],
    }


def export_chunks(
    pages: Iterable[list[Person]],
    playbook: Playbook,
    fmt: str,
    progress: Callable[[int], None] = lambda _n: None,
) -> Iterator[str]:
    """The export, one chunk of text per page of people read. Only confirmed people are
    exported: a pending sign-up has agreed to nothing yet and lapses on its own."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    if fmt == "csv":
        yield _csv_lines([csv_header(playbook)])
    for page in pages:
        people = [p for p in page if p.status == "active"]
        if fmt == "csv":
            yield _csv_lines(csv_row(p, playbook) for p in people)
        else:
            yield "".join(
                json.dumps(json_record(p, playbook), ensure_ascii=False) + "\n" for p in people
            )
        progress(len(people))


def _csv_lines(rows: Iterable[Sequence[Value]]) -> str:
    """Rows as CSV lines, every cell made safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
