"""Feedback sources: the tools that report unsubscribes, complaints and bounces back
(`POST /api/feedback/<source>`): add, list, remove. docs/integrations.md says how each
tool is connected."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from befriend.cli.audit import record
from befriend.cli.base import main, open_store, stamp, table_options
from befriend.cli.registry import columns, keep_safe, missing, shown_once

# befriend.core.tool_feedback.KINDS, spelled out so that parsing options imports nothing.
KINDS = ("generic", "mailchimp", "brevo")
WHERE = {
    "generic": "Sign each notice per Standard Webhooks with this secret (whsec_...).",
    "mailchimp": "Paste the URL into Mailchimp: Audience > Settings > Webhooks.",
    "brevo": "Give Brevo the URL, and the secret as its bearer token (auth) or as the "
    "password of https://user:<secret>@host/... in the URL.",
}


@main.group("feedback-sources")
def feedback_sources() -> None:
    """Tools that tell befriend of unsubscribes, complaints and bounces: generic, mailchimp
    or brevo."""


@feedback_sources.command("add")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="The tool's format.")
@click.option("--name", required=True, help='What the tool is, e.g. "Newsletter in Mailchimp".')
@click.option("--channel", default=None, help="A mail tool's email channel (default: email).")
@click.option("--purpose", default=None, help="A mail tool's one purpose (default: all).")
@click.option("--site-url", envvar="BEFRIEND_SITE_URL", default="", help="To print whole URLs.")
@table_options
def add_source(
    kind: str,
    name: str,
    channel: str | None,
    purpose: str | None,
    site_url: str,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Register a tool and print its URL and secret, shown this once."""
    from befriend.credentials.feedback_sources import FeedbackSources

    store = open_store(table, endpoint_url, region)
    record(store, "feedback_source.add", subject=name)
    try:
        secret, made = FeedbackSources(store).add(kind, name, datetime.now(UTC), channel, purpose)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    shown_once(
        [
            ("id", made.id),
            ("kind", made.kind),
            ("name", made.name),
            ("url", f"{site_url.rstrip('/')}{made.path(secret)}"),
            ("secret", secret),
        ],
        WHERE[kind],
        keep_safe("secret"),
    )


@feedback_sources.command("list")
@table_options
def list_sources(table: str, endpoint_url: str | None, region: str) -> None:
    """Every source, oldest first: id, kind, name, channel, purpose, when it was added."""
    from befriend.credentials.feedback_sources import FeedbackSources

    found = FeedbackSources(open_store(table, endpoint_url, region)).all()
    columns(
        ("id", "kind", "name", "channel", "purpose", "added"),
        [
            (f.id, f.kind, f.name, f.channel or "-", f.purpose or "-", stamp(f.created_at))
            for f in found
        ],
        "no feedback sources yet; `befriend feedback-sources add` makes one",
    )


@feedback_sources.command("remove")
@click.argument("source_id")
@table_options
def remove_source(source_id: str, table: str, endpoint_url: str | None, region: str) -> None:
    """Remove the source SOURCE_ID: its notices are refused from now on."""
    from befriend.credentials.feedback_sources import FeedbackSources

    sources = FeedbackSources(open_store(table, endpoint_url, region))
    if any(f.id == source_id for f in sources.all()):
        record(sources.store, "feedback_source.remove", subject=source_id)
    gone = sources.remove(source_id)
    if gone is None:
        missing(f"no source {source_id!r}; `befriend feedback-sources list` shows them")
    click.echo(f"removed: {gone.id} ({gone.kind}, {gone.name})")
