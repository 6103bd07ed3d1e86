"""Reports through the marketer's API: the list, each report as JSON, CSV and an SVG chart,
figures that follow what people really did, and the refusals. Every answer is checked
against the OpenAPI document."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from xml.etree import ElementTree

import pytest
from flask.testing import FlaskClient

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.core.reports import REPORTS, Report, Section
from befriend.credentials.keys import Keys
from befriend.reports.charts import NO_DATA, plotted, svg
from befriend.store import Store
from befriend.web.marketer.reports import sections_csv
from befriend.web.openapi import document
from tests.conftest import START, Mails, SignUp, run_lambda, unsubscribe_path
from tests.web.openapi_check import check_response

SVG = "{http://www.w3.org/2000/svg}"
REPORT = "/api/reports/{name}"
TODAY = START.date().isoformat()


@pytest.fixture
def spec(playbook: Playbook) -> dict[str, Any]:
    return document(playbook)


@pytest.fixture
def keys(store: Store, clock: SettableClock) -> dict[str, str]:
    return {
        role: Keys(store).create(f"{role} key", role, clock())[0] for role in ("reader", "ingest")
    }


@pytest.fixture
def read(client: FlaskClient, spec: dict[str, Any], keys: dict[str, str]) -> Any:
    """GET a report path with the reader key; the answer must match the document."""

    def run(path: str, expect: int = 200, key: str | None = "reader") -> Any:
        headers = {} if key is None else {"Authorization": f"Bearer {keys.get(key, key)}"}
        answer = client.get(path, headers=headers)
        assert answer.status_code == expect, answer.get_data(as_text=True)[:500]
        template = "/api/reports" if path.split("?")[0] == "/api/reports" else REPORT
        check_response(spec, "GET", template, answer)
        assert answer.headers["Cache-Control"] == "no-store"
        return answer

    return run


def cells(report: dict[str, Any], section: str, key: str) -> list[Any]:
    """The cells of one row of one section of a report's JSON."""
    found = next(s for s in report["sections"] if s["id"] == section)
    return next(r["cells"] for r in found["rows"] if r["key"] == key)


def column(report: dict[str, Any], section: str, key: str, heading: str) -> Any:
    found = next(s for s in report["sections"] if s["id"] == section)
    return cells(report, section, key)[found["columns"].index(heading)]


# --- what there is ---


def test_the_list_names_every_report_and_where_to_read_it(read: Any) -> None:
    listed = read("/api/reports").get_json()["reports"]
    assert [r["id"] for r in listed] == list(REPORTS)
    assert all(r["url"] == f"/api/reports/{r['id']}" and r["title"] for r in listed)


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_report_answers_as_json_csv_and_svg(read: Any, name: str) -> None:
    report = read(f"/api/reports/{name}").get_json()
    assert report["report"] == name
    assert (report["from"], report["to"]) == ("2026-10-27", TODAY)  # four weeks up to today
    assert all(len(r["cells"]) == len(s["columns"]) for s in report["sections"] for r in s["rows"])

    sheet = read(f"/api/reports/{name}?format=csv&from=2026-11-01&to=2026-11-20")
    assert sheet.mimetype == "text/csv"
    assert sheet.headers["Content-Disposition"] == (
        f'attachment; filename="befriend-{name}-2026-11-01-2026-11-20.csv"'
    )
    first = next(csv.reader(io.StringIO(sheet.get_data(as_text=True))))
    several = len(report["sections"]) > 1
    assert first == (
        [report["sections"][0]["title"]] if several else report["sections"][0]["columns"]
    )

    for section in report["sections"]:
        chart = read(f"/api/reports/{name}?format=svg&section={section['id']}")
        assert chart.mimetype == "image/svg+xml"
        root = ElementTree.fromstring(chart.get_data())
        assert root.tag == f"{SVG}svg"
        assert root.findtext(f"{SVG}title") == f"{report['title']}: {section['title']}"


# --- figures follow what people do ---


def test_a_confirmed_sign_up_shows_in_stages_and_permissions(read: Any, sign_up: SignUp) -> None:
    before = read("/api/reports/stages").get_json()
    assert cells(before, "now", "all")[1:] == [0, 0, 0, 0]

    sign_up()

    stages = read("/api/reports/stages").get_json()
    assert column(stages, "now", "friend", "All circles") == 1
    assert column(stages, "now", "all", "All circles") == 1
    assert cells(stages, "daily", TODAY)[1:] == [0, 1, 0, 0]  # Just met, Friend, ...
    permissions = read("/api/reports/permissions").get_json()
    assert column(permissions, "grid", "email:newsletter", "Granted") == 1
    assert column(permissions, "grid", "sms:events", "Granted") == 0
    assert cells(permissions, "signups", "all")[1:] == [1, 1, 100.0]
    transitions = read("/api/reports/transitions").get_json()
    assert column(transitions, "moves", "none>friend", "People") == 1


