"""Tracked sign-up links: one per campaign (a talk, a shop counter's QR code, a partner
site), so the sources report counts the sign-ups each brought."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from befriend.cli.base import main, open_store, stamp, table_options

SITE = click.option(
    "--site-url",
    envvar="BEFRIEND_SITE_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The sign-up site's address, as the API is configured with.",
)


@main.group()
def links() -> None:
    """Tracked sign-up links: each carries a campaign the sources report counts by."""


@links.command("create")
@click.option("--campaign", required=True, help='What the link is for, e.g. "spring-talk".')
@click.option("--source", default="link", show_default=True, help='Where it is shown, e.g. "qr".')
@SITE
@table_options
def create_link(
    campaign: str, source: str, site_url: str, table: str, endpoint_url: str | None, region: str
) -> None:
    """Make a tracked link and print the sign-up address that carries it."""
    from befriend.core.megaphone import label, signup_url
    from befriend.credentials.invites import new_tracked_link

    names = {"--campaign": label(campaign), "--source": label(source)}
    for hint, clean in names.items():
        if not clean:
            raise click.BadParameter("must hold a letter or digit", param_hint=hint)
    store = open_store(table, endpoint_url, region)
    link = new_tracked_link(store, names["--source"], names["--campaign"], datetime.now(UTC))
    click.echo(f"code:     {link.code}")
    click.echo(f"source:   {link.source}")
    click.echo(f"campaign: {link.campaign}")
    click.echo(
        f"url:      {signup_url(site_url.rstrip('/'), link.source, link.campaign, link.code)}"
    )


@links.command("list")
@SITE
@table_options
def list_links(site_url: str, table: str, endpoint_url: str | None, region: str) -> None:
    """Every tracked link, newest first: code, source, campaign, when made, address."""
    from befriend.core.megaphone import signup_url

    found = sorted(
        open_store(table, endpoint_url, region).tracked_links(),
        key=lambda link: link.created_at,
        reverse=True,
    )
    if not found:
        click.echo("no links yet; `befriend links create --campaign NAME` makes one")
        return
    for link in found:
        url = signup_url(site_url.rstrip("/"), link.source, link.campaign, link.code)
        click.echo(f"{link.code}  {link.source}  {link.campaign}  {stamp(link.created_at)}  {url}")
