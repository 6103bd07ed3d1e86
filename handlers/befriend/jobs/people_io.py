"""Import existing contacts from CSV, and export people as CSV or JSON lines.

The rules of an import are the core's (`core/imports.py`); here the file is read, each
address is checked against the table (already here, or erased and suppressed) and each
person is written by the one writer (`Writer.create`) in one transaction with their first
ledger entry and what they count for in the reports. Export reads every person (a scan,
an operator's command) a page at a time and writes each page as it comes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from befriend.core.imports import (
    ImportRow,
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
from befriend.reports.spreadsheet import Value, csv_lines
from befriend.store import Store
from befriend.writer.apply import Writer

FORMATS = ("csv", "jsonl")
FIRST_ROW = 2  # line 1 is the header: row numbers are the lines a spreadsheet shows
PIECE_ROWS = 500  # rows a piece writes before it is recorded as done
READ = 1 << 20  # bytes read at a time while the file is checked and hashed
MAX_REASON = 300  # a reason kept in a checkpoint: it quotes the cell, which may be long
# A row as read: column -> cell; cells beyond the header's columns (or why a JSON line is
# no row) are under None, as csv.DictReader puts them.
Raw = Mapping[Any, Any]


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
    # Rows imported without some listed permission, and why (post without an address).
    notes: list[Rejected] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    resumed: int = 0  # rows an earlier, interrupted run of the same file had finished

    def add(self, tally: Mapping[str, Any]) -> None:
        """Add what one piece's rows came to (as a checkpoint holds it)."""
        self.imported += tally["imported"]
        self.with_permissions += tally["with_permissions"]
        self.dropped += tally["dropped"]
        self.exists += tally["exists"]
        self.rejected += [Rejected(line, reason) for line, reason in tally["rejected"]]
        self.notes += [Rejected(line, reason) for line, reason in tally.get("notes", ())]


@dataclass(frozen=True)
class ImportFile:
    """A file checked whole without holding it: readable UTF-8, a header (CSV) or one JSON
    object a line (JSON lines), how many rows, and a digest of its bytes."""

    path: Path
    fmt: str
    rows: int
    digest: str
    ignored_columns: list[str]


class _Hashing(io.RawIOBase):
    """A binary file that hashes what is read through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.sha = raw, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.sha.update(memoryview(buffer)[:n])
        return int(n)


def import_format(path: Path) -> str:
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"


def check_import_file(path: Path) -> ImportFile:
    """Read the file through once, row by row, to check and count it and hash its bytes;
    raises ImportFileError for a file that cannot be imported at all."""
    fmt = import_format(path)
    try:
        with path.open("rb") as raw:
            hashing = _Hashing(raw)
            text = io.TextIOWrapper(
                io.BufferedReader(hashing, READ), encoding="utf-8-sig", newline=""
            )
            header = _header(path, text) if fmt == "csv" else []
            rows, seen = 0, dict.fromkeys(header)
            for row in _rows(text, fmt, header):
                rows += 1
                if fmt == "jsonl" and len(seen) < 100:
                    seen.update(dict.fromkeys(str(k) for k in row if k is not None))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ImportFileError(f"{path}: cannot read it ({reason})") from exc
    except csv.Error as exc:
        raise ImportFileError(f"{path}: not CSV ({exc})") from exc
    return ImportFile(path, fmt, rows, hashing.sha.hexdigest(), ignored_columns(list(seen)))


def _header(path: Path, text: IO[str]) -> list[str]:
    first = next(csv.reader(text), [])
    header = [name.strip() for name in first]
    missing = missing_columns(header)
    if missing:
        raise ImportFileError(f"{path}: no {', '.join(missing)} column in the header line")
    return header


def _rows(text: IO[str], fmt: str, header: list[str]) -> Iterator[Raw]:
    """The rows after the header, one at a time. A CSV row with more cells than the header
    has its extra cells under None, as csv.DictReader puts them."""
    if fmt == "csv":
        yield from csv.DictReader(text, fieldnames=header)
        return
    for line in text:
        if not line.strip():
            continue
        try:
            yield _json_row(json.loads(line))
        except ValueError:
            yield {None: "not a JSON object"}


def _json_row(found: Any) -> Raw:
    """A JSON line as the row of a CSV file: lists (interests, permissions) joined by ";"."""
    if not isinstance(found, dict):
        return {None: "not a JSON object"}
    row: dict[str, str | None] = {}
    for name, value in found.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            row[name] = ";".join(value)
        elif value is None or isinstance(value, str):
            row[name] = value
        else:
            return {None: f"{name!r} must be a string (or a list of strings)"}
    return row


def _numbered(file: ImportFile) -> Iterator[tuple[int, Raw]]:
    with file.path.open(encoding="utf-8-sig", newline="") as text:
        header = _header(file.path, text) if file.fmt == "csv" else []
        yield from enumerate(_rows(text, file.fmt, header), start=FIRST_ROW)


def _pieces(
    file: ImportFile, size: int, skip: Collection[int]
) -> Iterator[tuple[int, list[tuple[int, Raw]]]]:
    """The file's rows in pieces of `size`, numbered from 0, leaving out those in `skip`:
    only one piece at a time is held."""
    piece: list[tuple[int, Raw]] = []
    number = 0
    for numbered in _numbered(file):
        piece.append(numbered)
        if len(piece) == size:
            if number not in skip:
                yield number, piece
            piece, number = [], number + 1
    if piece and number not in skip:
        yield number, piece


def run_id(file: ImportFile, file_source: str, pseudonyms: Pseudonyms) -> str:
    """The same file under the same source is the same run; keyed, so the table holds
    nothing that confirms a guess of a file's content."""
    return pseudonyms.fingerprint(f"{file.digest}:{file_source}".encode())[:32]