def test_a_withdrawal_on_the_preferences_page_shows_in_unsubscribes(
    read: Any, sign_up: SignUp
) -> None:
    visitor = sign_up()
    answer = visitor.patch_permissions(("email", "newsletter", False))
    assert answer.status_code == 200

    report = read("/api/reports/unsubscribes").get_json()
    assert cells(report, "routes", "preferences")[1:] == [1, 100.0]
    assert cells(report, "routes", "one-click")[1:] == [0, 0.0]
    assert cells(report, "honoured", "1s")[1] == 1  # the same request wrote it
    permissions = read("/api/reports/permissions").get_json()
    assert column(permissions, "grid", "email:newsletter", "Withdrawn") == 1
    assert column(permissions, "grid", "email:newsletter", "Granted") == 0


def test_one_click_unsubscribe_counts_as_one_click(
    read: Any, client: FlaskClient, sign_up: SignUp, mails: Mails
) -> None:
    sign_up()
    confirmed_mail = next(m for m in reversed(mails()) if "List-Unsubscribe" in m["headers"])
    done = client.post(unsubscribe_path(confirmed_mail), data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, done.get_data(as_text=True)

    report = read("/api/reports/unsubscribes").get_json()
    assert cells(report, "routes", "one-click")[1:] == [1, 100.0]
    assert report["notes"][0].startswith("One-click unsubscribes (RFC 8058): 1 of 1 requests")
    sheet = read("/api/reports/unsubscribes?format=csv&section=routes").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(sheet)))
    assert rows[0] == ["Way", "Withdrawals", "Share of requests (%)"]
    assert rows[1] == ["One-click unsubscribe (mail client)", "1", "100"]


# --- CSV ---


def crafted(rows: tuple[tuple[Any, ...], ...], title: str = "Crafted") -> Section:
    return Section(
        "crafted",
        title,
        "A section made up for the test.",
        "bar",
        ("Label", "Count"),
        rows,
        tuple(f"k{n}" for n in range(len(rows))),
    )


def test_csv_cells_that_look_like_formulas_are_text_and_numbers_stay_numbers() -> None:
    evil = crafted(
        (('=HYPERLINK("https://evil.example")', -3), ("+1", 2.5), ("@SUM(A1)", None)),
        title="=cmd|' /C calc'!A0",
    )
    single = list(csv.reader(io.StringIO(sections_csv([evil]))))
    assert single == [
        ["Label", "Count"],
        ['\'=HYPERLINK("https://evil.example")', "-3"],
        ["'+1", "2.5"],
        ["'@SUM(A1)", ""],
    ]
    both = sections_csv([crafted((("-minus", -7),)), evil]).split("\r\n")
    # Each block: the section title, the header row, its rows; an empty line between.
    assert both[:4] == ["Crafted", "Label,Count", "'-minus,-7", ""]
    assert both[4] == "'=cmd|' /C calc'!A0"
    assert both[5] == "Label,Count"


def test_a_csv_of_every_section_has_one_block_each(read: Any) -> None:
    sheet = read("/api/reports/permissions?format=csv").get_data(as_text=True)
    blocks = sheet.split("\r\n\r\n")
    report = read("/api/reports/permissions").get_json()
    assert len(blocks) == len(report["sections"])
    for block, section in zip(blocks, report["sections"], strict=True):
        rows = list(csv.reader(io.StringIO(block)))
        assert rows[0] == [section["title"]]
        assert rows[1] == section["columns"]
        assert len(rows) == 2 + len(section["rows"])


# --- SVG ---


def test_a_chart_is_accessible_self_contained_and_the_same_each_time(
    read: Any, sign_up: SignUp
) -> None:
    sign_up()
    path = "/api/reports/stages?format=svg&section=daily&from=2026-01-01&to=2026-11-23"
    chart = read(path)
    text = chart.get_data(as_text=True)
    assert read(path).get_data(as_text=True) == text
    policy = chart.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy  # so scripts fall back to none
    assert "<script" not in text.lower()
    assert "javascript:" not in text.lower()
    assert "href" not in text  # no link, no external style sheet or font
    urls = {u for u in text.replace("'", '"').split('"') if "http" in u}
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}

    root = ElementTree.fromstring(text)
    title, desc = list(root)[:2]  # first, where screen readers look
    assert (title.tag, desc.tag) == (f"{SVG}title", f"{SVG}desc")
    assert title.text == "People by stage: Day by day"
    assert desc.text is not None
    assert desc.text.startswith("People at each stage at the end of each day")
    assert "2026-01-01 to 2026-11-23" in desc.text
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == title.get("id")
    # 327 days: a handful of day labels, not one per day.
    shown = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.startswith("2026-")]
    assert 3 <= len(shown) <= 10


