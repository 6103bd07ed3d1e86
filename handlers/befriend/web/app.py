"""The Flask app factory: one app for the Lambda entry, `befriend serve` and the tests."""

from __future__ import annotations

from flask import Flask, Response, g
from jinja2 import FileSystemLoader

from befriend.aws.files import Files
from befriend.bus.notify import Notifier
from befriend.bus.webhooks import WebhookQueue
from befriend.clock import Clock, system_clock
from befriend.config import Settings, SettingsError
from befriend.core.playbook import Playbook, load_playbook
from befriend.credentials.pseudonyms import Pseudonyms
from befriend.credentials.tokens import Tokens
from befriend.mailing.queue import MailQueue
from befriend.mailing.ses import Mailer, mail_templates
from befriend.mailing.sms import Texter
from befriend.store import Store
from befriend.web import (
    feedback_in,
    language,
    links,
    marketer,
    oneclick,
    problems,
    public,
    requestlog,
    sign_in,
    visitor,
)
from befriend.web.routing import LazyRule
from befriend.web.services import Services

MAX_BODY = 64 * 1024
# API answers hold personal data: never cached, never framed, never sniffed, no referrer.
# One policy for the API and the static site on the same origin: scripts, styles and calls
# only from this origin, never inline, so no page may carry an inline script or style.
# (`befriend serve` sends SITE_HEADERS for the site, with its own Cache-Control.)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # No other site's window keeps a handle on these pages, nor may embed their resources.
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # blob: for images only: the dashboard shows charts it fetched with the API key.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
}
# The site's pages name themselves to the site alone, never to another host: the sign-up
# form without JavaScript can then pass on the address it was opened with (its `utm_*`,
# `ref` and `invite`) through the `Referer` of its post (`web/inputs.py` `page_query`).
# Tokens ride in the fragment, which no referrer carries.
SITE_HEADERS = {**SECURITY_HEADERS, "Referrer-Policy": "same-origin"}


def read_playbook(settings: Settings) -> Playbook:
    return load_playbook(settings.playbook_path.read_text(encoding="utf-8"))


def mail_queue(settings: Settings) -> MailQueue:
    """The queue BEFRIEND_MAIL_QUEUE names; locally, one named after the table."""
    if settings.mail_queue:
        return MailQueue(settings.mail_queue, region=settings.region)
    if settings.local:
        return MailQueue(name=f"{settings.table}-mail", region=settings.region)
    raise SettingsError("BEFRIEND_MAIL_QUEUE must be the URL of the mail queue")


def work_queue(settings: Settings) -> MailQueue | None:
    """The queue BEFRIEND_WORK_QUEUE names; locally, one named after the table; else none
    (a deployment without one runs no job from a request)."""
    if settings.work_queue:
        return MailQueue(settings.work_queue, region=settings.region)
    if settings.local:
        return MailQueue(name=f"{settings.table}-work", region=settings.region)
    return None


def webhook_queue(settings: Settings, store: Store, clock: Clock) -> WebhookQueue | None:
    """The queue BEFRIEND_WEBHOOK_QUEUE names; locally, one named after the table; else
    none (a deployment without one tells no subscriber). What it refuses is held in the
    table for the redrive."""
    hold = lambda events: store.hold_webhooks(events, clock())  # noqa: E731
    if settings.webhook_queue:
        return WebhookQueue(settings.webhook_queue, region=settings.region, hold=hold)
    if settings.local:
        return WebhookQueue(name=f"{settings.table}-webhooks", region=settings.region, hold=hold)
    return None


def exports_bucket(settings: Settings) -> str:
    """The bucket exports are written to: the deployment's, or locally one named after the
    table (made on first use)."""
    return settings.exports_bucket or f"{settings.table}-exports"


def create_app(
    settings: Settings,
    store: Store | None = None,
    clock: Clock = system_clock,
    mailer: Mailer | None = None,
    playbook: Playbook | None = None,
    notifier: Notifier | None = None,
    queue: MailQueue | None = None,
    work: MailQueue | None = None,
    texter: Texter | None = None,
) -> Flask:
    playbook = playbook or read_playbook(settings)
    table = store or Store(
        settings.table, region=settings.region, counter_shards=settings.counter_shards
    )
    app = Flask("befriend", static_folder=None, template_folder=None)
    app.url_rule_class = LazyRule
    app.jinja_loader = FileSystemLoader(settings.templates)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, MAX_FORM_MEMORY_SIZE=MAX_BODY)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["befriend"] = Services(
        settings=settings,
        store=table,
        clock=clock,
        mailer=mailer
        or Mailer(
            playbook.organisation.sender,
            playbook.organisation.name,
            mail_templates(settings.templates),
            region=settings.region,
            configuration_set=settings.ses_configuration_set,
        ),
        playbook=playbook,
        tokens=Tokens(settings.secret, clock),
        notifier=notifier
        or Notifier(
            settings.event_bus,
            region=settings.region,
            hold=lambda entries: table.hold_events(entries, clock()),
            webhooks=webhook_queue(settings, table, clock),
        ),
        pseudonyms=Pseudonyms(settings.secret),
        queue=queue or mail_queue(settings),
        work=work or work_queue(settings),
        exports=Files(exports_bucket(settings), region=settings.region),
        texter=texter or Texter(region=settings.region),
    )
    # First, so every answer has a request id and a log line whatever fails after.
    requestlog.register(app)
    problems.register(app)
    language.register(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(visitor.bp)
    app.register_blueprint(oneclick.bp)
    app.register_blueprint(links.bp)
    app.register_blueprint(feedback_in.bp)
    app.register_blueprint(marketer.bp)
    app.register_blueprint(sign_in.bp)
    if settings.local:
        from befriend.web import dev, local_cognito

        app.register_blueprint(dev.bp)
        app.register_blueprint(local_cognito.bp)

    @app.context_processor
    def _organisation() -> dict[str, str]:
        return {"organisation": playbook.organisation.name}

    @app.before_request
    def _received() -> None:
        # Withdrawals are timed from here to the write that records them (reports).
        g.received = clock()

    @app.after_request
    def _secure(answer: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            answer.headers.setdefault(name, value)
        return answer

    return app
