"""The delivery report (`GET /api/reports/delivery`) from real claims, what SES said of
the mails (AWS's documented records with the `play` tag), and links followed: its figures
per play and ISO week, the complaint rate flagged above 0.1%, and contacts by the hour of
the person's own day, none inside their quiet hours."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from befriend.clock import SettableClock
from befriend.core.frozen import replace
from befriend.core.reports import Period, _complaints
from befriend.credentials.keys import Keys
from befriend.jobs.feedback import handle
from befriend.local.demo import ZONES
from befriend.mailing.plays import PlayComposer
from befriend.reports.recount import read_report
from befriend.store import Store
from befriend.web.openapi import document
from befriend.web.services import Services
from tests.conftest import SignUp, Visitor, bearer
from tests.feedback.conftest import SES_TOPIC, SMS_TOPIC, ses_record, sns_event
from tests.web.openapi_check import check_response

PLAY = "welcome-letter"


@pytest.fixture
def services(app: Any) -> Services:
    """The app's services with the SES events topic configured, as the feedback function."""
    found: Services = app.extensions["befriend"]
    settings = replace(found.settings, ses_events_topic=SES_TOPIC, sms_inbound_topic=SMS_TOPIC)
    return replace(found, settings=settings)


@pytest.fixture
def keys(store: Store, clock: SettableClock) -> dict[str, str]:
    return {role: Keys(store).create(role, role, clock())[0] for role in ("reader", "ingest")}


def claim(client: FlaskClient, key: str, person: str, play: str = PLAY) -> Any:
    body = {"play": play, "person": person, "idempotency_key": f"{play}:{person}"}
    return client.post("/api/sends", json=body, headers=bearer(key))


def said(services: Services, kind: str, to: str, send: str, **given: Any) -> dict[str, int]:
    """What SES says of one play mail, its tags as befriend sets them."""
    record = ses_record(kind, to, **given)
    record["mail"]["tags"].update({"play": [PLAY], "send": [send]})
    return handle(services, sns_event(SES_TOPIC, record))


def row(report: dict[str, Any], section: str, key: str) -> dict[str, Any]:
    found = next(s for s in report["sections"] if s["id"] == section)
    cells = next(r["cells"] for r in found["rows"] if r["key"] == key)
    return dict(zip(found["columns"], cells, strict=True))


def test_the_report_counts_claims_what_came_back_and_clicks_per_play_and_week(
    client: FlaskClient,
    services: Services,
    keys: dict[str, str],
    sign_up: SignUp,
    clock: SettableClock,
) -> None:
    people = [sign_up() for _ in range(3)]
    sends = {}
    for visitor in people:
        answer = claim(client, keys["ingest"], visitor.id)
        assert answer.status_code == 201, answer.get_data(as_text=True)
        sends[visitor.id] = answer.get_json()["send"]
    # A replay of a claim, and a claim refused (the letter rests for its cooldown), count
    # nothing.
    assert claim(client, keys["ingest"], people[0].id).status_code == 201
    again = client.post(
        "/api/sends",
        json={"play": PLAY, "person": people[0].id, "idempotency_key": "another"},
        headers=bearer(keys["ingest"]),
    )
    assert again.status_code == 409
    one, two, three = people
    said(services, "delivery", one.email, sends[one.id])
    said(services, "delivery", two.email, sends[two.id])
    said(services, "complaint", two.email, sends[two.id])
    said(services, "bounce", three.email, sends[three.id], bounce_type="Permanent")
    composer = PlayComposer(services.playbook, services.tokens, services.settings.site_url)
    found = services.store.person(one.id, clock())
    assert found is not None
    mail = composer.mail(found, services.playbook.plays[PLAY], send=sends[one.id], at=clock())
    for _ in range(3):  # the person, and their scanner twice
        assert client.get(urlsplit(mail.values["links"]["site"]).path).status_code == 302

    answer = client.get("/api/reports/delivery", headers=bearer(keys["reader"]))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    check_response(document(services.playbook), "GET", "/api/reports/{name}", answer)
    report = answer.get_json()
    figures = row(report, "plays", PLAY)
    assert figures == {
        "Play": PLAY,
        "Claimed": 3,
        "Delivered": 2,
        "Bounced": 1,
        "Complained": 1,
        "Clicked": 1,
        "Complaint rate (%)": 50.0,
        "Complaints": "at or above 0.3%",
    }
    assert row(report, "plays", "all")["Claimed"] == 3
    year, week, _ = clock().date().isocalendar()
    weekly = row(report, "weekly", f"{year}-W{week:02d}|{PLAY}")
    assert (weekly["Claimed"], weekly["Delivered"], weekly["Clicked"]) == (3, 2, 1)
    assert report["notes"][1] == f"Plays above the flag: {PLAY}."
    hours = [r["cells"][-1] for r in report["sections"][2]["rows"]]
    assert sum(hours) == 3
    # The CSV and the chart of the same report.
    sheet = client.get(
        "/api/reports/delivery?format=csv&section=plays", headers=bearer(keys["reader"])
    )
    assert sheet.status_code == 200 and f"{PLAY},3,2,1,1,1,50,at or above 0.3%" in sheet.get_data(
        as_text=True
    )
    chart = client.get(
        "/api/reports/delivery?format=svg&section=hours", headers=bearer(keys["reader"])
    )
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"


def test_a_complaint_rate_between_the_flag_and_the_bar_is_flagged() -> None:
    assert _complaints(0.1) == "at most 0.1%"
    assert _complaints(0.15) == "above 0.1%"
    assert _complaints(0.3) == "at or above 0.3%"
    assert _complaints(None) is None


def settings(visitor: Visitor, **patch: Any) -> None:
    answer = visitor.client.patch("/api/me/settings", json=patch, headers=visitor.auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_no_contact_is_claimed_inside_the_persons_quiet_hours(
    client: FlaskClient,
    keys: dict[str, str],
    sign_up: SignUp,
    clock: SettableClock,
    store: Store,
    services: Services,
) -> None:
    """Demo-like people (the demo's time zones), mail quiet from 21:00 to 08:00 their time,
    each claimed for from an hour of their own, every hour until the gate grants it."""
    rng = random.Random(17)
    people = []
    for n in range(16):  # the per-client sign-up limit is 20 an hour
        visitor = sign_up()
        quiet = {"from": "21:00", "until": "08:00"}
        settings(visitor, time_zone=ZONES[n % len(ZONES)], quiet_hours={"email": quiet})
        people.append((visitor, rng.randrange(24)))
    granted: set[str] = set()
    start = clock()
    for step in range(48):
        for visitor, first in people:
            if step >= first and visitor.id not in granted:
                answer = claim(client, keys["ingest"], visitor.id)
                if answer.status_code == 201:
                    granted.add(visitor.id)
                else:
                    assert answer.get_json()["reason"] == "quiet-hours"
        clock.advance(hours=1)
    assert len(granted) == len(people)

    today = clock().date()
    report = read_report(store, services.playbook, "delivery", Period(start.date(), today), today)
    hours = report.section("hours")
    assert hours is not None
    column = hours.columns.index(PLAY)
    by_hour = Counter({int(str(r[0])[:2]): r[column] for r in hours.rows})
    assert sum(by_hour.values()) == len(people)
    quiet_hours = [*range(21, 24), *range(8)]
    assert all(by_hour[h] == 0 for h in quiet_hours), by_hour
    assert by_hour[8] > 0  # those first tried at night are claimed when the night ends
