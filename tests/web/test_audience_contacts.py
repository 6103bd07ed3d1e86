"""The audience of a play on a phone or postal channel, through the marketer's API: only
people with a verified number / a postal address for it, each row carrying that one
contact point (never the email address), the same in JSON, CSV and the exported file; and
the person's own next steps say why."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook, load_playbook
from befriend.credentials.keys import Keys
from befriend.store import Store
from tests.conftest import SignUp, Visitor, bearer, phone_number
from tests.core.test_contact_plays import PLAYS
from tests.playbooks import english_only
from tests.web.test_audience_export import download, export
from tests.web.test_marketer import Keyring, marketer_roles

TEXT = ("sms", "offers")
POST = ("postal", "offers")
HOME = {
    "lines": ["1 High Street", "Flat 2"],
    "postcode": "AB1 2CD",
    "city": "Leeds",
    "country": "GB",
}
ENVELOPE = "1 High Street\nFlat 2\nAB1 2CD Leeds\nGB"


@pytest.fixture
def playbook() -> Playbook:
    """The playbook with a text play and a postal play for friends (tests/core)."""
    return load_playbook(english_only() + PLAYS)


@pytest.fixture
def keyring(store: Store, clock: SettableClock) -> Keyring:
    return {role: Keys(store).create(f"{role} key", role, clock())[0] for role in marketer_roles()}


def rows(client: Any, keyring: Keyring, play: str) -> list[dict[str, Any]]:
    answer = client.get(f"/api/plays/{play}/audience?limit=200", headers=bearer(keyring["ingest"]))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return list(answer.get_json()["people"])


def csv_rows(client: Any, keyring: Keyring, play: str) -> list[list[str]]:
    url = f"/api/plays/{play}/audience?format=csv&limit=200"
    answer = client.get(url, headers=bearer(keyring["ingest"]))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return list(csv.reader(io.StringIO(answer.get_data(as_text=True), newline="")))


def reason(visitor: Visitor, play: str) -> str | None:
    steps = visitor.get().get_json()["relationship"]["next_steps"]
    return next((s["reason"] for s in steps if s["play"] == play), None)


def test_a_text_play_lists_only_verified_numbers_and_carries_only_the_number(
    app: Any, client: Any, keyring: Keyring, sign_up: SignUp
) -> None:
    verified = sign_up(permissions=(("email", "newsletter"), TEXT), phone=phone_number(1))
    verified.verify_phone()
    waiting = sign_up(permissions=(("email", "newsletter"), TEXT), phone=phone_number(2))
    sign_up()  # the newsletter only

    listed = rows(client, keyring, "text-hello")
    assert [r["id"] for r in listed] == [verified.id]
    assert listed[0]["contact"] == "+447400100001"
    assert verified.email not in listed[0].values()
    said = reason(verified, "text-hello") or ""
    assert said.endswith("we have your verified phone number")
    assert reason(waiting, "text-hello") is None  # asked, but its number is not verified

    table = csv_rows(client, keyring, "text-hello")
    assert table[0] == ["id", "contact", "name", "stage", "circle", "earliest"]
    # The spreadsheet guard makes a cell starting with "+" text; the JSON has it bare.
    assert [(r[0], r[1]) for r in table[1:]] == [(verified.id, "'+447400100001")]
    assert not any(verified.email in cell for r in table for cell in r)

    state = export(client, app, keyring["ingest"], "text-hello")
    assert state["people"] == 1
    assert download(state["download"]) == table


def test_a_postal_play_lists_only_people_with_an_address_and_carries_only_it(
    app: Any, client: Any, keyring: Keyring, sign_up: SignUp
) -> None:
    posted = sign_up()
    gone = sign_up()
    for visitor in (posted, gone):
        given = visitor.client.put("/api/me/contacts/postal", json=HOME, headers=visitor.auth)
        assert given.status_code == 200, given.get_data(as_text=True)
        assert visitor.patch_permissions((*POST, True)).status_code == 200
    # Removing the address ends the permission given for it: out of the audience.
    removed = gone.client.delete("/api/me/contacts/postal", headers=gone.auth)
    assert removed.status_code in (200, 204), removed.get_data(as_text=True)
    never = sign_up()
    assert never.patch_permissions((*POST, True)).status_code == 422  # no address yet

    listed = rows(client, keyring, "catalogue")
    assert [(r["id"], r["contact"]) for r in listed] == [(posted.id, ENVELOPE)]
    assert posted.email not in listed[0].values()
    said = reason(posted, "catalogue") or ""
    assert said.endswith("we have your postal address")
    assert reason(gone, "catalogue") is None

    table = csv_rows(client, keyring, "catalogue")
    assert [(r[0], r[1]) for r in table[1:]] == [(posted.id, ENVELOPE)]  # one quoted cell
    state = export(client, app, keyring["ingest"], "catalogue")
    assert download(state["download"]) == table


def test_an_email_play_carries_the_address_and_not_the_number(
    client: Any, keyring: Keyring, sign_up: SignUp
) -> None:
    both = sign_up(permissions=(("email", "newsletter"), TEXT), phone=phone_number(3))
    both.verify_phone()
    [row] = [r for r in rows(client, keyring, "welcome-letter") if r["id"] == both.id]
    assert row["contact"] == both.email
    assert "+447400100003" not in row.values()
