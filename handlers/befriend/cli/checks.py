"""What an operator checks and records: ledger chains, the playbook, lapses, held events."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from befriend.cli.base import (
    load_playbook_file,
    main,
    open_store,
    playbook_option,
    table_options,
)
from befriend.core.errors import LedgerBroken

if TYPE_CHECKING:
    from befriend.core.playbook import Playbook


@main.group()
def ledger() -> None:
    """The consent ledger."""


@ledger.command()
@click.option("--person", "person_id", help="Check one person only.")
@table_options
def verify(person_id: str | None, table: str, endpoint_url: str | None, region: str) -> None:
    """Check every hash chain; exit 1 naming the first bad entry."""
    from befriend.jobs.audit import verify_ledgers

    store = open_store(table, endpoint_url, region)
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
    from befriend.reports.playbook_summary import summary

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
    missing = _missing_templates(loaded)
    if missing:
        click.echo(f"playbook error: {missing}", err=True)
        sys.exit(2)
    click.echo(f"ok: {path}")
    click.echo()
    click.echo(summary(loaded), nl=False)


def _missing_templates(loaded: Playbook) -> str | None:
    """What is missing for befriend to deliver the playbook's mails: the pair of templates
    of each email play it delivers (`templates/mail/plays/<play>.txt` and `.html`)."""
    import os

    from befriend.config import default_templates
    from befriend.core.dispatch import MAIL, delivered_by_befriend, how
    from befriend.mailing.plays import template_of

    root = Path(os.environ.get("BEFRIEND_TEMPLATES") or default_templates())
    for play in delivered_by_befriend(loaded):
        if how(play, loaded) != MAIL:
            continue
        for suffix in (".txt", ".html"):
            name = f"mail/{template_of(play)}{suffix}"
            if not (root / name).is_file():
                return (
                    f"plays.{play.id}.delivery: befriend delivers it by email, but "
                    f"templates/{name} is missing"
                )
    return None


@main.group()
def consent() -> None:
    """Scheduled consent work."""


@consent.command()
@table_options
@playbook_option
@click.option(
    "--event-bus",
    envvar="BEFRIEND_EVENT_BUS",
    help="EventBridge bus for the changes the sweep makes.",
)
@click.option(
    "--backfill",
    is_flag=True,
    help="First give every active person the moment they are next due and their verified "
    "number's key, from the stage index: once for people written before the due and number "
    "indexes, and after a playbook change.",
)
def sweep(
    table: str,
    endpoint_url: str | None,
    region: str,
    playbook_file: Path | None,
    event_bus: str | None,
    backfill: bool,
) -> None:
    """Record lapsed permissions (source `expiry`) and stage moves that time has made, for
    the people due by now."""

    from befriend.bus.notify import Notifier
    from befriend.jobs.sweeps import fill_due, sweep_lapses

    store = open_store(table, endpoint_url, region)
    playbook = load_playbook_file(playbook_file)
    if backfill:
        with click.progressbar(length=0, label="people given a due moment", show_pos=True) as bar:
            filled = fill_due(store, playbook, datetime.now(UTC), progress=bar.update)
        click.echo(
            f"ok: {filled.moments} due moment(s) and {filled.numbers} verified number(s) written"
        )
    notifier = (
        Notifier(event_bus, region=region, hold=lambda e: store.hold_events(e, datetime.now(UTC)))
        if event_bus
        else None
    )
    with click.progressbar(length=0, label="people checked", show_pos=True) as bar:
        report = sweep_lapses(
            store, playbook, datetime.now(UTC), progress=bar.update, notifier=notifier
        )
    click.echo(
        f"ok: {report.people} people checked, {report.lapsed} permission(s) lapsed, "
        f"{report.moved} stage move(s) recorded"
        + (f", {report.failed} skipped after errors (see the log)" if report.failed else "")
    )
    if report.failed:
        sys.exit(1)


@main.group()
def events() -> None:
    """Change events for the EventBridge bus."""


@events.command()
@table_options
@click.option(
    "--event-bus",
    envvar="BEFRIEND_EVENT_BUS",
    required=True,
    help="The bus the held events are for.",
)
def redrive(table: str, endpoint_url: str | None, region: str, event_bus: str) -> None:
    """Put again the change events the bus refused (held in the table); exit 1 if any is
    still refused."""
    from befriend.bus.notify import Notifier

    store = open_store(table, endpoint_url, region)
    done = Notifier(event_bus, region=region).redrive(store)
    if done.left:
        click.echo(f"{done.sent} held event(s) put on the bus, {done.left} still refused", err=True)
        sys.exit(1)
    click.echo(f"ok: {done.sent} held event(s) put on the bus, none left")
