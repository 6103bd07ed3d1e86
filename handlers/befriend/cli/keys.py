"""Marketer API keys: create, list, revoke (only a hash is stored)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from befriend.cli.audit import record
from befriend.cli.base import KEY_ROLES, main, open_store, stamp, table_options
from befriend.cli.registry import columns, keep_safe, missing, shown_once


@main.group()
def keys() -> None:
    """API keys for marketers and their systems: reader, ingest or admin."""


@keys.command("create")
@click.option("--role", type=click.Choice(KEY_ROLES), required=True, help="What the key may do.")
@click.option("--name", required=True, help='Who or what uses the key, e.g. "CRM sync".')
@table_options
def create_key(role: str, name: str, table: str, endpoint_url: str | None, region: str) -> None:
    """Make a key and print it. It is shown this once: only its hash is stored."""
    from befriend.credentials.keys import Keys

    store = open_store(table, endpoint_url, region)
    record(store, "key.create", subject=f"{name} ({role})")
    try:
        plain, key = Keys(store).create(name, role, datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from exc
    shown_once(
        [("id", key.id), ("name", key.name), ("role", key.role), ("key", plain)], keep_safe("key")
    )


@keys.command("list")
@table_options
def list_keys(table: str, endpoint_url: str | None, region: str) -> None:
    """Every key, oldest first: id, name, role, when it was made and revoked."""
    from befriend.credentials.keys import Keys

    found = Keys(open_store(table, endpoint_url, region)).all()
    columns(
        ("id", "name", "role", "created", "revoked"),
        [(k.id, k.name, k.role, stamp(k.created_at), stamp(k.revoked_at)) for k in found],
        "no keys yet; `befriend keys create` makes one",
    )


@keys.command("revoke")
@click.argument("key_id")
@table_options
def revoke_key(key_id: str, table: str, endpoint_url: str | None, region: str) -> None:
    """Revoke the key with KEY_ID (as `keys list` shows it); it stops working at once."""
    from befriend.credentials.keys import Keys

    store = open_store(table, endpoint_url, region)
    if any(k.id == key_id for k in Keys(store).all()):
        record(store, "key.revoke", subject=key_id)
    key = Keys(store).revoke(key_id, datetime.now(UTC))
    if key is None:
        missing(f"no key: no single key has the id {key_id!r}; `befriend keys list` shows them")
    click.echo(f"revoked: {key.id} ({key.name}, {key.role}) at {stamp(key.revoked_at)}")
