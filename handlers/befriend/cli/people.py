"""Contacts in and out: `import` and `export`."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from befriend.cli.audit import record
from befriend.cli.base import (
    load_playbook_file,
    main,
    open_store,
    people_bar,
    playbook_option,
    table_options,
)

IMPORT_HELP = """Bring in existing contacts from the file FILE, naming where they came from.

\b
FILE is UTF-8 CSV with a header line (or, named *.jsonl, one JSON object a line with
the same names, interests and permissions as strings or lists); only `email` is required:
  email                   the address (checked as a sign-up checks it)
  name                    the person's name
  interests               topic ids, separated by ";" (e.g. cycling;gardening)
  permissions             channel:purpose pairs, separated by ";" (e.g. email:newsletter)
  consent_at              when they gave those permissions: ISO 8601 date or date-time
  consent_source          where they gave them (e.g. "shop checkout form")
  consent_policy_version  the policy version they agreed to
  consent_wording         the words they agreed to
Other columns are ignored (and named), so an export can be imported elsewhere.

\b
A row with consent evidence (consent_at and consent_source, with the policy version or
the wording) keeps its permissions, each recorded in the person's ledger with source
`import`, the file's SOURCE and the evidence, and given as of consent_at (consent older
than a purpose's refresh period is asked about again at once). A row without evidence is
imported with no permission at all, so the person can be asked once. Erased (suppressed)
addresses are never imported; an address already here is skipped, so importing the same
file again changes nothing. Rows that cannot be imported are listed with the reason
(bad email, unknown channel, purpose or interest, duplicate, bad date, suppressed) and
the command exits 1; the other rows are imported.

The file is read row by row and written in pieces of 500 rows, --workers at a time. Each
finished piece is recorded in the table: if the import stops (a crash, Ctrl-C), running
the same command on the same file goes on where it stopped, and nobody is imported or
counted twice.

The suppression hashes are keyed with the deployment's secret: set BEFRIEND_SECRET, or
BEFRIEND_SECRET_ARN to the Secrets Manager secret, as the API has it.
"""


@main.command("import", help=IMPORT_HELP)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--source",
    "file_source",
    required=True,
    help='Where these contacts come from, kept in each ledger entry (e.g. "shop 2025").',
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Pieces of the file written at the same time.",
)
@playbook_option
@table_options
def import_people(
    file: Path,
    file_source: str,
    workers: int,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    from befriend.config import SettingsError, signing_secret
    from befriend.credentials.pseudonyms import Pseudonyms
    from befriend.jobs.people_io import ImportFileError, check_import_file, import_people

    try:
        secret = signing_secret(os.environ, region)
    except SettingsError as exc:
        raise click.UsageError(f"{exc}: the API's secret keys the suppression hashes") from exc
    name = " ".join(file_source.split())
    if not name or len(name) > 200:
        raise click.BadParameter("give a short name (1 to 200 characters)", param_hint="--source")
    pb = load_playbook_file(playbook_file)
    try:
        checked = check_import_file(file)
    except ImportFileError as exc:
        click.echo(f"import error: {exc}", err=True)
        sys.exit(2)
    store = open_store(table, endpoint_url, region)
    record(store, "people.import", subject=name, count=checked.rows, playbook=pb)
    with click.progressbar(
        length=checked.rows, label="rows", show_pos=True, file=sys.stderr
    ) as bar:
        report = import_people(
            store,
            pb,
            Pseudonyms(secret),
            checked,
            name,
            datetime.now(UTC),
            bar.update,
            workers=workers,
        )
    if report.resumed:
        click.echo(
            f"resumed an unfinished import of this file: {report.resumed} row(s) were done "
            "before it stopped"
        )
    if report.ignored_columns:
        click.echo(f"ignored columns: {', '.join(report.ignored_columns)}")
    without = report.imported - report.with_permissions
    click.echo(
        f"{report.rows} row(s) read: {report.imported} imported "
        f"({report.with_permissions} with permissions from consent evidence, {without} "
        f"without permission), {report.exists} already here (skipped), "
        f"{len(report.rejected)} rejected"
    )
    if report.dropped:
        click.echo(
            f"{report.dropped} row(s) listed permissions without consent evidence: "
            "imported with no permission"
        )
    if report.notes:
        click.echo("\nimported without some permissions:")
        for note in report.notes:
            click.echo(f"  line {note.line}: {note.reason}")
    if report.rejected:
        click.echo("\nrejected rows:")
        for rejected in report.rejected:
            click.echo(f"  line {rejected.line}: {rejected.reason}")
        sys.exit(1)
    click.echo(f"ok: {file} imported into table {table}")


@main.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(("csv", "jsonl")), default="csv", show_default=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (made readable by its owner only); default: standard output.",
)
@playbook_option
@table_options
def export_people(
    fmt: str,
    out: Path | None,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Export every confirmed person: stage, circle, interests and each permission.

    \b
    csv: one row a person, safe to open in a spreadsheet; interests separated by ";",
         and for each channel:purpose its state, since when and how (its source).
    jsonl: one JSON object a person, per line, permissions with their policy version.

    Reads every person (a scan) and writes them page by page: an operator's command.
    """
    from befriend.jobs.people_io import export_chunks

    pb = load_playbook_file(playbook_file)
    store = open_store(table, endpoint_url, region)
    record(store, "people.export", subject=fmt, playbook=pb)
    exported = 0

    def counted(n: int) -> None:
        nonlocal exported
        exported += n
        bar.update(n)

    with people_bar() as bar:
        chunks = export_chunks(store.every_person(datetime.now(UTC)), pb, fmt, counted)
        if out is None:
            for chunk in chunks:
                click.echo(chunk, nl=False)
        else:
            try:
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with open(fd, "w", encoding="utf-8", newline="") as handle:
                    for chunk in chunks:
                        handle.write(chunk)
            except OSError as exc:
                raise click.FileError(str(out), exc.strerror or str(exc)) from exc
    click.echo(f"ok: {exported} people exported as {fmt}" + (f" to {out}" if out else ""), err=True)
