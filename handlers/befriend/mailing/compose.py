"""What befriend's own mails say: the confirmation of a sign-up and a link to one's
preferences. Each is a template name and its values; `ses.Mailer` renders and sends it.

Only words the organisation wrote and the person's own confirmed name reach a mail: a
pending sign-up's name was typed by whoever knew the address, so the confirmation mail
greets nobody by name (the confirmation page shows the name, to keep or drop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from befriend.core.email_change import from_binding, undo_binding
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.credentials.tokens import Tokens


@dataclass(frozen=True)
class Mail:
    template: str
    to: str
    values: dict[str, Any]
    unsubscribe_url: str


@dataclass(frozen=True)
class Composer:
    playbook: Playbook
    tokens: Tokens
    site_url: str

    def confirm(self, person: Person) -> Mail:
        """Ask a pending person to confirm exactly the request they (or someone) made."""
        pb, req = self.playbook, person.request
        assert req is not None, "only a pending sign-up is confirmed"
        asked = [
            f"{pb.channels[c].label}: {pb.purposes[p].label}"
            for c, p in req.permissions
            if not (req.gpc and pb.purposes[p].gpc_opt_out)
        ]
        # The link confirms exactly this request: a later sign-up for the same address (by
        # anyone) makes it stale rather than changing what it grants.
        token = self.tokens.issue(
            "confirm", person.id, person.token_generation, request=req.fingerprint()
        )
        return self._mail(
            person,
            "confirm",
            {"asked": asked, "confirm_url": f"{self.site_url}/confirm/#t={token}"},
            name="",
        )

    def manage(self, person: Person, reason: str) -> Mail:
        """A fresh link to a confirmed person's preferences page."""
        token = self.tokens.issue("manage", person.id, person.token_generation)
        return self._mail(
            person,
            "manage",
            {"reason": reason, "manage_url": f"{self.site_url}/preferences/#t={token}"},
            name=person.name,
        )

    def email_change(self, person: Person, new_email: str) -> Mail:
        """Ask the new address to confirm a change to it (double opt-in). The link is good
        for this change only: it names the address in force now (core/email_change.py)."""
        token = self.tokens.issue(
            "email-change",
            person.id,
            person.token_generation,
            request=from_binding(person.email),
            address=new_email,
        )
        url = f"{self.site_url}/email/#t={token}"
        # Greets nobody: whoever holds this mailbox has not shown they are the person yet.
        return self._mail(person, "email-change", {"confirm_url": url}, name="", to=new_email)

    def email_changed(self, person: Person) -> Mail:
        """Tell the address a change left that it was changed, with the link undoing it."""
        previous = person.contact_points.email_previous
        binding = undo_binding(person)
        assert previous is not None and binding is not None, "only a change is undone"
        token = self.tokens.issue("email-undo", person.id, request=binding)
        values = {
            "undo_url": f"{self.site_url}/email/#undo={token}",
            "until": previous.until.strftime("%d %B %Y"),
        }
        return self._mail(person, "email-changed", values, name=person.name, to=previous.address)

    def _mail(
        self,
        person: Person,
        template: str,
        extra: dict[str, Any],
        name: str,
        to: str | None = None,
    ) -> Mail:
        policy = self.playbook.policy
        unsubscribe = self.tokens.issue("unsubscribe", person.id, channel="email")
        policy_url = policy.url if "://" in policy.url else self.site_url + policy.url
        return Mail(
            template,
            person.email if to is None else to,
            {"name": name, "policy_version": policy.version, "policy_url": policy_url, **extra},
            f"{self.site_url}/api/unsubscribe/{unsubscribe}",
        )