def test_an_empty_report_still_draws_a_chart_that_says_no_data(read: Any) -> None:
    # No one yet: every section is zeros or has no rows at all.
    for name in REPORTS:
        report = read(f"/api/reports/{name}").get_json()
        for section in report["sections"]:
            path = f"/api/reports/{name}?format=svg&section={section['id']}"
            root = ElementTree.fromstring(read(path).get_data())
            texts = {t.text for t in root.iter(f"{SVG}text")}
            assert NO_DATA in texts, (name, section["id"])


def test_charts_leave_out_totals_text_columns_and_rates(playbook: Playbook) -> None:
    # What is left out is read from each column's kind, never from its heading, so it
    # holds in every language ("Alle Kreise" is a total as "All circles" is).
    stacked = Section(
        "now",
        "Now",
        "By stage and circle.",
        "stacked",
        ("Stage", "Loose", "Core", "Alle Kreise"),
        (("Friend", 2, 1, 3), ("Customer", None, 4, 4), ("All stages", 2, 5, 7)),
        ("friend", "customer", "all"),
        ("label", "count", "count", "total"),
    )
    assert plotted(stacked) == (
        ["Friend", "Customer"],
        [("Loose", [2, None]), ("Core", [1, 4])],
    )
    moves = Section(
        "moves",
        "Moves",
        "Moves.",
        "hbar",
        ("Move", "Direction", "People", "Anteil"),
        (("Friend → Customer", "on", 2, 50.0), ("Friend → Just met", "back", 2, 50.0)),
        ("friend>customer", "friend>stranger"),
        ("label", "text", "count", "percent"),
    )
    assert plotted(moves)[1] == [("People", [2, 2])]

    report = Report("stages", "People by stage", "", START.date(), START.date(), (stacked,))
    drawn = svg(report, stacked)
    legend = {t.text for t in ElementTree.fromstring(drawn).iter(f"{SVG}text")}
    assert {"Loose", "Core"} <= legend
    assert "Alle Kreise" not in legend
    assert "All stages" not in legend
    nothing = crafted(())
    assert NO_DATA in svg(report, nothing)


# --- refusals ---


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("from=yesterday", "from"),
        ("to=2026-11-24", "to"),  # after today
        ("from=2026-11-20&to=2026-11-10", "from"),
        ("from=2024-01-01&to=2026-11-23", "from"),  # more than a year
        ("from=1999-12-31&to=2000-01-31", "from"),
        ("to=0001-01-05", "to"),  # no default `from` can be computed before year 1
        ("from=0001-01-01&to=0001-01-05", "to"),
        ("to=2026-W01-1", "to"),  # an ISO week date is not YYYY-MM-DD
        ("format=xlsx", "format"),
        ("format=svg&section=nope", "section"),
        ("section=", "section"),
    ],
)
def test_bad_parameters_are_400_problems(read: Any, query: str, field: str) -> None:
    problem = read(f"/api/reports/stages?{query}", expect=400)
    assert problem.mimetype == "application/problem+json"
    assert [e["field"] for e in problem.get_json()["errors"]] == [field]


def test_refusals_need_a_reader_key_and_a_known_report(read: Any, keys: dict[str, str]) -> None:
    unknown = read("/api/reports/revenue", expect=404).get_json()
    assert unknown["type"].endswith("/unknown-report")
    assert "stages" in unknown["detail"]
    for path in ("/api/reports", "/api/reports/stages?format=svg"):
        assert read(path, expect=401, key=None).headers["WWW-Authenticate"].startswith("Bearer")
        read(path, expect=401, key="bfk_forged")
        assert (
            read(path, expect=403, key="ingest").get_json()["type"].endswith("/insufficient-role")
        )


# --- cold start ---


def test_the_lambda_entry_does_not_load_pygal() -> None:
    check = (
        "import sys, befriend.lambda_app, befriend.web.marketer.reports; "
        "print(json.dumps(['pygal' in sys.modules, 'befriend.reports.charts' in sys.modules]))"
    )
    done = run_lambda(f"import json; {check}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, False]
