"""Mail: rendered from `templates/mail/`, sent through SES with one-click unsubscribe headers.

Each mail is a pair of templates, `<name>.txt` (first line `Subject: …`, a blank line, then
the text part) and `<name>.html`. Every mail says who sends it and why it arrives, and
carries `List-Unsubscribe` with a single-purpose token and `List-Unsubscribe-Post` (RFC 8058),
so a mailbox provider can offer unsubscribe without opening any page.

A mail is written in the language its values name (`language`, the default's when absent):
the templates' words (`_()`, `{% trans %}`) come from that language's catalog, each
language's templates made once and kept. Its text part is wrapped for reading, as a
translated paragraph is one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from jinja2 import BaseLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from befriend.aws import Holder
from befriend.i18n.catalogs import translations
from befriend.i18n.languages import DEFAULT, PSEUDO
from befriend.mailing.language import in_sentence, wrapped

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

# A visitor waits for SES at most a few seconds; past that the request answers 503 and the
# visitor's retry sends the mail again.
CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2}
)

# A play's mail is sent at most once (jobs/dispatch.py): a call whose answer is lost is not
# sent again by botocore, as SES may have taken it. Throttling is handled by the caller.
ONE_TRY = Config(
    connect_timeout=2, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 1}
)


def mail_templates(root: Path) -> Environment:
    """The mail templates under `root`, in the default language."""
    return in_language(FileSystemLoader(root), DEFAULT)


def in_language(loader: BaseLoader, code: str) -> Environment:
    """Templates from `loader` whose words are in the language `code`."""
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    # A message's line breaks and indentation are the template's, not the translator's.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(code), newstyle=True)  # type: ignore[attr-defined]
    env.filters["in_sentence"] = lambda label: in_sentence(label, code)
    pseudo = PSEUDO.get(code)
    env.globals["direction"] = pseudo.direction if pseudo else "ltr"
    return env


class Mailer(Holder["SESClient"]):
    service = "ses"
    config = CLIENT_CONFIG

    def __init__(
        self,
        sender: str,
        sender_name: str,
        templates: Environment,
        *,
        client: SESClient | None = None,
        region: str | None = None,
        configuration_set: str | None = None,
    ) -> None:
        super().__init__(client, region=region)
        self.sender, self.sender_name, self.templates = sender, sender_name, templates
        self.configuration_set = configuration_set
        self._one_try: Mailer | None = None
        # The templates in each language spoken so far, made on first use and kept.
        self._languages: dict[str, Environment] = {DEFAULT: templates}

    def one_try(self) -> Mailer:
        """This mailer with a client of its own that tries each call once (`ONE_TRY`), for
        mail that must go at most once; made on first use, then kept."""
        if self._one_try is None:
            meta = self.client.meta
            client: Any = boto3.client(
                "ses", region_name=meta.region_name, endpoint_url=meta.endpoint_url, config=ONE_TRY
            )
            self._one_try = Mailer(
                self.sender,
                self.sender_name,
                self.templates,
                client=client,
                configuration_set=self.configuration_set,
            )
            self._one_try._languages = self._languages
        return self._one_try

    def templates_in(self, code: str) -> Environment:
        """The mail templates in the language `code`."""
        found = self._languages.get(code)
        if found is None:
            loader = self.templates.loader
            assert loader is not None, "mail templates come from a loader"
            found = self._languages[code] = in_language(loader, code)
        return found

    def render(
        self, name: str, to: str, context: dict[str, Any], unsubscribe_url: str
    ) -> EmailMessage:
        """Build the message without sending it, in the language `context` names."""
        ctx = {
            "language": DEFAULT,
            **context,
            "unsubscribe_url": unsubscribe_url,
            "sender_name": self.sender_name,
        }
        templates = self.templates_in(ctx["language"])
        text = templates.get_template(f"mail/{name}.txt").render(ctx)
        head, _, body = text.partition("\n\n")
        if not head.startswith("Subject: "):
            raise ValueError(f"mail/{name}.txt must start with a 'Subject: ' line")
        body = wrapped(body)
        html = templates.get_template(f"mail/{name}.html").render(ctx)
        msg = EmailMessage()
        msg["Subject"] = head.removeprefix("Subject: ").strip()
        msg["From"] = formataddr((self.sender_name, self.sender))
        msg["To"] = to
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2])
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(body)
        msg.add_alternative(html, subtype="html")
        return msg

    def send(
        self,
        name: str,
        to: str,
        context: dict[str, Any],
        unsubscribe_url: str,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Render and send one mail; returns the SES message id. `tags` become the mail's
        SES message tags, which SES's events carry back in `mail.tags` (names and values
        of ASCII letters, digits, `_` and `-` only)."""
        msg = self.render(name, to, context, unsubscribe_url)
        extra: dict[str, Any] = {}
        if self.configuration_set:
            extra["ConfigurationSetName"] = self.configuration_set
        if tags:
            extra["Tags"] = [{"Name": k, "Value": v} for k, v in tags.items()]
        answer = self.client.send_raw_email(
            Source=self.sender, Destinations=[to], RawMessage={"Data": msg.as_bytes()}, **extra
        )
        return answer["MessageId"]
