"""A person's language: the page they decided on is recorded with each decision, the
language they confirmed in becomes theirs, and they may choose another."""

from __future__ import annotations

from typing import Any

import pytest

from befriend.core.frozen import replace
from befriend.core.person import Evidence
from befriend.core.playbook import Playbook
from tests.conftest import Mails, signup_body, token_in

SITE = "https://prefs.example"


@pytest.fixture
def playbook(playbook: Playbook) -> Playbook:
    """The default playbook, its site in English, German and French."""
    organisation = replace(playbook.organisation, languages=("en", "de", "fr"))
    return replace(playbook, organisation=organisation)


def join(client: Any, mails: Mails, playbook: Playbook, email: str, **headers: str) -> Any:
    """Sign up and confirm, both from pages (or clients) the headers describe."""
    seen = len(mails())
    body = signup_body(email, playbook)
    assert client.post("/api/signup", json=body, headers=headers).status_code == 202
    token = token_in(mails()[seen], "confirm")
    confirm = headers.pop("confirm_referer", None) or headers.get("Referer")
    if confirm:
        headers["Referer"] = confirm
    answer = client.post("/api/confirm", json={"token": token}, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def me(client: Any, joined: dict[str, Any], path: str = "/api/me") -> Any:
    answer = client.get(path, headers={"Authorization": f"Bearer {joined['manage_token']}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def test_a_sign_up_from_the_german_pages_is_german_in_its_evidence_and_receipts(
    client: Any, mails: Mails, playbook: Playbook
) -> None:
    joined = join(client, mails, playbook, "de@example.org", Referer=f"{SITE}/de/")
    assert me(client, joined)["settings"]["language"] == "de"
    ledger = me(client, joined, "/api/me/export")["ledger"]
    assert [e["evidence"]["language"] for e in ledger[:2]] == ["de", "de"]
    assert {"what": "language", "old": None, "new": "de"} in ledger[1]["changes"]
    [receipt] = me(client, joined, "/api/me/receipts")["receipts"]
    assert receipt["language"] == "de"
    assert receipt["policyUrl"] == f"{SITE}/de/privacy/"


def test_the_language_confirmed_in_wins_and_other_clients_say_theirs(
    client: Any, mails: Mails, playbook: Playbook
) -> None:
    moved = join(
        client,
        mails,
        playbook,
        "moved@example.org",
        Referer=f"{SITE}/de/",
        confirm_referer=f"{SITE}/fr/confirm/",
    )
    assert me(client, moved)["settings"]["language"] == "fr"
    # Another client of the API, with no page: its Accept-Language, among the site's.
    app = join(client, mails, playbook, "app@example.org", **{"Accept-Language": "it, fr;q=0.8"})
    assert me(client, app)["settings"]["language"] == "fr"
    plain = join(client, mails, playbook, "plain@example.org", **{"Accept-Language": "it"})
    assert me(client, plain)["settings"]["language"] == "en"
    english = join(client, mails, playbook, "en@example.org", Referer=f"{SITE}/?utm_source=x")
    assert me(client, english)["settings"]["language"] == "en"


def test_a_person_chooses_another_language_and_only_one_the_site_speaks(
    client: Any, mails: Mails, playbook: Playbook
) -> None:
    joined = join(client, mails, playbook, "choose@example.org")
    auth = {"Authorization": f"Bearer {joined['manage_token']}"}
    answer = client.patch("/api/me/settings", json={"language": "fr"}, headers=auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert me(client, joined)["settings"]["language"] == "fr"
    last = me(client, joined, "/api/me/export")["ledger"][-1]
    assert last["changes"] == [{"what": "language", "old": "en", "new": "fr"}]
    for wrong in ("es", "xx", 3, None):
        refused = client.patch("/api/me/settings", json={"language": wrong}, headers=auth)
        assert refused.status_code == 422, (wrong, refused.get_data(as_text=True))
    assert me(client, joined)["settings"]["language"] == "fr"


def test_the_form_without_javascript_answers_in_its_pages_language(
    client: Any, playbook: Playbook
) -> None:
    data = {
        "email": "form@example.org",
        "policy_version": playbook.policy.version,
        "permissions": "email:newsletter",
    }
    german = client.post("/api/signup", data=data, headers={"Referer": f"{SITE}/de/"})
    assert (german.status_code, german.headers["Location"]) == (303, "/de/thanks/")
    other = client.post("/api/signup", data=data, headers={"Referer": f"{SITE}/es/"})
    assert other.headers["Location"] == "/thanks/"  # not a language the site speaks
    link = client.post(
        "/api/link", data={"email": "x@example.org"}, headers={"Referer": f"{SITE}/fr/link/"}
    )
    assert link.headers["Location"] == "/fr/link/sent/"


def test_evidence_without_a_language_keeps_the_shape_older_entries_were_hashed_in() -> None:
    assert Evidence("c", "a").as_json() == {"client": "c", "agent": "a"}
    assert Evidence("c", "a", "de").as_json() == {"client": "c", "agent": "a", "language": "de"}


def test_the_page_shows_the_playbooks_words_in_its_language(
    client: Any, mails: Mails, playbook: Playbook
) -> None:
    joined = join(client, mails, playbook, "words@example.org", Referer=f"{SITE}/de/")
    auth = {"Authorization": f"Bearer {joined['manage_token']}"}
    german = client.get("/api/me", headers={**auth, "Referer": f"{SITE}/de/preferences/"})
    english = client.get("/api/me", headers={**auth, "Referer": f"{SITE}/preferences/"})
    de, en = playbook.in_language("de"), playbook
    stage = german.get_json()["relationship"]["stage"]["id"]
    [said] = [x for x in de.stages if x.id == stage]
    [written] = [x for x in en.stages if x.id == stage]
    assert said.label != written.label
    assert german.get_json()["relationship"]["stage"]["label"] == said.label
    assert english.get_json()["relationship"]["stage"]["label"] == written.label
    [receipt] = me(client, joined, "/api/me/receipts")["receipts"]
    assert receipt["services"][0]["service"] == de.channels["email"].label
