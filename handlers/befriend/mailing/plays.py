"""What a play delivered by befriend says to one person: a mail from the play's own
templates (`templates/mail/plays/<play>.txt` and `.html`), or a text.

A play mail speaks to the person as their page does: their confirmed name, the topics they
chose that the play is about (or all they chose), and their stage in the playbook's own
words. Its `List-Unsubscribe` (RFC 8058) withdraws only the play's purpose by email, and its
footer names the organisation and its postal address. Its content links (`links`, such as
`links.site`) go through befriend's redirect (`web/links.py`), which counts the click once
per mail; the unsubscribe, preferences and privacy policy links go straight to their page,
as they must work whatever the redirect does and count as no engagement, and so does a link
meant to be passed on (`share_url`). No tracking pixel: an opened mail is not counted. A
text is the play's `says`, who it is from, and the playbook's opt-out wording, and nothing
that is not the organisation's own words.

Both are in the person's language (`mailing/language.py`): the templates' words, the
playbook's texts in that language, and the site's pages in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from befriend.core.links import allowed
from befriend.core.megaphone import invite_url
from befriend.core.person import Person
from befriend.core.playbook import Play, Playbook
from befriend.credentials.tokens import Tokens
from befriend.i18n.catalogs import translations
from befriend.i18n.formats import short_time
from befriend.mailing.compose import Mail, unsubscribe_url
from befriend.mailing.language import language_of, page_url

PLAY_TEMPLATES = "plays"  # under templates/mail/


def template_of(play: Play) -> str:
    """The pair of templates a play's mail is rendered from (without `.txt`/`.html`)."""
    return f"{PLAY_TEMPLATES}/{play.id}"


class PlayComposer(Struct, frozen=True):
    playbook: Playbook
    tokens: Tokens
    site_url: str

    def mail(
        self, person: Person, play: Play, *, send: str | None = None, at: datetime | None = None
    ) -> Mail:
        """The play's mail for this person, to their own address. `send` is the claimed send
        it delivers and `at` the moment its links are signed (now by default): the redirect
        counts one click per send, or per mail signed at one moment when there is none."""
        language = language_of(person, self.playbook)
        pb = self.playbook.in_language(language)
        play = pb.plays.get(play.id, play)
        signed = at or self.tokens.clock()
        assert play.purpose is not None, "a site play is shown on the person's page"
        unsubscribe = self.tokens.issue(
            "unsubscribe", person.id, channel=play.channel, purpose=play.purpose
        )
        manage = self.tokens.issue("manage", person.id, person.token_generation)
        home = self._page(language, "/")
        code = person.megaphone.invite
        values: dict[str, Any] = {
            **self._about(person, play, pb),
            "language": language,
            "links": {"site": self.link(person, play, home, send=send, at=signed)},
            # A link meant to be passed on (refer-a-friend) goes straight to the site: through
            # the redirect it would carry the person's id to whoever gets it, and count the
            # friend's visit as theirs. Their own invite link when they have one (a random
            # code, nothing of theirs in it), so whoever joins through it counts for them.
            # The site's root, not the person's language: whoever gets it chooses their own.
            "share_url": invite_url(self.site_url, code) if code else f"{self.site_url}/",
            "invites": code is not None,
            "manage_url": self._page(language, f"/preferences/#t={manage}"),
            "policy_url": self._page(language, pb.policy.url),
            "policy_version": pb.policy.version,
            "purpose_label": pb.purposes[play.purpose].label,
            "organisation_name": pb.organisation.name,
            "organisation_address": pb.organisation.address,
            "asks": self._asks(play, pb, language),
        }
        return Mail(
            template_of(play),
            person.email,
            values,
            unsubscribe_url(self.site_url, self.playbook, language, unsubscribe),
        )

    def _page(self, language: str, path: str) -> str:
        return page_url(self.site_url, self.playbook, language, path)

    def link(self, person: Person, play: Play, url: str, *, send: str | None, at: datetime) -> str:
        """`url` as a link through the redirect, signed for this person, play and send.
        Raises ValueError for a destination the playbook does not allow (a template's
        mistake, found when the mail is composed rather than when someone clicks)."""
        if not allowed(url, self.site_url, self.playbook.organisation.link_hosts):
            raise ValueError("a play mail links only to the site and the playbook's link_hosts")
        token = self.tokens.issue("click", person.id, play=play.id, send=send, url=url, at=at)
        return f"{self.site_url}/api/r/{token}"

    def text(self, person: Person, play: Play) -> str:
        """The play's text message: who it is from, what the play says, how to stop."""
        language = language_of(person, self.playbook)
        pb = self.playbook.in_language(language)
        says = pb.plays.get(play.id, play).says
        stop = pb.feedback.sms_opt_out[0].upper()
        # Translators: the end of a text message; %(word)s is the keyword that stops texts
        # (STOP), which stays as it is.
        how = translations(language).gettext("Reply %(word)s to stop.") % {"word": stop}
        return f"{pb.organisation.name}: {says} {how}"

    def _about(self, person: Person, play: Play, pb: Playbook) -> dict[str, Any]:
        chosen = [t for t in pb.topics if t in person.interests]
        shared = [t for t in chosen if t in play.interests] or chosen
        stage = next((s for s in pb.stages if s.id == person.relationship.stage), pb.stages[0])
        return {
            "name": person.name,
            "says": play.says,
            "interest_labels": [pb.topics[t] for t in shared],
            "stage_label": stage.label,
            "stage_says": stage.says,
            "subject": play.says,
        }

    def _asks(self, play: Play, pb: Playbook, language: str) -> dict[str, Any] | None:
        if play.asks is None:
            return None
        channel = pb.channels[play.asks[0]]
        quiet = channel.quiet_hours
        default = self.playbook.organisation.language
        # Times of day on the person's own clock, as their language writes them (21:00,
        # 9:00 PM): quiet hours hold wherever the person is, so no zone is converted.
        return {
            "channel_label": channel.label,
            "purpose_label": pb.purposes[play.asks[1]].label,
            "quiet_from": short_time(quiet.start, language, default) if quiet else None,
            "quiet_until": short_time(quiet.end, language, default) if quiet else None,
        }
