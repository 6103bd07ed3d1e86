"""Import throughput: rows a second `befriend import` writes at 2,000 and 10,000 rows, the
memory it holds at each size, and a resumed run after a crash.

    .venv/bin/python bench/import_throughput.py      (or `make bench`; --help for options)

Starts `befriend serve --no-demo` (bench/serve.py: moto's server in its process, one
request at a time, its transaction backup narrowed as `make run` has it), then imports a
CSV file of each size into a table of its own there, as `befriend import` does it: the file
checked and hashed row by row (`check_import_file`), then written in checkpointed pieces of
500 rows, four at a time (`import_people`, the command's default --workers). The baseline
is the small file, measured in the same run: the time per row at the large size against
it (linear or better when the ratio is at most 1), and the peak memory the import held
(Python's tracemalloc, the import alone: the server is another process) against it (flat
when the file is streamed). The small size is the least that keeps the four workers busy
with a whole piece each (what an import holds at most); the large one is five times it,
not more, because moto takes about 50 ms a row (it parses each counter's update expression
anew), so 20,000 rows would add a quarter of an hour to `make bench`. Then a file of the
small size is imported in pieces of a tenth of it, stopped by a crash partway (an exception
from a piece, as Ctrl-C or a lost process stops it, with pieces done, running and not
begun) and run again: every row must be imported once, every person written once, and the
gauges exact.

What is real
- The code measured: `jobs.people_io` as `befriend import` runs it, through boto3 and HTTP
  to moto's server: the suppression and address reads, `Writer.create`'s transaction for
  each person (profile, address claim, first ledger entry, counters, due moment), and the
  checkpoints (`store.checkpoints`) of the pieces.
- The checks of the resumed run: the importer's own report, the successful
  TransactWriteItems counted from botocore's event hooks, the people scanned back, and
  `reports.recount.check` (the gauges against a recount, as `befriend reports check`).

What is synthetic
- The contacts: example.org addresses, one row in three with consent evidence for the
  newsletter (imported with the permission), the others with none (imported without).

What is adjusted
- tracemalloc traces the import's allocations while it runs, which slows the importer's
  own Python (moto's server, where most of the time goes, is not traced); both sizes run
  the same way, so the ratios hold.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]
from bench import (  # noqa: E402
    doc,
    offline,  # noqa: F401  (before any boto3 client)
)
from bench.serve import Serve  # noqa: E402

from befriend.config import PACKAGE  # noqa: E402
from befriend.core.playbook import Playbook, load_playbook  # noqa: E402
from befriend.credentials.pseudonyms import Pseudonyms  # noqa: E402
from befriend.jobs.people_io import (  # noqa: E402
    PIECE_ROWS,
    ImportReport,
    check_import_file,
    import_people,
)
from befriend.reports import recount  # noqa: E402
from befriend.store import Store  # noqa: E402

TITLE = "Import throughput"
SIZES = (2_000, 10_000)
QUICK_SIZES = (200, 1_000)
QUICK_PIECE = 50  # the quick trial's pieces: four workers busy at its small size too
WORKERS = 4  # `befriend import`'s default
STOP_SHARE = 0.6  # the crash comes after this share of the rows has been read
REGION = "eu-west-1"
SOURCE = "bench fair"
HEADER = (
    "email,name,interests,permissions,consent_at,consent_source,"
    "consent_policy_version,consent_wording\n"
)
# The time per row at the large size may exceed the small size's by this much and still
# count as linear (two CPUs shared with moto's server: runs differ by a few per cent).
LINEAR = 1.10
FLAT = 1.5  # the large import's peak memory against the small one's


class Stop(Exception):
    """The crash partway through an import."""


@dataclass(frozen=True)
class Run:
    rows: int
    file_mb: float
    seconds: float
    peak_mb: float
    piece: int
    report: ImportReport

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds

    @property
    def ms_per_row(self) -> float:
        return self.seconds * 1000 / self.rows


@dataclass(frozen=True)
class Resumed:
    rows: int
    stopped_after: int  # rows read when the crash came
    written_before: int  # people written by the stopped run
    report: ImportReport  # of the resumed run
    written: int  # successful TransactWriteItems over both runs: people written
    scanned: int  # people read back
    gauge: int  # the `people` gauge
    recount_ok: bool

    @property
    def exact(self) -> bool:
        r = self.report
        return (
            (r.imported, r.exists, len(r.rejected)) == (self.rows, 0, 0)
            and 0 < r.resumed < self.rows
            and self.written == self.scanned == self.gauge == self.rows
            and self.recount_ok
        )


def contacts(folder: Path, rows: int, tag: str) -> Path:
    """A CSV file of `rows` contacts, written a line at a time."""
    day = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    path = folder / f"contacts-{tag}.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for n in range(rows):
            address = f"import-{tag}-{n}@example.org"
            if n % 3 == 0:
                out.write(f"{address},Contact {n},cycling,email:newsletter,{day},Fair,v1,\n")
            else:
                out.write(f"{address},Contact {n},,email:newsletter,,,,\n")
    return path


def open_table(endpoint: str, name: str) -> Store:
    store = Store(name, endpoint_url=endpoint, region=REGION)
    store.create_table()
    _ = store.client  # made before the import's memory is traced: the same at every size
    return store


def imported(
    store: Store,
    playbook: Playbook,
    pseudonyms: Pseudonyms,
    path: Path,
    piece: int,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    """`befriend import` as the command runs it: the file checked, then imported."""
    checked = check_import_file(path)
    return import_people(
        store,
        playbook,
        pseudonyms,
        checked,
        SOURCE,
        datetime.now(UTC),
        progress,
        workers=WORKERS,
        piece_rows=piece,
    )


def timed(
    endpoint: str, playbook: Playbook, pseudonyms: Pseudonyms, folder: Path, rows: int, piece: int
) -> Run:
    path = contacts(folder, rows, f"{rows}")
    store = open_table(endpoint, f"bench-import-{rows}")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    report = imported(store, playbook, pseudonyms, path, piece)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    assert (report.imported, report.rejected) == (rows, []), report
    return Run(rows, path.stat().st_size / 1e6, seconds, peak / 1e6, piece, report)


def resumed(
    endpoint: str, playbook: Playbook, pseudonyms: Pseudonyms, folder: Path, rows: int
) -> Resumed:
    """Import a file, crash partway, import it again; count what was written."""
    path = contacts(folder, rows, f"resume-{rows}")
    store = open_table(endpoint, f"bench-import-resume-{rows}")
    written = 0

    def count(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        nonlocal written
        if model.name == "TransactWriteItems" and "Error" not in parsed:
            written += 1

    store.client.meta.events.register("after-call.dynamodb.TransactWriteItems", count)
    stop_after = int(rows * STOP_SHARE)
    read = 0

    def crash(n: int) -> None:
        nonlocal read
        read += n
        if read == stop_after + 1:  # once: the pieces running beside it finish
            raise Stop(f"stopped after {stop_after} rows")

    try:
        imported(store, playbook, pseudonyms, path, rows // 10, crash)
    except Stop:
        pass
    else:
        raise AssertionError("the import was not stopped")
    before = written
    report = imported(store, playbook, pseudonyms, path, rows // 10)
    now = datetime.now(UTC)
    scanned = sum(len(page) for page in store.every_person(now))
    check = recount.check(store, playbook, now, lambda _n: None)
    return Resumed(
        rows,
        stop_after,
        before,
        report,
        written,
        scanned,
        store.gauges()["people"],
        check.ok,
    )


def verdicts(small: Run, large: Run, again: Resumed) -> list[doc.Verdict]:
    per_row = large.ms_per_row / small.ms_per_row
    memory = large.peak_mb / small.peak_mb
    r = again.report
    return [
        doc.Verdict(
            f"import time per row at {large.rows:,} rows against {small.rows:,} (linear or "
            f"better: at most {LINEAR:.2f}x)",
            per_row <= LINEAR,
            f"{per_row:.2f}x ({large.ms_per_row:.2f} ms a row, {large.per_second:,.0f} rows/s, "
            f"against {small.ms_per_row:.2f} ms, {small.per_second:,.0f} rows/s)",
        ),
        doc.Verdict(
            f"import memory flat from {small.rows:,} to {large.rows:,} rows (the file "
            f"streamed: peak at most {FLAT}x)",
            memory <= FLAT,
            f"{memory:.2f}x ({large.peak_mb:.1f} MB peak for a {large.file_mb:.1f} MB file, "
            f"{small.peak_mb:.1f} MB for {small.file_mb:.1f} MB)",
        ),
        doc.Verdict(
            "an import resumed after a crash writes no one twice and counts exactly",
            again.exact,
            f"{again.rows:,} rows, stopped after {again.stopped_after:,} read "
            f"({again.written_before:,} people written); resumed: {r.resumed:,} rows done "
            f"before, {r.imported:,} imported, {again.written:,} people written in all, "
            f"{again.scanned:,} read back, `people` gauge {again.gauge:,}, recount "
            f"{'agrees' if again.recount_ok else 'differs'}",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    args = doc.options(__doc__, f"{QUICK_SIZES[0]:,} and {QUICK_SIZES[1]:,} rows").parse_args(argv)
    sizes, piece = (QUICK_SIZES, QUICK_PIECE) if args.quick else (SIZES, PIECE_ROWS)
    playbook = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    secret = secrets.token_urlsafe(32)
    pseudonyms = Pseudonyms(secret)
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-import-") as folder,
        tempfile.TemporaryFile("w+", encoding="utf-8") as log,
    ):
        serve = Serve(secret, log, "--no-demo", table="bench-import-serve", region=REGION)
        try:
            runs = []
            for rows in sizes:
                doc.say(f"importing {rows:,} rows")
                runs.append(timed(serve.endpoint, playbook, pseudonyms, Path(folder), rows, piece))
                doc.say(f"  {runs[-1].seconds:.1f} s, {runs[-1].per_second:,.0f} rows/s")
            doc.say(f"importing {sizes[0]:,} rows, stopped partway, then resumed")
            again = resumed(serve.endpoint, playbook, pseudonyms, Path(folder), sizes[0])
            resident = serve.resident_mb()
        finally:
            serve.stop()
    total = time.perf_counter() - started
    small, large = runs[0], runs[-1]
    found = verdicts(small, large, again)
    lines = [
        doc.machine("import_throughput.py", total, moto="server in `befriend serve`"),
        "",
        f"`befriend import` of CSV files of {' and '.join(f'{n:,}' for n in sizes)} new "
        f"contacts, each into an empty table of `befriend serve --no-demo` (moto's server, "
        f"one request at a time, transaction backup narrowed as `make run` has it), as the "
        f"command runs it: the file checked and hashed, then pieces of {piece} rows "
        f"written {WORKERS} at a time, each person by `Writer.create` in one transaction. "
        "*Seconds* include the check; *peak* is the most the import's own allocations came "
        "to (tracemalloc; the server is another process). The script's docstring says what "
        "is real and what is synthetic.",
        "",
        *doc.table(
            ["rows", "file", "seconds", "rows/s", "ms a row", "peak memory", "pieces"],
            [
                [
                    f"{r.rows:,}",
                    f"{r.file_mb:.1f} MB",
                    f"{r.seconds:.1f}",
                    f"{r.per_second:,.0f}",
                    f"{r.ms_per_row:.2f}",
                    f"{r.peak_mb:.1f} MB",
                    -(-r.rows // r.piece),
                ]
                for r in runs
            ],
        ),
        "",
        *(v.line() for v in found),
        "- Each row is three requests: the suppression lookup, the address claim's read and "
        "the person's transaction (profile, address claim, first ledger entry, counters); "
        "each piece adds one checkpoint write. moto's server answers one request "
        "at a time, so more workers overlap only the importer's own work with it; DynamoDB "
        "takes the pieces in parallel, the rows a second growing with --workers up to the "
        "table's write capacity.",
        f"- The server held {resident:.0f} MB resident at the end (every table of the run).",
    ]
    doc.publish(TITLE, lines, trial=args.quick or args.no_doc)
    return found


if __name__ == "__main__":
    main()
