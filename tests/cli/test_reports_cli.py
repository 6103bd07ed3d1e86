"""`befriend report` and `befriend reports check/rebuild` against the test table (moto, in
process): the same figures as the API's reports in every format, one page that stands
alone, and counters that a check catches when they drift and a rebuild sets right."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from befriend.cli import main
from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.core.reports import REPORTS, Period, Report, Section
from befriend.credentials.keys import Keys
from befriend.reports import recount
from befriend.reports.text import MISSING, UnsafeChart, cell_text, html_page
from befriend.store import Store
from tests.conftest import ROOT, invoke

PEOPLE = 10


@pytest.fixture
def seeded(store: Store) -> Store:
    # No invite chains: the people counted are exactly PEOPLE.
    result = invoke(store, "seed-demo", "--people", str(PEOPLE), "--invited", "0")
    assert result.exit_code == 0, result.output
    return store


def api_reports(store: Store, playbook: Playbook, first: date, last: date) -> list[Report]:
    """The reports the API builds for the same period (the JSON tests ask the API itself)."""
    today = datetime.now(UTC).date()
    return recount.read_all(store, playbook, Period(first, last), today)


@pytest.fixture
def api(client: Any, store: Store, clock: SettableClock) -> Callable[..., Any]:
    """GET a report from the API with a reader key, on the same day as the command."""
    clock.now = datetime.now(UTC)
    plain, _ = Keys(store).create("Report tests", "reader", clock())
    auth = {"Authorization": f"Bearer {plain}"}

    def get(name: str, **query: str) -> Any:
        answer = client.get(f"/api/reports/{name}", query_string=query, headers=auth)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer

    return get


def period_args() -> tuple[date, date, list[str]]:
    last = datetime.now(UTC).date()
    first = last - timedelta(days=60)
    return first, last, ["--from", first.isoformat(), "--to", last.isoformat()]


def test_json_is_the_apis_json_for_one_report_and_for_all(
    seeded: Store, api: Callable[..., Any]
) -> None:
    first, last, period = period_args()
    asked = {"from": first.isoformat(), "to": last.isoformat()}
    every = invoke(seeded, "report", "--format", "json", *period)
    assert every.exit_code == 0, every.output
    expected = [api(name, **asked).get_json() for name in REPORTS]
    assert json.loads(every.stdout) == expected
    stages = expected[0]
    assert stages["sections"][0]["rows"][-1]["cells"][-1] == PEOPLE  # all stages, all circles

    one = invoke(seeded, "report", "permissions", "--format", "json", *period)
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout) == expected[2]
    default = invoke(seeded, "report", "unsubscribes", "--format", "json")
    assert json.loads(default.stdout) == api("unsubscribes").get_json()  # the last four weeks


def test_the_table_shows_every_section_with_the_same_figures(
    seeded: Store, playbook: Playbook
) -> None:
    first, last, period = period_args()
    result = invoke(seeded, "report", *period)  # table is the default
    assert result.exit_code == 0, result.output
    text = result.stdout
    lines = text.splitlines()
    for report in api_reports(seeded, playbook, first, last):
        assert f"{report.title} ({first.isoformat()} to {last.isoformat()})" in lines
        for section in report.sections:
            assert section.title in lines
            for row in section.rows:
                # A row is its cells in order, numbers right-aligned, None as a dash.
                shown = [cell_text(c) for c in row]
                assert any(_cells(line) == shown for line in lines), (section.title, shown)
        for note in report.notes:
            assert note.split()[0] in text
    assert MISSING in text  # e.g. a rate out of no sign-ups in the period


def test_the_table_right_aligns_figures_and_left_aligns_labels(seeded: Store) -> None:
    result = invoke(seeded, "report", "stages")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("Stage "))
    rows = lines[lines.index(header) + 2 : lines.index(header) + 7]
    assert [r.split("  ")[0] for r in rows] == [
        "Just met",
        "Friend",
        "Customer",
        "Champion",
        "All stages",
    ]
    assert {len(r) for r in rows} == {len(header)}  # the last column ends where its heading does
    assert rows[-1].endswith(f" {PEOPLE}")


def test_csv_has_a_titled_block_per_section_with_the_apis_rows(
    seeded: Store, playbook: Playbook, api: Callable[..., Any]
) -> None:
    first, last, period = period_args()
    result = invoke(seeded, "report", "--format", "csv", *period)
    assert result.exit_code == 0, result.output
    blocks = [list(csv.reader(io.StringIO(b))) for b in re.split(r"\r?\n\r?\n", result.stdout)]
    span = f"({first.isoformat()} to {last.isoformat()})"
    expected_titles, api_blocks = [], []
    for report in api_reports(seeded, playbook, first, last):
        expected_titles += [[f"{report.title}: {s.title} {span}"] for s in report.sections]
        for section in report.sections:
            answer = api(report.id, section=section.id, format="csv", **{"from": str(first)})
            api_blocks.append(list(csv.reader(io.StringIO(answer.get_data(as_text=True)))))
        if report.notes:
            expected_titles.append([f"{report.title}: notes {span}"])
            api_blocks.append([[note] for note in report.notes])
    # Each block: a title row naming the report, section and period, then the API's CSV.
    assert [block[0] for block in blocks] == expected_titles
    assert [block[1:] for block in blocks] == api_blocks


class Page(HTMLParser):
    """What a page holds: tags, the addresses it names, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.addresses: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("href", "src", "xlink:href", "action", "srcset") and value:
                self.addresses.append(value)
            assert not name.startswith("on"), (tag, name)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_html_page_stands_alone_with_a_chart_and_table_per_section(
    seeded: Store, playbook: Playbook, tmp_path: Path
) -> None:
    first, last, period = period_args()
    out = tmp_path / "reports.html"
    result = invoke(seeded, "report", "--html", str(out), *period)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the page only, unless a --format is asked for too
    assert f"{len(REPORTS)} report(s) with charts written to {out}" in result.stderr
    html = out.read_text(encoding="utf-8")
    page = Page()
    page.feed(html)
    reports = api_reports(seeded, playbook, first, last)
    sections = [s for r in reports for s in r.sections]
    assert page.tags.count("table") == len([s for s in sections if s.rows])
    assert page.tags.count("svg") == len([s for s in sections if s.rows])
    assert "script" not in page.tags
    assert "link" not in page.tags and "img" not in page.tags and "iframe" not in page.tags
    assert all(a.startswith("#") for a in page.addresses), page.addresses
    assert "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(?!#)", html)
    text = " ".join(page.text)
    assert "Generated 20" in text and f"{first.isoformat()} to {last.isoformat()}" in text
    for report in reports:
        assert report.title in text
        assert all(s.title in text for s in report.sections)


