"""Reports in the dashboard page's language: titles, descriptions, headings, the core's
own row labels and notes through the catalog, the playbook's labels from its translation;
ids, row keys and each column's `kind` the same in every language, so the dashboard and
the charts decide what to draw without reading a heading. Every answer is checked against
the OpenAPI document."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.etree import ElementTree

import pytest
from flask.testing import FlaskClient

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.core.reports import REPORTS
from befriend.credentials.keys import Keys
from befriend.store import Store
from befriend.web.openapi import document
from tests.conftest import SignUp
from tests.web.openapi_check import check_response

SITE = "https://prefs.example"
SVG = "{http://www.w3.org/2000/svg}"
KINDS = {"label", "count", "percent", "total", "text"}


@pytest.fixture
def read(client: FlaskClient, store: Store, clock: SettableClock, playbook: Playbook) -> Any:
    """GET a report path with a reader key, as the dashboard in `page`'s language does."""
    key = Keys(store).create("reader key", "reader", clock())[0]
    spec = document(playbook)

    def run(path: str, page: str = "/marketers/", **headers: str) -> Any:
        sent = {"Authorization": f"Bearer {key}", "Referer": f"{SITE}{page}", **headers}
        answer = client.get(path, headers=sent)
        assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
        template = "/api/reports" if path.split("?")[0] == "/api/reports" else "/api/reports/{name}"
        check_response(spec, "GET", template, answer)
        return answer

    return run


def test_the_list_and_a_report_in_german(read: Any, playbook: Playbook, sign_up: SignUp) -> None:
    sign_up(permissions=(("email", "newsletter"),))
    listed = read("/api/reports", "/de/marketers/")
    assert listed.headers["Content-Language"] == "de"
    titles = {r["id"]: r["title"] for r in listed.get_json()["reports"]}
    assert titles["stages"] == "Personen nach Phase und Kreis, jetzt und Tag für Tag"
    assert set(titles) == set(REPORTS)

    german = read("/api/reports/stages", "/de/marketers/")
    assert german.headers["Content-Language"] == "de"
    body = german.get_json()
    assert body["title"] == "Personen nach Phase"
    now = body["sections"][0]
    assert now["title"] == "Jetzt, nach Phase und Kreis"
    translated = playbook.in_language("de")
    assert now["columns"] == ["Phase", *[c.label for c in translated.circles], "Alle Kreise"]
    assert now["kinds"] == ["label", *["count"] * len(translated.circles), "total"]
    rows = {row["key"]: row["cells"] for row in now["rows"]}
    assert rows["all"][0] == "Alle Phasen"
    assert rows[translated.stages[0].id][0] == translated.stages[0].label
    assert translated.stages[0].label != playbook.stages[0].label

    english = read("/api/reports/stages").get_json()
    assert english["title"] == "People by stage"
    assert english["sections"][0]["columns"][-1] == "All circles"
    # What a program reads is the same in both: ids, keys, kinds and the figures.
    for mine, theirs in zip(body["sections"], english["sections"], strict=True):
        assert mine["id"] == theirs["id"] and mine["kinds"] == theirs["kinds"]
        assert [r["key"] for r in mine["rows"]] == [r["key"] for r in theirs["rows"]]
        assert [r["cells"][1:] for r in mine["rows"]] == [r["cells"][1:] for r in theirs["rows"]]


@pytest.mark.parametrize("code", ["de", "fr", "es"])
def test_every_report_has_a_kind_per_column_whatever_the_language(read: Any, code: str) -> None:
    for name in REPORTS:
        said = read(f"/api/reports/{name}?lang={code}").get_json()
        english = read(f"/api/reports/{name}").get_json()
        assert said["title"] != english["title"], (code, name)
        for mine, theirs in zip(said["sections"], english["sections"], strict=True):
            assert len(mine["kinds"]) == len(mine["columns"])
            assert set(mine["kinds"]) <= KINDS and mine["kinds"][0] == "label"
            assert mine["kinds"] == theirs["kinds"], (name, mine["id"])
            assert mine["title"] != theirs["title"], (code, name, mine["id"])
        assert len(said["notes"]) == len(english["notes"])
        for note, original in zip(said["notes"], english["notes"], strict=True):
            assert note != original, (code, name)


def test_the_delivery_reports_columns_say_what_they_hold(read: Any) -> None:
    delivery = read("/api/reports/delivery?lang=fr").get_json()
    plays = delivery["sections"][0]
    assert plays["columns"][-2:] == ["Taux de plaintes (%)", "Plaintes"]
    assert plays["kinds"] == ["label", *["count"] * 5, "percent", "text"]
    assert delivery["notes"][-1] == "Actions au-delà du seuil de signalement\u00a0: aucune."


def test_the_csv_and_the_chart_speak_the_language_too(read: Any) -> None:
    answer = read("/api/reports/influence?format=csv&lang=fr")
    assert answer.headers["Content-Language"] == "fr"
    header = next(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert header == ["Quadrant", "Personnes"]
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))[1:]
    assert rows[0][0] == "Fidèles et influentes"

    chart = read("/api/reports/stages?format=svg&section=now", "/es/marketers/")
    assert chart.headers["Content-Language"] == "es"
    root = ElementTree.fromstring(chart.get_data(as_text=True))
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Personas por etapa: Ahora, por etapa y círculo"
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert "Todos los círculos" not in texts  # a total is no series, in any language
