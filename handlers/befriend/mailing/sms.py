"""Text messages: the codes that verify a number, sent through SNS.

SNS `Publish` to a `PhoneNumber` is what moto records (its SNS backend keeps every text it
was asked to send), so `befriend serve` and the tests capture texts as they capture mail;
End User Messaging SMS (pinpoint-sms-voice-v2) is not in moto 5.2.6. In AWS the account's
SNS SMS settings (spend limit, sender id, origination numbers) apply.

The code is made, kept (as a keyed hash) and sent by the mail worker, after the request
answered: a request to verify a number answers the same and does the same work whoever the
number belongs to, and the per-number budget is taken where the text goes out. The text is
in the person's language (`mailing/language.py`)."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from msgspec import Struct

from befriend.aws import Holder
from befriend.core.person import parse_iso
from befriend.core.phones import CODE_DIGITS, CODE_LIFETIME, CODES_PER_HOUR
from befriend.core.playbook import Playbook
from befriend.credentials.pseudonyms import Pseudonyms
from befriend.i18n import formats
from befriend.i18n.catalogs import translations
from befriend.i18n.languages import DEFAULT
from befriend.mailing.language import language_of
from befriend.store import Store, keys

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

    from befriend.clock import Clock

log = logging.getLogger("befriend.mail")

CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2}
)
ONE_TRY = Config(
    connect_timeout=2, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 1}
)


class Texter(Holder["SNSClient"]):
    """Sends one text through SNS, as a transactional message (sent even to numbers that
    opted out of promotional ones, as a code is asked for by its holder)."""

    service = "sns"
    config = CLIENT_CONFIG

    def __init__(
        self, sender_id: str = "", *, client: SNSClient | None = None, region: str | None = None
    ) -> None:
        super().__init__(client, region=region)
        self.sender_id = sender_id
        self._one_try: Texter | None = None

    def one_try(self) -> Texter:
        """This texter with a client of its own that tries each call once, for texts that
        must go at most once (a play's: jobs/dispatch.py); made on first use, then kept."""
        if self._one_try is None:
            meta = self.client.meta
            client: Any = boto3.client(
                "sns", region_name=meta.region_name, endpoint_url=meta.endpoint_url, config=ONE_TRY
            )
            self._one_try = Texter(self.sender_id, client=client)
        return self._one_try

    def send(self, number: str, text: str, *, promotional: bool = False) -> str:
        """Send one text; returns the SNS message id. A play's text is `promotional` (SNS
        then honours the number's own opt-out of promotional texts)."""
        kind = "Promotional" if promotional else "Transactional"
        attributes: dict[str, Any] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": kind}
        }
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {
                "DataType": "String",
                "StringValue": self.sender_id,
            }
        answer = self.client.publish(PhoneNumber=number, Message=text, MessageAttributes=attributes)
        return answer["MessageId"]


def phone_code_job(person_id: str, number: str, head: dict[str, Any]) -> dict[str, Any]:
    """The job that texts a code to the person's number (`head`: the queue's job head)."""
    return {**head, "kind": "phone-code", "person": person_id, "number": number}


def code_text(organisation: str, code: str, language: str = DEFAULT, default: str = DEFAULT) -> str:
    """The text that carries a code, in `language` (`default`: the playbook's, whose
    locale writes the number when `language` has none). The code comes first: a phone
    shows it in its notification, and may offer to fill it in."""
    minutes = formats.number(int(CODE_LIFETIME.total_seconds() // 60), language, default)
    _ = translations(language).gettext
    return _(
        "%(code)s is your %(organisation)s code. It confirms this number and is good for "
        "%(minutes)s minutes. If you did not ask for it, ignore this text."
    ) % {"code": code, "organisation": organisation, "minutes": minutes}


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


class CodeSender(Struct, frozen=True):
    """What a `phone-code` job does: if the person still has that number unverified and the
    number's hourly budget allows, make a code, keep its keyed hash, text it."""

    store: Store
    texter: Texter
    pseudonyms: Pseudonyms
    clock: Clock
    playbook: Playbook

    def run(self, job: dict[str, Any]) -> bool:
        """True when a text went out (or this job's text went out before)."""
        number = str(job["number"])
        person = self.store.person(str(job["person"]), self.clock())
        phone = person.contact_points.phone if person is not None else None
        if person is None or phone is None or phone.number != number or phone.verified_at:
            return False  # the number changed or was verified since: no code for it
        budget = keys.text_rate(self.pseudonyms.text_rate(number))
        asked = parse_iso(job["at"])
        if not self.store.take_mail_slot("", asked, CODES_PER_HOUR, job=job["id"], budget=budget):
            log.info("code limit reached for a number; nothing sent")
            return False
        code = new_code()
        self.store.put_code(
            person.id, phone.key, self.pseudonyms.phone_code(person.id, number, code), asked
        )
        organisation = self.playbook.organisation
        language = language_of(person, self.playbook)
        self.texter.send(
            number, code_text(organisation.name, code, language, organisation.language)
        )
        return True
