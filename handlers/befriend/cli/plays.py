"""Plays as befriend delivers them: `plays preview` shows what one person would receive,
`plays due` who is due what and when, and `befriend dispatch` runs the dispatcher once."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from befriend.cli.base import load_playbook_file, main, open_store, playbook_option, table_options

if TYPE_CHECKING:
    from befriend.core.playbook import Playbook
    from befriend.store import Store
    from befriend.web.services import Services


@main.group()
def plays() -> None:
    """Plays befriend delivers: preview one for a person, or see who is due what."""


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
    from befriend.core.dispatch import TASK, TEXT, how
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
    delivered_as = how(play, pb)  # as the dispatcher would deliver it
    if delivered_as == TEXT:
        click.echo(composer.text(person, play))
        return
    if delivered_as == TASK:
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


@plays.command("due")
@click.option(
    "--within",
    "within_hours",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    help="How far ahead to look, in hours.",
)
@playbook_option
@table_options
def due(
    within_hours: float,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Who befriend would deliver what to, and when: the people due within the next
    --within hours (the by-due index, never a scan), and each play befriend delivers that
    becomes claimable for them by then (`person play channel when`)."""
    from datetime import timedelta

    from befriend.cli.base import stamp
    from befriend.core.dispatch import claimable
    from befriend.store.due import BATCH_GET
    from befriend.store.table import DUE_SHARDS

    pb = load_playbook_file(playbook_file)
    store = open_store(table, endpoint_url, region)
    now = datetime.now(UTC)
    until = now + timedelta(hours=within_hours)
    rows = []
    for shard in range(DUE_SHARDS):
        cursor: str | None = None
        while True:
            ids, cursor = store.due_page(shard, until, cursor, BATCH_GET)
            for read in store.profiles(ids, now):
                for play, at in claimable(read.person, pb, now):
                    if at <= until:
                        rows.append((at, read.person.id, play.id, play.channel))
            if cursor is None:
                break
    if not rows:
        click.echo(f"nothing befriend delivers is due by {stamp(until)}")
        return
    for at, person_id, play_id, channel in sorted(rows):
        click.echo(f"{person_id}  {play_id}  {channel}  {stamp(at)}")


@main.command("dispatch")
@playbook_option
@table_options
def dispatch_once(
    playbook_file: Path | None, table: str, endpoint_url: str | None, region: str
) -> None:
    """Run befriend's dispatcher once, as the schedule does every few minutes: claim the
    plays befriend delivers for the people due now, deliver them (SES, SNS) or make them
    tasks, and say what it claimed, delivered, refused and made tasks of.

    Its mails' links are signed with the deployment's key (BEFRIEND_SECRET or
    BEFRIEND_SECRET_ARN) and point to BEFRIEND_SITE_URL, as the function's are."""
    from befriend.jobs.dispatch import dispatch

    services = _services(load_playbook_file(playbook_file), open_store(table, endpoint_url, region))
    report = dispatch(services)
    for line in report.done:
        click.echo(line)
    figures = ", ".join(f"{k} {v}" for k, v in report.figures().items())
    click.echo(figures + (" (stopped early: throttled)" if report.throttled else ""))


def _services(pb: Playbook, store: Store) -> Services:
    """The parts the dispatcher uses, from the environment as the Lambda entry builds them."""
    from befriend.aws.files import Files
    from befriend.bus.notify import Notifier
    from befriend.clock import system_clock
    from befriend.config import Settings, SettingsError
    from befriend.core.frozen import replace
    from befriend.credentials.pseudonyms import Pseudonyms
    from befriend.credentials.tokens import Tokens
    from befriend.mailing.queue import MailQueue
    from befriend.mailing.ses import Mailer, mail_templates
    from befriend.mailing.sms import Texter
    from befriend.web.app import webhook_queue
    from befriend.web.services import Services

    try:
        settings = replace(Settings.from_env(), table=store.table)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    region = settings.region
    return Services(
        settings=settings,
        store=store,
        clock=system_clock,
        mailer=Mailer(
            pb.organisation.sender,
            pb.organisation.name,
            mail_templates(settings.templates),
            region=region,
            configuration_set=settings.ses_configuration_set,
        ),
        playbook=pb,
        tokens=Tokens(settings.secret, system_clock),
        pseudonyms=Pseudonyms(settings.secret),
        notifier=Notifier(
            settings.event_bus,
            region=region,
            hold=lambda entries: store.hold_events(entries, system_clock()),
            # Claims and what they change are told to webhook subscribers, as the
            # dispatcher's function tells them (BEFRIEND_WEBHOOK_QUEUE).
            webhooks=webhook_queue(settings, store, system_clock),
        ),
        queue=MailQueue(name=f"{store.table}-unused", region=region),
        work=None,
        exports=Files(f"{store.table}-unused", region=region),
        texter=Texter(region=region),
    )