def import_people(
    store: Store,
    playbook: Playbook,
    pseudonyms: Pseudonyms,
    file: ImportFile,
    file_source: str,
    now: datetime,
    progress: Callable[[int], None] = lambda _n: None,
    *,
    workers: int = 1,
    piece_rows: int = PIECE_ROWS,
) -> ImportReport:
    """Import each row that can be, `workers` pieces at a time; re-importing the same
    rows changes nothing. Each person is written by the one writer, with what they count
    for in the reports; an import puts nothing on the bus.

    A finished piece is recorded in the table, so an import that stops (a crash, Ctrl-C)
    and is run again with the same file goes on from the pieces not yet done. A row that a
    stopped piece had written already is recognised by its person id (derived from the
    run and the line), counted as imported once, and not written again."""
    run = store.import_run(
        run_id(file, file_source, pseudonyms),
        now,
        {"file": file.path.name, "source": file_source, "rows": file.rows, "piece": piece_rows},
    )
    piece_rows = run.about["piece"]  # a resume cuts the file as the run it goes on did
    report = ImportReport(rows=file.rows, ignored_columns=file.ignored_columns)
    for number in sorted(run.done):
        report.add(run.done[number])
        report.resumed += run.done[number]["rows"]
    if report.resumed:
        progress(report.resumed)
    writer = Writer(store, playbook, None, lambda: now)
    lock = threading.Lock()

    def counted(n: int) -> None:
        with lock:  # the progress bar is drawn by one piece at a time
            progress(n)

    def piece(number: int, rows: list[tuple[int, Raw]]) -> dict[str, Any]:
        part = _Import(writer, pseudonyms, file_source, now, run.nonce)
        for line, raw in rows:
            try:
                part.row(line, raw)
            except Rejected as rejected:
                part.rejected.append((line, rejected.reason[:MAX_REASON]))
            counted(1)
        tally = part.tally(len(rows))
        store.piece_done(run, number, tally, now)
        return tally

    _ = store.client  # made here once, not by the first pieces at the same moment
    _run_pieces(piece, _pieces(file, piece_rows, run.done), workers, report.add)
    store.finish_import(run)
    report.rejected.sort(key=lambda r: r.line)
    report.notes.sort(key=lambda r: r.line)
    return report


