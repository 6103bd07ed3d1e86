"""The audit trail at the command line: `befriend audit list`, and `record`, which the
operator's own commands that change access or move people's data call (keys, webhooks,
imports and exports), so what an operator does is in the same trail as what keys and
accounts do through the API.

An operator is named by the AWS identity the command runs as (the caller's ARN, which
`sts:GetCallerIdentity` gives without any permission), the role `admin`; a command's entry
has no source (there is no request to hash the address of).
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from befriend.cli.access import TARGET
from befriend.cli.base import load_playbook_file, main, open_store, stamp, table_options

if TYPE_CHECKING:
    from befriend.core.audit import AuditEntry
    from befriend.core.playbook import Playbook
    from befriend.store import Store

WINDOW = timedelta(days=30)
PAGE = 200


@main.group()
def audit() -> None:
    """The audit trail: who read, exported or changed access to people's data, and when."""


@audit.command("list")
@click.option(
    "--since",
    help="From when: a day (2026-03-01, from its start in UTC) or a moment with its offset "
    "(2026-03-01T09:00:00Z). Default: 30 days back.",
)
@click.option("--who", help="Only what the keys, accounts or operators of this name did.")
@click.option("--person", help="Only what named this person (their id).")
@click.option(
    "--limit",
    type=click.IntRange(1, 1_000_000),
    default=1000,
    show_default=True,
    help="List at most this many entries, newest first.",
)
@table_options
def list_entries(
    since: str | None,
    who: str | None,
    person: str | None,
    limit: int,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Entries newest first: when, who (kind:name, role), what, the play or subject, the
    people named, and the keyed hash of where the request came from."""
    from befriend.core.audit import read_since
    from befriend.store.audit import Walk

    now = datetime.now(UTC)
    try:
        start = now - WINDOW if since is None else read_since(since, now)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    store = open_store(table, endpoint_url, region)
    shown = 0
    walk: Walk | None = Walk()
    while walk is not None and shown < limit:
        size = min(PAGE, limit - shown)
        if person is not None:
            page, walk = store.audit_of_person(person, start, now, walk, size)
            page = [e for e in page if who is None or e.who.name == who]
        elif who is not None:
            page, walk = store.audit_by_who(who, start, now, walk, size)
        else:
            page, walk = store.audit_window(start, now, walk, size)
        for entry in page:
            click.echo(_line(entry))
        shown += len(page)
    if not shown:
        click.echo(f"no entries since {stamp(start)}", err=True)


def _line(entry: AuditEntry) -> str:
    people = ",".join(entry.people[:3]) + (
        f",… ({len(entry.people)})" if len(entry.people) > 3 else ""
    )
    about = entry.play or entry.subject or "-"
    count = "-" if entry.count is None else str(entry.count)
    return "  ".join(
        [
            stamp(entry.at),
            f"{entry.who.kind}:{entry.who.name} ({entry.who.role})",
            entry.action,
            about,
            f"people={people or '-'}",
            f"count={count}",
            entry.source or "-",
        ]
    )


def record(
    store: Store,
    action: str,
    *,
    subject: str | None = None,
    count: int | None = None,
    playbook: Playbook | None = None,
) -> None:
    """Write the entry of an operator's command, before it acts. The days it is kept come
    from `playbook`, else the one in force (BEFRIEND_PLAYBOOK, else the packaged one)."""
    from befriend.core.audit import AuditEntry, Who, kept_until

    if playbook is None:
        named = os.environ.get("BEFRIEND_PLAYBOOK")
        playbook = load_playbook_file(Path(named) if named else None)
    now = datetime.now(UTC)
    store.record_audit(
        AuditEntry(
            id=secrets.token_hex(8),
            at=now,
            who=Who("operator", _operator(), "admin"),
            action=action,
            subject=subject,
            count=count,
            kept_until=kept_until(now, playbook.audit),
        )
    )


def _operator() -> str:
    """The AWS identity this command runs as, from the same place as its table."""
    import boto3

    target = click.get_current_context().meta.get(TARGET)
    sts = boto3.client(
        "sts",
        region_name=getattr(target, "region", None),
        endpoint_url=getattr(target, "endpoint_url", None),
    )
    return str(sts.get_caller_identity()["Arn"])
