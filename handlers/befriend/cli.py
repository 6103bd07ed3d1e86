"""The `befriend` command."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import click

if TYPE_CHECKING:
    from befriend.store import Store

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
@click.option(
    "--demo-people",
    default=40,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="How many demo people to seed.",
)
def serve(host: str, port: int, no_demo: bool, demo_people: int) -> None:
    """Run the API locally against moto, with a local outbox for mail."""
    from befriend.local import serve as run

    run(host, port, demo=0 if no_demo else demo_people)


@main.command("build-site")
@click.option(
    "--out",
    default=Path("site"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to build into; files an earlier build left there are removed.",
)
@click.option(
    "--playbook",
    "playbook_file",
    envvar="BEFRIEND_PLAYBOOK",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The playbook the pages describe (default: the packaged one).",
)
@click.option(
    "--templates",
    envvar="BEFRIEND_TEMPLATES",
    type=click.Path(file_okay=False, path_type=Path),
    help="Templates folder holding site/ (default: the one in this checkout).",
)
def build_site(out: Path, playbook_file: Path | None, templates: Path | None) -> None:
    """Render the static pages (templates/site/) from the playbook into OUT."""
    from jinja2 import TemplateError

    from befriend.config import PACKAGE, default_templates
    from befriend.core.errors import PlaybookError
    from befriend.core.playbook import load_playbook
    from befriend.sitegen import SiteError, build_site

    path = playbook_file or PACKAGE / "playbook.toml"
    try:
        loaded = load_playbook(path.read_text(encoding="utf-8"))
        written = build_site(loaded, templates or default_templates(), out)
    except (OSError, PlaybookError, SiteError, TemplateError) as exc:
        click.echo(f"build-site error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"ok: {len(written)} files in {out} (policy {loaded.policy.version})")


@main.command("seed-demo")
@click.option("--people", default=40, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--first",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Number of the first demo person (to add more to an earlier seed).",
)
@click.option("--table", envvar="BEFRIEND_TABLE", default="befriend", show_default=True)
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="DynamoDB endpoint (e.g. moto).")
@click.option("--region", envvar="AWS_DEFAULT_REGION", default="eu-west-1", show_default=True)
def seed_demo(people: int, first: int, table: str, endpoint_url: str | None, region: str) -> None:
    """Create demo people with plausible histories over the past months, in every stage."""
    import secrets

    from befriend.config import PACKAGE
    from befriend.core.playbook import load_playbook
    from befriend.demo import seed

    store = _store(table, endpoint_url, region)
    playbook = load_playbook((PACKAGE / "playbook.toml").read_text())
    # Evidence hashes of demo people are keyed with a throwaway secret: they are not real.
    with click.progressbar(length=people, label="demo people") as bar:
        ids = seed(
            store,
            playbook,
            secrets.token_urlsafe(32),
            datetime.now(UTC),
            people=people,
            progress=bar.update,
            first=first,
        )
    click.echo(f"ok: {len(ids)} demo people created in table {table}")


def _store(table: str, endpoint_url: str | None, region: str) -> Store:
    """The table the operator names; a loopback (moto) endpoint needs no real credentials."""
    from befriend.store import Store

    if endpoint_url and urlsplit(endpoint_url).hostname in ("127.0.0.1", "localhost", "::1"):
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "local")
    return Store(table, endpoint_url=endpoint_url, region=region)


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

    store = _store(table, endpoint_url, region)
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


@main.group()
def consent() -> None:
    """Scheduled consent work."""


@consent.command()
@click.option("--table", envvar="BEFRIEND_TABLE", default="befriend", show_default=True)
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="DynamoDB endpoint (e.g. moto).")
@click.option("--region", envvar="AWS_DEFAULT_REGION", default="eu-west-1", show_default=True)
@click.option(
    "--playbook",
    "playbook_file",
    envvar="BEFRIEND_PLAYBOOK",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The playbook in force, as the API reads it (default: the packaged one).",
)
@click.option(
    "--event-bus",
    envvar="BEFRIEND_EVENT_BUS",
    help="EventBridge bus for the changes the sweep makes.",
)
def sweep(
    table: str,
    endpoint_url: str | None,
    region: str,
    playbook_file: Path | None,
    event_bus: str | None,
) -> None:
    """Record lapsed permissions (source `expiry`) and stage moves that time has made."""
    from datetime import UTC, datetime

    from befriend.config import PACKAGE
    from befriend.core.playbook import load_playbook
    from befriend.notify import Notifier
    from befriend.sweeps import sweep_lapses

    store = _store(table, endpoint_url, region)
    playbook = load_playbook((playbook_file or PACKAGE / "playbook.toml").read_text())
    notifier = Notifier(event_bus, region=region) if event_bus else None
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


# befriend.keys.ROLES, spelled out so that parsing options does not import boto3.
KEY_ROLES = ("reader", "ingest", "admin")
Command = TypeVar("Command", bound=Callable[..., None])


def _table_options(command: Command) -> Command:
    """--table, --endpoint-url and --region, as `ledger verify` takes them."""
    command = click.option(
        "--region", envvar="AWS_DEFAULT_REGION", default="eu-west-1", show_default=True
    )(command)
    command = click.option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="DynamoDB endpoint, e.g. the moto endpoint `befriend serve` prints.",
    )(command)
    table = click.option("--table", envvar="BEFRIEND_TABLE", default="befriend", show_default=True)
    return table(command)


def _stamp(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@main.group()
def keys() -> None:
    """API keys for marketers and their systems: reader, ingest or admin."""


@keys.command("create")
@click.option("--role", type=click.Choice(KEY_ROLES), required=True, help="What the key may do.")
@click.option("--name", required=True, help='Who or what uses the key, e.g. "CRM sync".')
@_table_options
def create_key(role: str, name: str, table: str, endpoint_url: str | None, region: str) -> None:
    """Make a key and print it. It is shown this once: only its hash is stored."""
    from befriend.keys import Keys

    try:
        plain, key = Keys(_store(table, endpoint_url, region)).create(name, role, datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from exc
    click.echo(f"id:   {key.id}")
    click.echo(f"name: {key.name}")
    click.echo(f"role: {key.role}")
    click.echo(f"key:  {plain}")
    click.echo("Keep the key somewhere safe now: it cannot be shown again.", err=True)


@keys.command("list")
@_table_options
def list_keys(table: str, endpoint_url: str | None, region: str) -> None:
    """Every key, oldest first: id, name, role, when it was made and revoked."""
    from befriend.keys import Keys

    found = Keys(_store(table, endpoint_url, region)).all()
    if not found:
        click.echo("no keys yet; `befriend keys create` makes one")
        return
    rows = [("id", "name", "role", "created", "revoked")]
    rows += [(k.id, k.name, k.role, _stamp(k.created_at), _stamp(k.revoked_at)) for k in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo(line.rstrip())


@keys.command("revoke")
@click.argument("key_id")
@_table_options
def revoke_key(key_id: str, table: str, endpoint_url: str | None, region: str) -> None:
    """Revoke the key with KEY_ID (as `keys list` shows it); it stops working at once."""
    from befriend.keys import Keys

    key = Keys(_store(table, endpoint_url, region)).revoke(key_id, datetime.now(UTC))
    if key is None:
        click.echo(
            f"no key: no single key has the id {key_id!r}; `befriend keys list` shows them",
            err=True,
        )
        sys.exit(1)
    click.echo(f"revoked: {key.id} ({key.name}, {key.role}) at {_stamp(key.revoked_at)}")
