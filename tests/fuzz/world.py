"""What fuzzed requests act on: confirmed people with their tokens, API keys of every role,
and the mails the app sends, kept in memory.

Mails are rendered to bytes, as SES would get them, but not handed to moto: moto keeps one
outbox per session, and the thousands of mails a fuzz run sends would slow down every later
test that reads it (`/dev/outbox.json` parses all of them on each call).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.credentials.keys import ROLES, Keys
from befriend.credentials.tokens import Scope, Tokens
from befriend.local.moto_patches import forget_models, forget_stream
from befriend.mailing.ses import Mailer
from befriend.web.services import Services
from tests.conftest import Visitor, deliver, phone_number


@dataclass(frozen=True)
class Sent:
    template: str
    to: str
    context: dict[str, Any]
    unsubscribe_url: str

    def token(self) -> str:
        """The token of the mail's confirm or manage link."""
        url = self.context.get("confirm_url") or self.context["manage_url"]
        return str(url).split("#t=", 1)[1]


@dataclass
class Outbox:
    mailer: Mailer
    sent: list[Sent] = field(default_factory=list)

    def send(self, name: str, to: str, context: dict[str, Any], unsubscribe_url: str) -> str:
        # Rendering is what fuzzed names and addresses could break; sending adds nothing.
        self.mailer.render(name, to, context, unsubscribe_url).as_bytes()
        self.sent.append(Sent(name, to, context, unsubscribe_url))
        return f"fuzz-{len(self.sent)}"

    def last_to(self, address: str, template: str) -> Sent:
        return next(m for m in reversed(self.sent) if m.to == address and m.template == template)


@dataclass
class World:
    """One test's people and keys. The current visitor is replaced once erased."""

    app: Flask
    client: FlaskClient
    clock: SettableClock
    playbook: Playbook
    outbox: Outbox
    keys: dict[str, str] = field(default_factory=dict)
    _visitor: Visitor | None = None
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def services(self) -> Services:
        found: Services = self.app.extensions["befriend"]
        return found

    def make_keys(self) -> None:
        keys = Keys(self.services.store)
        for role in ROLES:
            self.keys[role] = keys.create(f"fuzz {role}", role, self.clock())[0]
        revoked, key = keys.create("fuzz revoked", "admin", self.clock())
        keys.revoke(key.id, self.clock())
        self.keys["revoked"] = revoked

    def serial(self) -> int:
        return next(self._numbers)

    def address(self) -> str:
        return f"fuzz{self.serial()}@example.org"

    def signup_body(self, email: str) -> dict[str, Any]:
        pb = self.playbook
        topics = list(pb.topics)[:2]
        pairs = [
            {"channel": c, "purpose": p.id}
            for p in pb.purposes.values()
            for c in ("email", "sms")
            if not p.channels or c in p.channels
        ]
        return {
            "email": email,
            "name": "Fuzz Visitor",
            "policy_version": pb.policy.version,
            "interests": topics,
            "permissions": pairs,
            # Texts need a number; one of its own, as codes to one number are limited.
            "phone": phone_number(self.serial()),
        }

    def pending(self) -> tuple[str, str]:
        """A fresh sign-up: its address and the token of its confirmation link."""
        email = self.address()
        answer = self.client.post("/api/signup", json=self.signup_body(email))
        assert answer.status_code == 202, answer.get_data(as_text=True)
        deliver(self.app)  # the mail worker's turn
        return email, self.outbox.last_to(email, "confirm").token()

    def join(self) -> Visitor:
        email, token = self.pending()
        confirmed = self.client.post("/api/confirm", json={"token": token})
        assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
        body = confirmed.get_json()
        return Visitor(self.client, email, body["manage_token"], body["person"]["id"])

    @property
    def visitor(self) -> Visitor:
        if self._visitor is None:
            self._visitor = self.join()
        return self._visitor

    def forget_moto_history(self) -> None:
        """Drop what moto keeps and nothing here reads: every stream record of the table,
        and every model it ever made (each item written, each backup of one a transaction
        took), for its dashboard. Without this a thousand examples of one operation grow
        the process with every write (with stock moto's whole-table backups, by
        gigabytes)."""
        forget_stream(self.services.settings.region, self.services.settings.table)
        forget_models()

    def retire(self) -> None:
        """The visitor is gone (erased): the next request gets a new one."""
        self._visitor = None

    def token(
        self,
        scope: Scope,
        *,
        generation: int = 0,
        age: timedelta = timedelta(0),
        secret: str | None = None,
        person: str | None = None,
        **claims: Any,
    ) -> str:
        """A token for the current visitor (or `person`), signed `age` ago, with another
        secret if given."""
        now: datetime = self.clock() - age
        tokens = Tokens(secret or self.services.settings.secret, lambda: now)
        return tokens.issue(scope, person or self.visitor.id, generation, **claims)
