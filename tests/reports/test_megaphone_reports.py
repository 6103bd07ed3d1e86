"""The sources and megaphone reports: figures from counters written with the changes, and
the cohorts exact under `reports check` (the store fixture checks after every test)."""

from __future__ import annotations

from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.counts import Counts
from befriend.core.playbook import Playbook
from befriend.core.reports import REPORTS
from befriend.credentials.keys import Keys
from befriend.reports import recount
from befriend.store import Store
from befriend.web.openapi import document
from tests.conftest import SignUp, Visitor, bearer, invoke, signup_body
from tests.reports.test_reports_api import cells, column
from tests.web.openapi_check import check_response

REPORT = "/api/reports/{name}"


@pytest.fixture
def read(client: Any, store: Store, clock: SettableClock, playbook: Playbook) -> Any:
    """GET a report with a reader key; the answer must match the document."""
    key = bearer(Keys(store).create("reports", "reader", clock())[0])
    spec = document(playbook)

    def run(path: str) -> Any:
        answer = client.get(path, headers=key)
        assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
        check_response(spec, "GET", REPORT, answer)
        return answer

    return run


def _buy(client: Any, store: Store, clock: SettableClock, visitor: Visitor, n: int) -> None:
    key = bearer(Keys(store).create(f"shop {n}", "ingest", clock())[0])
    event = {"id": f"order-{n}", "person": visitor.id, "type": "purchase", "at": _at(clock)}
    answer = client.post("/api/events", json={"events": [event]}, headers=key)
    assert answer.get_json()["accepted"] == 1, answer.get_data(as_text=True)


def _at(clock: SettableClock) -> str:
    return clock().isoformat().replace("+00:00", "Z")


def _code(visitor: Visitor) -> str:
    code: str = visitor.get("/api/me/invite").get_json()["code"]
    return code


def test_sources_counts_each_campaigns_signups_and_its_cohort(
    client: Any, read: Any, sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    admin = bearer(Keys(store).create("ops", "admin", clock())[0])
    link = client.post("/api/links", json={"campaign": "spring", "source": "qr"}, headers=admin)
    ref = {"ref": link.get_json()["code"]}
    first = sign_up(origin=ref)
    second = sign_up(origin=ref)
    body = signup_body("waiting@example.org", playbook, origin=ref)  # never confirmed
    assert client.post("/api/signup", json=body).status_code == 202
    sign_up()  # direct
    _buy(client, store, clock, first, 1)  # a customer on their first day
    clock.advance(days=40)
    _buy(client, store, clock, second, 2)  # a customer after 40 days

    report = read("/api/reports/sources?from=2026-11-01").get_json()
    assert cells(report, "signups", "qr|spring") == ["qr · spring", 3, 2, 66.7]
    assert cells(report, "signups", "direct|-") == ["direct", 1, 1, 100.0]
    assert column(report, "cohorts", "qr|spring", "People") == 2
    assert column(report, "cohorts", "qr|spring", "Friend in 30 days") == 2
    assert column(report, "cohorts", "qr|spring", "Customer in 30 days") == 1
    assert column(report, "cohorts", "qr|spring", "Customer in 90 days") == 2
    assert column(report, "cohorts", "direct|-", "Customer in 90 days") == 0


def test_megaphone_counts_joins_by_degree_and_inviters_by_how_many(
    client: Any, read: Any, sign_up: SignUp, store: Store
) -> None:
    first = sign_up()
    second = sign_up(origin={"invite": _code(first)})
    sign_up(origin={"invite": _code(first)})
    sign_up(origin={"invite": _code(second)})  # second degree for `first`
    report = read("/api/reports/megaphone").get_json()
    weekly = next(s for s in report["sections"] if s["id"] == "weekly")
    # Joined, second degree, past the limit, confirmed, through someone (%).
    assert [sum(r["cells"][n] for r in weekly["rows"]) for n in (1, 2, 3, 4)] == [3, 1, 0, 4]
    assert report["notes"] == [
        "New people who came through someone: 75% (3 of 4 confirmed in the period)."
    ]
    assert cells(report, "inviters", "1") == ["Brought 1", 1]
    assert cells(report, "inviters", "2-4") == ["Brought 2-4", 1]
    assert cells(report, "inviters", "5+") == ["Brought 5+", 0]
    # Erasing an inviter takes them out of the inviters, and leaves the joins counted.
    assert client.delete("/api/me", headers=first.auth).status_code == 204
    after = read("/api/reports/megaphone").get_json()
    assert cells(after, "inviters", "2-4") == ["Brought 2-4", 0]
    assert after["notes"] == report["notes"]


def test_befriend_report_prints_both(store: Store, sign_up: SignUp) -> None:
    inviter = sign_up()
    sign_up(origin={"invite": _code(inviter)})
    for name in ("sources", "megaphone"):
        assert name in REPORTS
        shown = invoke(store, "report", name, "--format", "csv")
        assert shown.exit_code == 0, shown.output
    assert "Joined through someone" in invoke(store, "report", "megaphone").output


@pytest.mark.counters_tampered
def test_a_cohort_counter_that_drifted_is_found_and_rebuilt(
    store: Store, playbook: Playbook, sign_up: SignUp, clock: SettableClock
) -> None:
    sign_up(origin={"utm_source": "poster"})
    store.add_counts(Counts(now={"cohort|untracked|-|friend|30": 1, "inviters|1": 1}))
    result = recount.check(store, playbook, clock(), lambda _: None)
    drifted = {d.counter: (d.kept, d.counted) for d in result.gauges}
    assert drifted == {"cohort|untracked|-|friend|30": (2, 1), "inviters|1": (1, 0)}
    recount.rebuild(store, playbook, clock(), lambda _: None)
    assert recount.check(store, playbook, clock(), lambda _: None).ok