def test_html_escapes_every_label_from_the_playbook(seeded: Store, tmp_path: Path) -> None:
    toml = (ROOT / "handlers/befriend/playbook.toml").read_text()
    hostile = '<img src=x onerror=alert(1)> Bikes & "more"'
    assert 'cycling = "Cycling"' in toml
    changed = tmp_path / "playbook.toml"
    changed.write_text(toml.replace('cycling = "Cycling"', f"cycling = {json.dumps(hostile)}"))
    out = tmp_path / "interests.html"
    result = invoke(seeded, "report", "interests", "--playbook", str(changed), "--html", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; Bikes &amp; " in html
    page = Page()
    page.feed(html)
    assert any(hostile in t for t in page.text)  # shown as text, in the table and the chart


def test_a_chart_that_could_run_or_fetch_something_is_refused() -> None:
    section = Section("s", "S", "", "bar", ("Label", "N"), (("a", 1),), ("a",))
    report = Report("r", "R", "", date(2026, 1, 1), date(2026, 1, 2), (section,))
    when = datetime(2026, 1, 2, tzinfo=UTC)
    for bad in (
        "<svg><script>alert(1)</script></svg>",
        '<svg><rect onclick="x()"/></svg>',
        '<svg><image href="https://example.org/x.png"/></svg>',
        "<svg><style>@import 'https://example.org/a.css';</style></svg>",
        '<svg><rect style="fill: url(https://example.org/f)"/></svg>',
        "<svg><foreignObject><p>hi</p></foreignObject></svg>",
    ):
        with pytest.raises(UnsafeChart):
            html_page([report], when, drawing(bad))
    # Text may quote anything; a link inside the page is fine.
    safe = (
        '<?xml version="1.0"?>\n<svg><title>onerror=x &lt;script&gt;</title><use href="#a"/></svg>'
    )
    fine = html_page([report], when, drawing(safe))
    assert "<?xml" not in fine and f"<figure>{safe.split(chr(10))[1]}</figure>" in fine


def test_check_passes_after_seeding(seeded: Store) -> None:
    result = invoke(seeded, "reports", "check")
    assert result.exit_code == 0, result.output
    assert f"people counted: {PEOPLE}" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == (
        "ok: every counter agrees with a recount of the people"
    )


def test_a_tampered_counter_fails_the_check_and_rebuild_sets_it_right(seeded: Store) -> None:
    seeded.client.update_item(
        TableName=seeded.table,
        Key={"pk": {"S": "COUNTS#3"}, "sk": {"S": "perm#NOW"}},
        UpdateExpression="ADD #c :n",
        ExpressionAttributeNames={"#c": "perm|post|offers|granted"},
        ExpressionAttributeValues={":n": {"N": "7"}},
    )
    failed = invoke(seeded, "reports", "check")
    assert failed.exit_code == 1, failed.output
    row = next(line for line in failed.stdout.splitlines() if "perm|post|offers|granted" in line)
    kept, counted = (int(n) for n in row.split()[1:])
    assert kept == counted + 7
    assert failed.stdout.rstrip().splitlines()[-1].startswith("mismatch: 1 counter(s)")

    rebuilt = invoke(seeded, "reports", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "perm|post|offers|granted" in rebuilt.stdout
    assert "1 corrected" in rebuilt.stdout

    again = invoke(seeded, "reports", "check")
    assert again.exit_code == 0, again.output
    assert "ok: every counter agrees" in again.stdout


def test_a_stage_series_that_does_not_add_up_is_found_and_fixed(seeded: Store) -> None:
    day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    seeded.client.update_item(
        TableName=seeded.table,
        Key={"pk": {"S": "COUNTS#5"}, "sk": {"S": f"stage#DAY#{day}"}},
        UpdateExpression="ADD #c :n",
        ExpressionAttributeNames={"#c": "net|friend"},
        ExpressionAttributeValues={":n": {"N": "-2"}},
    )
    failed = invoke(seeded, "reports", "check")
    assert failed.exit_code == 1, failed.output
    assert "1 stage(s) whose day-by-day changes do not add up" in failed.stdout
    assert re.search(r"^\s+friend\s+-?\d+\s+\d+$", failed.stdout, re.MULTILINE)

    assert invoke(seeded, "reports", "rebuild").exit_code == 0
    again = invoke(seeded, "reports", "check")
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-02-30"], "from: must be a date as YYYY-MM-DD"),
        (["--to", "yesterday"], "to: must be a date as YYYY-MM-DD"),
        (["--to", "2999-01-01"], "to: must not be after today"),
        (["--from", "2026-11-20", "--to", "2026-11-01"], "from: must not be after `to`"),
        (["--from", "1999-12-31", "--to", "2000-01-05"], "from: must be 2000-01-01 or later"),
    ],
)
def test_a_bad_period_is_a_usage_error(store: Store, args: list[str], message: str) -> None:
    result = invoke(store, "report", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_an_unknown_report_is_a_usage_error_naming_the_reports(store: Store) -> None:
    result = invoke(store, "report", "funnel")
    assert result.exit_code == 2, result.output
    assert "no report 'funnel'" in result.stderr
    assert all(name in result.stderr for name in REPORTS)
    helped = CliRunner().invoke(main, ["report", "--help"])
    assert all(name in " ".join(helped.stdout.split()) for name in REPORTS)


def drawing(svg: str) -> Callable[[Report, Section], str]:
    """A stand-in for `charts.svg` that draws `svg` for any section."""
    return lambda _report, _section: svg


def _cells(line: str) -> list[str]:
    """A table line split into its cells (cells are two or more spaces apart)."""
    return re.split(r"\s{2,}", line.strip())


def run_id_of(output: str) -> str:
    first = output.splitlines()[0]
    assert first.startswith("run: "), output
    return first.split()[1]


def test_a_check_cut_off_is_resumed_by_its_run_id_and_counts_no_one_twice(
    seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from befriend.jobs import recount_job

    monkeypatch.setattr(recount_job, "PAGE", 2)  # several steps a piece
    steps = 0
    real = recount_job.RECOUNT.step

    def failing_once(*args: Any) -> Any:
        nonlocal steps
        steps += 1
        if steps == 4:
            raise ConnectionError("the network went away")
        return real(*args)

    monkeypatch.setattr(recount_job.RECOUNT, "step", failing_once)
    stopped = invoke(seeded, "reports", "check", "--workers", "1")
    assert isinstance(stopped.exception, ConnectionError)
    run_id = run_id_of(stopped.stdout)

    resumed = invoke(seeded, "reports", "check", "--resume", run_id)
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.splitlines()[0] == f"run: {run_id} (resumed)"
    assert f"people counted: {PEOPLE} (1 pass(es))" in resumed.stdout
    assert resumed.stdout.rstrip().endswith("ok: every counter agrees with a recount of the people")

    shown = invoke(seeded, "reports", "check", "--resume", run_id)  # finished: shown again
    assert shown.stdout == resumed.stdout


def test_a_run_is_resumed_only_by_its_own_command(seeded: Store) -> None:
    checked = invoke(seeded, "reports", "check", "--segments", "3")
    assert checked.exit_code == 0, checked.output
    run_id = run_id_of(checked.stdout)
    wrong = invoke(seeded, "reports", "rebuild", "--resume", run_id)
    assert wrong.exit_code == 2, wrong.output
    assert f"`befriend reports check --resume {run_id}`" in wrong.stderr

    bad = invoke(seeded, "reports", "check", "--resume", "RUN#1 or everything")
    assert bad.exit_code == 2, bad.output
    assert "a run id is letters, digits" in bad.stderr


def test_a_rebuild_resumed_after_it_finished_corrects_nothing_again(seeded: Store) -> None:
    seeded.client.update_item(
        TableName=seeded.table,
        Key={"pk": {"S": "COUNTS#2"}, "sk": {"S": "perm#NOW"}},
        UpdateExpression="ADD #c :n",
        ExpressionAttributeNames={"#c": "people"},
        ExpressionAttributeValues={":n": {"N": "3"}},
    )
    rebuilt = invoke(seeded, "reports", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "1 corrected" in rebuilt.stdout
    gauges = seeded.gauges()
    again = invoke(seeded, "reports", "rebuild", "--resume", run_id_of(rebuilt.stdout))
    assert again.exit_code == 0, again.output
    assert "1 corrected" in again.stdout  # what the run did, shown again
    assert seeded.gauges() == gauges
    assert invoke(seeded, "reports", "check").exit_code == 0
