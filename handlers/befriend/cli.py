"""The `befriend` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from befriend.core.errors import LedgerBroken


@click.group()
def main() -> None:
    """befriend: a preference center and consent ledger."""


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (loopback keeps it private to this machine).",
)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="Start with an empty table.")
def serve(host: str, port: int, no_demo: bool) -> None:
    """Run the API locally against moto, with a local outbox for mail."""
    from befriend.local import serve as run

    run(host, port, demo=not no_demo)


@main.group()
def ledger() -> None:
    """The consent ledger."""


@ledger.command()
@click.option("--person", "person_id", help="Check one person only.")
@click.option("--table", envvar="BEFRIEND_TABLE", default="befriend", show_default=True)
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    help="DynamoDB endpoint, e.g. the moto endpoint `befriend serve` prints.",
)
@click.option("--region", envvar="AWS_DEFAULT_REGION", default="eu-west-1", show_default=True)
def verify(person_id: str | None, table: str, endpoint_url: str | None, region: str) -> None:
    """Check every hash chain; exit 1 naming the first bad entry."""
    from befriend.audit import verify_ledgers
    from befriend.store import Store

    if endpoint_url and urlsplit(endpoint_url).hostname in ("127.0.0.1", "localhost", "::1"):
        # A local moto endpoint takes any credentials; don't make the operator invent some.
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "local")
    store = Store(table, endpoint_url=endpoint_url, region=region)
    try:
        people, entries = verify_ledgers(store, [person_id] if person_id else None)
    except LedgerBroken as exc:
        click.echo(f"ledger broken: {exc}", err=True)
        sys.exit(1)
    click.echo(f"ok: {people} people, {entries} ledger entries, every chain verifies")


@main.group()
def playbook() -> None:
    """The playbook: channels, purposes, stages and plays."""


@playbook.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
def check(file: Path | None) -> None:
    """Validate a playbook FILE (default: the packaged one) and summarise it.

    Exits 2 with `playbook error: …`, naming the dotted key at fault, when it is wrong.
    """
    from befriend.config import PACKAGE
    from befriend.core.errors import PlaybookError
    from befriend.core.playbook import load_playbook
    from befriend.playbook_summary import summary

    path = PACKAGE / "playbook.toml" if file is None else file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        click.echo(f"playbook error: {path}: cannot read it ({reason})", err=True)
        sys.exit(2)
    try:
        loaded = load_playbook(text)
    except PlaybookError as exc:
        click.echo(f"playbook error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"ok: {path}")
    click.echo()
    click.echo(summary(loaded), nl=False)
