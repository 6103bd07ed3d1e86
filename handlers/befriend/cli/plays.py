"""Plays as befriend delivers them: `plays preview` shows what one person would receive."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import click

from befriend.cli.base import load_playbook_file, main, open_store, playbook_option, table_options


@main.group()
def plays() -> None:
    """Plays befriend delivers: preview one for a person."""


@plays.command("preview")
@click.argument("play_id", metavar="PLAY")
@click.option("--person", "person_id", required=True, help="The person's id.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the mail's HTML part to this file, to open in a browser.",
)
@click.option(
    "--site-url",
    envvar="BEFRIEND_SITE_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The site the mail's links point to.",
)
@playbook_option
@table_options
def preview(
    play_id: str,
    person_id: str,
    html_file: Path | None,
    site_url: str,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Show the play PLAY as the person would receive it (a mail: its subject, text part
    and, with --html, its HTML part; a text: its words), without sending anything.

    The links in it are signed with a key made for this preview only, so none of them
    opens the person's page or unsubscribes them: a preview hands no one their access."""
    from jinja2 import TemplateNotFound

    from befriend.clock import system_clock
    from befriend.config import default_templates
    from befriend.credentials.tokens import Tokens
    from befriend.mailing.plays import PlayComposer, template_of
    from befriend.mailing.ses import Mailer, mail_templates

    pb = load_playbook_file(playbook_file)
    play = pb.plays.get(play_id)
    if play is None:
        raise click.BadParameter(f"no play {play_id!r} in the playbook", param_hint="PLAY")
    channel = pb.channels.get(play.channel)
    if channel is None:
        raise click.BadParameter(
            f"{play_id!r} is shown on the person's own page, not delivered", param_hint="PLAY"
        )
    store = open_store(table, endpoint_url, region)
    person = store.person(person_id, datetime.now(UTC))
    if person is None:
        raise click.BadParameter(f"no person {person_id!r} in table {table}", param_hint="--person")
    composer = PlayComposer(pb, Tokens(secrets.token_hex(32), system_clock), site_url.rstrip("/"))
    if channel.kind == "phone":
        click.echo(composer.text(person, play))
        return
    if channel.kind != "email":
        raise click.BadParameter(
            f"{play_id!r} goes by {channel.label.lower()}: befriend makes it a task, not a mail",
            param_hint="PLAY",
        )
    mail = composer.mail(person, play)
    mailer = Mailer(
        pb.organisation.sender, pb.organisation.name, mail_templates(default_templates())
    )
    try:
        msg = mailer.render(mail.template, mail.to, mail.values, mail.unsubscribe_url)
    except TemplateNotFound as exc:
        raise click.ClickException(
            f"templates/mail/{template_of(play)}.txt and .html are needed to deliver this "
            f"play (missing: {exc.name})"
        ) from exc
    click.echo(f"Subject: {msg['Subject']}")
    click.echo(f"List-Unsubscribe: {msg['List-Unsubscribe']}")
    click.echo("")
    click.echo(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    if html_file is not None:
        html_file.write_text(msg.get_body(("html",)).get_content(), encoding="utf-8")  # type: ignore[union-attr]
        click.echo(f"HTML part written to {html_file}")
