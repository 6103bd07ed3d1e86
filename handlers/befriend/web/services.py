"""What the views need, built once per app and reached through `services()`."""

from __future__ import annotations

from flask import current_app
from msgspec import Struct

from befriend.aws.files import Files
from befriend.bus.notify import Notifier
from befriend.clock import Clock
from befriend.config import Settings
from befriend.core.playbook import Playbook
from befriend.credentials.pseudonyms import Pseudonyms
from befriend.credentials.tokens import Tokens
from befriend.mailing.compose import Composer
from befriend.mailing.jobs import MailWork
from befriend.mailing.queue import MailQueue
from befriend.mailing.ses import Mailer
from befriend.mailing.sms import CodeSender, Texter
from befriend.store import Store


class Services(Struct, frozen=True):
    settings: Settings
    store: Store
    clock: Clock
    mailer: Mailer
    playbook: Playbook
    tokens: Tokens
    pseudonyms: Pseudonyms
    notifier: Notifier
    queue: MailQueue
    # The queue long jobs fan out over (None: this deployment runs none from a request).
    work: MailQueue | None
    exports: Files  # the bucket of audience exports
    texter: Texter | None = None  # texts the codes that verify numbers (None: none sent)

    @property
    def composer(self) -> Composer:
        return Composer(self.playbook, self.tokens, self.settings.site_url)

    @property
    def mail_work(self) -> MailWork:
        """What the mail worker needs, from the same parts the API uses."""
        return MailWork(
            self.store,
            self.mailer,
            self.composer,
            self.pseudonyms,
            self.clock,
            self.settings.mails_per_hour,
            codes=None
            if self.texter is None
            else CodeSender(
                self.store,
                self.texter,
                self.pseudonyms,
                self.clock,
                self.playbook,
            ),
        )


def services() -> Services:
    found: Services = current_app.extensions["befriend"]
    return found
