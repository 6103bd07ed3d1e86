"""The marketer API, a refused link and the public playbook in the request's language:
problems and field messages said through the catalog of the dashboard's page (or the
client's Accept-Language), the refused link's page in `?lang=`, the playbook's words in
`?lang=`; types, status codes, ids and field names stay as they are."""

from __future__ import annotations

from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.credentials.keys import Keys
from befriend.store import Store
from tests.conftest import bearer

SITE = "https://prefs.example"
GERMAN = {"Accept-Language": "de-DE, de;q=0.9"}


@pytest.fixture
def reader(store: Store, clock: SettableClock) -> str:
    return Keys(store).create("reader key", "reader", clock())[0]


@pytest.fixture
def admin(store: Store, clock: SettableClock) -> str:
    return Keys(store).create("admin key", "admin", clock())[0]


def problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    body: dict[str, Any] = answer.get_json()
    return body


def test_a_missing_or_unknown_key_is_refused_in_german(client: Any) -> None:
    missing = problem(client.get("/api/reports", headers=GERMAN), 401)
    assert missing["type"] == "https://befriend.dev/problems/missing-api-key"
    assert missing["title"] == "Ein API-Schlüssel ist erforderlich"
    assert missing["detail"].startswith("Senden Sie ihn als `Authorization: Bearer <key>`")
    unknown = problem(client.get("/api/reports", headers={**GERMAN, **bearer("nope")}), 401)
    assert unknown["title"] == "Dieser API-Schlüssel funktioniert nicht"


def test_a_key_of_another_role_is_told_so_with_its_values_in_german(
    client: Any, reader: str
) -> None:
    body = problem(client.post("/api/events", json={}, headers={**GERMAN, **bearer(reader)}), 403)
    assert body["type"].endswith("/insufficient-role")
    assert body["title"] == "Dieser API-Schlüssel darf das nicht"
    assert body["detail"] == (
        "Dafür ist ein Schlüssel mit der Rolle ingest (oder admin) nötig; "
        "dieser Schlüssel hat reader."
    )


def test_the_dashboard_pages_language_says_a_bad_period_and_parameter(
    client: Any, reader: str
) -> None:
    page = {"Referer": f"{SITE}/de/marketers/", **bearer(reader)}
    body = problem(
        client.get("/api/reports/stages?from=2026-11-20&to=2026-11-10", headers=page), 400
    )
    assert body["type"].endswith("/invalid-parameter")
    assert body["title"] == "Der Zeitraum ist ungültig"
    # The field message keeps its `to` for the dashboard to name the field in its words.
    assert body["errors"] == [{"field": "from", "message": "darf nicht nach `to` liegen"}]
    assert body["detail"] == "from darf nicht nach `to` liegen."
    wrong = problem(client.get("/api/reports/stages?format=pdf", headers=page), 400)
    assert wrong["errors"] == [{"field": "format", "message": "muss json, csv oder svg sein"}]
    section = problem(client.get("/api/reports/stages?section=x", headers=page), 400)
    assert section["errors"][0]["message"] == (
        "muss einer der Abschnitte des Berichts sein: now, daily"
    )
    unknown = problem(client.get("/api/reports/nothing", headers=page), 404)
    assert unknown["title"] == "Diesen Bericht gibt es nicht"
    assert unknown["detail"].startswith("Berichte: stages, transitions")
    # The same from an English client stays English.
    english = problem(client.get("/api/reports/stages?format=pdf", headers=bearer(reader)), 400)
    assert english["errors"] == [{"field": "format", "message": "must be json, csv or svg"}]


def test_an_unknown_play_and_a_bad_limit_in_french(
    client: Any, store: Store, clock: SettableClock
) -> None:
    ingest = {"Accept-Language": "fr", **bearer(Keys(store).create("i", "ingest", clock())[0])}
    play = problem(client.get("/api/plays/nothing/audience", headers=ingest), 404)
    assert play["title"] == "Cette action n\u2019existe pas"
    assert play["detail"].startswith("Actions\u00a0: ")
    limit = problem(client.get("/api/tasks?limit=0", headers=ingest), 400)
    assert limit["errors"] == [
        {"field": "limit", "message": "doit être un nombre entier de 1 à 200"}
    ]


def test_a_webhooks_field_messages_in_spanish(client: Any, admin: str) -> None:
    body = problem(
        client.post(
            "/api/webhooks",
            json={"url": "https://user:pw@crm.example.org/", "events": []},
            headers={"Accept-Language": "es", **bearer(admin)},
        ),
        422,
    )
    assert body["title"] == "La solicitud tiene campos no válidos"
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages["url"] == (
        "no debe llevar nombre de usuario ni contraseña (la firma demuestra quién envía)"
    )
    # A shape's own message, with its values (the event types) filled in.
    assert messages["events"].startswith("debe ser una lista de tipos de evento: permission.")


def test_a_refused_link_page_in_french_and_its_problem_in_the_clients_language(
    client: Any,
) -> None:
    page = client.get("/api/r/forged?lang=fr", headers={"Accept": "text/html"})
    assert page.status_code == 401 and "Location" not in page.headers
    html = page.get_data(as_text=True)
    assert "<h1>Ce lien ne fonctionne pas</h1>" in html
    assert "ce lien n\u2019est pas valide." in html.lower()
    assert "This link does not work" not in html
    german = problem(client.get("/api/r/forged", headers=GERMAN), 401)
    assert german["type"].endswith("/invalid-token")
    assert german["title"] == "Dieser Link funktioniert nicht"


def test_the_public_playbook_in_spanish(client: Any, playbook: Any) -> None:
    answer = client.get("/api/playbook?lang=es")
    assert answer.status_code == 200
    assert answer.headers["Content-Language"] == "es"
    assert "Accept-Language" in answer.headers["Vary"]
    body = answer.get_json()
    spanish = playbook.in_language("es")
    assert [s["label"] for s in body["stages"]] == [s.label for s in spanish.stages]
    assert body["stages"][0]["label"] != playbook.stages[0].label
    assert body["policy"]["version"] == spanish.policy.version
    # The ids are those of every language.
    english = client.get("/api/playbook").get_json()
    assert english["stages"][0]["label"] == playbook.stages[0].label
    assert [s["id"] for s in body["stages"]] == [s["id"] for s in english["stages"]]
    assert client.get("/api/playbook").headers["Content-Language"] == playbook.organisation.language
    if body["survey"] is not None:
        assert body["survey"]["how_often"][0]["label"] != english["survey"]["how_often"][0]["label"]
    # Without ?lang=, the client's own language.
    assert client.get("/api/playbook", headers=GERMAN).headers["Content-Language"] == "de"
