"""The local outbox (`/dev/outbox`): every mail moto holds is shown, and what it keeps parsed
between reads stays bounded however long `befriend serve` runs."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
from moto.ses.models import ses_backends

from befriend.web import dev
from tests.conftest import REGION, SENDER


def send(ses: Any, n: int) -> str:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = SENDER, f"outbox{n}@example.org", f"Mail {n}"
    mail.set_content(f"Mail number {n}: https://prefs.example/me/")
    answer = ses.send_raw_email(
        Source=SENDER, Destinations=[mail["To"]], RawMessage={"Data": mail.as_bytes()}
    )
    return str(answer["MessageId"])


def test_only_the_newest_mails_moto_still_holds_stay_parsed(
    client: Any, ses: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dev, "KEEP_PARSED", 3)
    sent = [send(ses, n) for n in range(5)]

    shown = client.get("/dev/outbox.json").get_json()["mails"]

    # Every mail is still shown, newest first; only the newest three stay parsed.
    assert [m["id"] for m in shown[:5]] == sent[::-1]
    assert [m["subject"] for m in shown[:2]] == ["Mail 4", "Mail 3"]
    assert set(dev._parsed) == set(sent[-3:])

    # A mail moto let go of (as `befriend serve` has it trim its list) is forgotten too.
    captured = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    captured[:] = [m for m in captured if m.id != sent[-1]]
    shown = client.get("/dev/outbox.json").get_json()["mails"]
    assert [m["id"] for m in shown[:4]] == sent[-2::-1]
    assert set(dev._parsed) == set(sent[-4:-1])
