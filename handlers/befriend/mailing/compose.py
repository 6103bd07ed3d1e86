"""What befriend's own mails say: the confirmation of a sign-up and a link to one's
preferences. Each is a template name and its values; `ses.Mailer` renders and sends it.

Only words the organisation wrote and the person's own confirmed name reach a mail: a
pending sign-up's name was typed by whoever knew the address, so the confirmation mail
greets nobody by name (the confirmation page shows the name, to keep or drop).

Each mail is in one language (`mailing/language.py`): a confirmation in the language of the
page the sign-up came from, every other mail in the person's own. Its words, the
playbook's texts it quotes and the pages its links open are all in that language.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from befriend.core.email_change import from_binding, undo_binding
from befriend.core.person import Person, SignupRequest
from befriend.core.playbook import Playbook
from befriend.credentials.tokens import Tokens
from befriend.i18n.formats import long_date
from befriend.mailing.language import language_of, page_url, spoken


def request_language(request: SignupRequest, playbook: Playbook) -> str:
    """The language a pending sign-up is confirmed in: its page's, as its evidence says."""
    return spoken(playbook, request.evidence.language)


class Mail(Struct, frozen=True):
    template: str
    to: str
    values: dict[str, Any]
    unsubscribe_url: str


class Composer(Struct, frozen=True):
    playbook: Playbook
    tokens: Tokens
    site_url: str

    def confirm(self, person: Person, language: str = "") -> Mail:
        """Ask a pending person to confirm exactly the request they (or someone) made, in
        `language` (the sign-up's page's), else the one its stored request says."""
        req = person.request
        assert req is not None, "only a pending sign-up is confirmed"
        code = spoken(self.playbook, language) if language else request_language(req, self.playbook)
        pb = self.playbook.in_language(code)
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
            code,
            "confirm",
            {"asked": asked, "confirm_url": self._page(code, f"/confirm/#t={token}")},
            name="",
        )

    def manage(self, person: Person, reason: str) -> Mail:
        """A fresh link to a confirmed person's preferences page."""
        code = language_of(person, self.playbook)
        token = self.tokens.issue("manage", person.id, person.token_generation)
        return self._mail(
            person,
            code,
            "manage",
            {"reason": reason, "manage_url": self._page(code, f"/preferences/#t={token}")},
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
        code = language_of(person, self.playbook)
        url = self._page(code, f"/email/#t={token}")
        # Greets nobody: whoever holds this mailbox has not shown they are the person yet.
        return self._mail(person, code, "email-change", {"confirm_url": url}, name="", to=new_email)

    def email_changed(self, person: Person) -> Mail:
        """Tell the address a change left that it was changed, with the link undoing it."""
        previous = person.contact_points.email_previous
        binding = undo_binding(person)
        assert previous is not None and binding is not None, "only a change is undone"
        token = self.tokens.issue("email-undo", person.id, request=binding)
        code = language_of(person, self.playbook)
        values = {
            "undo_url": self._page(code, f"/email/#undo={token}"),
            # The last day, on the person's own calendar: in Auckland, a change undone
            # until 20:00 UTC on the 6th is undone until the 7th.
            "until": long_date(
                previous.until,
                code,
                self.playbook.organisation.language,
                person.preferences.time_zone,
            ),
        }
        return self._mail(
            person, code, "email-changed", values, name=person.name, to=previous.address
        )

    def _page(self, language: str, path: str) -> str:
        return page_url(self.site_url, self.playbook, language, path)

    def _mail(
        self,
        person: Person,
        language: str,
        template: str,
        extra: dict[str, Any],
        name: str,
        to: str | None = None,
    ) -> Mail:
        policy = self.playbook.in_language(language).policy
        unsubscribe = self.tokens.issue("unsubscribe", person.id, channel="email")
        values = {
            "language": language,
            "name": name,
            "policy_version": policy.version,
            "policy_url": self._page(language, policy.url),
            **extra,
        }
        return Mail(
            template,
            person.email if to is None else to,
            values,
            unsubscribe_url(self.site_url, self.playbook, language, unsubscribe),
        )


def unsubscribe_url(site_url: str, playbook: Playbook, language: str, token: str) -> str:
    """The one-click unsubscribe link (`web/oneclick.py`); its page speaks the mail's
    language, which a link from a mail can only say in its query."""
    ask = "" if language == playbook.organisation.language else f"?lang={language}"
    return f"{site_url}/api/unsubscribe/{token}{ask}"