def _run_pieces(
    work: Callable[[int, list[tuple[int, Raw]]], dict[str, Any]],
    pieces: Iterator[tuple[int, list[tuple[int, Raw]]]],
    workers: int,
    done: Callable[[dict[str, Any]], None],
) -> None:
    """Run the pieces on `workers` threads, a piece read only when a thread is free for it
    (reading is fast beside writing). The first piece that fails stops the rest: no other
    is started, those running finish (and are recorded), and the failure is raised."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import")
    running: set[Future[dict[str, Any]]] = set()

    def collect(when: str) -> None:
        nonlocal running
        finished, running = wait(running, return_when=when)
        for future in finished:
            done(future.result())

    try:
        for number, rows in pieces:
            running.add(pool.submit(work, number, rows))
            if len(running) >= workers:
                collect(FIRST_COMPLETED)
        collect(ALL_COMPLETED)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()


@dataclass
class _Import:
    """The rows of one piece."""

    writer: Writer
    pseudonyms: Pseudonyms
    file_source: str
    now: datetime
    nonce: str
    imported: int = 0
    with_permissions: int = 0
    dropped: int = 0
    exists: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # address key -> its first line

    def tally(self, rows: int) -> dict[str, Any]:
        return {
            "rows": rows,
            "imported": self.imported,
            "with_permissions": self.with_permissions,
            "dropped": self.dropped,
            "exists": self.exists,
            "rejected": self.rejected,
            "notes": self.notes,
        }

    def person_id(self, line: int) -> str:
        """The id this run gives the person of `line`: the same on a resume, so a row
        written before a crash is known as this row's; its first 12 digits are the run's,
        so an address claimed by another row of the same run is known as a duplicate."""
        run = hashlib.sha256(f"run:{self.nonce}".encode()).hexdigest()[:12]
        return run + hashlib.sha256(f"row:{self.nonce}:{line}".encode()).hexdigest()[:20]

    def row(self, line: int, raw: Raw) -> None:
        if None in raw:
            given = raw[None]
            raise Rejected(
                line, given if isinstance(given, str) else "more cells than the header has columns"
            )
        key = email_key(row_email(line, raw))
        if key in self.seen:
            # Whichever of two rows is right, the operator must say: neither is guessed.
            raise Rejected(line, f"duplicate: the same address as line {self.seen[key]}")
        self.seen[key] = line
        store, playbook = self.writer.store, self.writer.playbook
        row = read_row(line, raw, playbook, self.now)
        if store.suppressed(self.pseudonyms.suppression(row.email)):
            raise Rejected(line, "suppressed: this address was erased at the person's request")
        person_id = self.person_id(line)
        claim = store.email_claim(key, self.now)
        if claim is None:
            outcome = imported(
                row, person_id, self.file_source, self.now, playbook, self.pseudonyms.contact
            )
            if self.writer.create(outcome, key) is not None:
                self.count_imported(row)
                return
            claim = store.email_claim(key, self.now)  # claimed between the check and the write
        if claim is not None and claim[0] == person_id:
            self.count_imported(row)  # written by this run before it was stopped
        elif claim is not None and claim[0][:12] == person_id[:12]:
            raise Rejected(line, "duplicate: the same address as another row of this file")
        else:
            self.exists += 1

    def count_imported(self, row: ImportRow) -> None:
        self.imported += 1
        note = row.dropped_note()
        if note is not None:
            self.notes.append((row.line, note))
        if row.granted:
            self.with_permissions += 1
        elif row.permissions:
            self.dropped += 1


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
        yield csv_lines([csv_header(playbook)])
    for page in pages:
        people = [p for p in page if p.status == "active"]
        if fmt == "csv":
            yield csv_lines(csv_row(p, playbook) for p in people)
        else:
            yield "".join(
                json.dumps(json_record(p, playbook), ensure_ascii=False) + "\n" for p in people
            )
        progress(len(people))
