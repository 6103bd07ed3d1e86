"""The marketers' dashboard in a real browser: every report with its charts and the very
figures the API gives, a period that reloads them and says what is wrong with a bad one,
CSV files and audiences downloaded with the key, by keyboard, narrow, zoomed and dark."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    Server,
    Watch,
    assert_accessible,
    assert_clean,
    assert_good_page,
    new_context,
    screenshot,
)
from tests.browser.test_scripted_pages import open_preferences, reader_key, sign_up
from tests.browser.test_static_pages import focus_by_tab, scroll_width

LOADED = re.compile(r"\b\d+ reports for ")
# Seven reports and a dozen charts from one local server: on a busy test machine that takes
# far longer than Playwright's 5 s default.
SLOW = 90_000


def today() -> date:
    return datetime.now(UTC).date()


def fetch(server: Server, key: str, path: str, **query: str) -> tuple[bytes, dict[str, str]]:
    """GET an API path with the key, as the page does; the body and headers."""
    url = server.url(path) + (f"?{urlencode(query)}" if query else "")
    asked = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(asked, timeout=30) as answer:
        return answer.read(), dict(answer.headers)


def api(server: Server, key: str, path: str, **query: str) -> Any:
    return json.loads(fetch(server, key, path, **query)[0])


def shown(value: Any) -> str:
    """A cell as the dashboard shows it (numbers in English, a dash for no figure)."""
    if value is None:
        return "–no figure"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").removesuffix(".")


def sign_in(page: Page, server: Server, key: str) -> None:
    page.goto(server.url("/marketers/"))
    page.fill("#key", key)
    page.click("#sign-in")
    wait_for_reports(page)


def wait_for_reports(page: Page) -> None:
    expect(page.locator("#status")).to_contain_text(LOADED, timeout=SLOW)
    expect(page.locator("#reports")).to_have_attribute("aria-busy", "false")


def period(page: Page) -> dict[str, str]:
    return {"from": page.input_value("#from"), "to": page.input_value("#to")}


def table(page: Page, selector: str) -> dict[str, Any]:
    """The column headings and the cells of each body row of the table in `selector`."""
    found: dict[str, Any] = page.locator(selector).evaluate(
        """box => {
          const table = box.querySelector("table");
          return {
            caption: table.caption.textContent,
            columns: [...table.tHead.rows[0].cells].map((c) => [c.textContent, c.scope]),
            rows: [...table.tBodies[0].rows].map((r) => ({
              key: r.dataset.key,
              header: [r.cells[0].tagName, r.cells[0].scope],
              cells: [...r.cells].map((c) => c.textContent),
            })),
          };
        }"""
    )
    return found


def chart(page: Page, selector: str) -> dict[str, Any]:
    """The chart image in `selector` once it has loaded: its address, size and alt text."""
    image = page.locator(f"{selector} .chart img")
    expect(image).to_be_visible(timeout=SLOW)
    found: dict[str, Any] = image.evaluate(
        """async (img) => {
          await img.decode();
          return {src: img.src, width: img.naturalWidth, alt: img.alt, complete: img.complete};
        }"""
    )
    return found


def test_every_report_shows_its_charts_and_the_api_figures(
    page: Page, server: Server, watch: Watch, screenshots: Path
) -> None:
    # Someone confirmed, so the reports have something to count.
    open_preferences(page, server, "email:newsletter", interests=("cycling",))
    key = reader_key(server)
    sign_in(page, server, key)
    asked = period(page)
    assert asked == {"from": (today() - timedelta(days=27)).isoformat(), "to": today().isoformat()}
    expect(page.locator('[data-days="28"]')).to_have_attribute("aria-pressed", "true")

    catalogue = api(server, key, "/api/reports")["reports"]
    assert {r["id"] for r in catalogue} == {
        "stages",
        "transitions",
        "permissions",
        "unsubscribes",
        "interests",
        "influence",
        "plays",
        "delivery",
        "sources",
        "megaphone",
    }
    links = page.locator("#reports-toc a")
    expect(links).to_have_count(len(catalogue))
    for entry in catalogue:
        report = api(server, key, f"/api/reports/{entry['id']}", **asked)
        box = f"#report-{entry['id']}"
        expect(page.locator(f"{box} h3")).to_have_text(report["title"])
        expect(page.locator(f"{box} .report-body > p").first).to_have_text(report["description"])
        expect(page.locator(f"{box} button[data-csv]")).to_be_enabled()
        for section in report["sections"]:
            part = f"#report-{entry['id']}-{section['id']}"
            expect(page.locator(f"{part} h4")).to_have_text(section["title"])
            if not section["rows"]:
                expect(page.locator(f"{part} .empty")).to_be_visible()
                continue
            drawn = chart(page, part)
            assert drawn["src"].startswith("blob:"), drawn
            assert drawn["complete"] and drawn["width"] > 0, drawn
            assert drawn["alt"].startswith(f"{section['title']}. "), drawn
            figures = table(page, part)
            assert figures["caption"] == f"Figures: {section['title']}"
            assert figures["columns"] == [[c, "col"] for c in section["columns"]]
            assert [r["key"] for r in figures["rows"]] == [r["key"] for r in section["rows"]]
            for row, expected in zip(figures["rows"], section["rows"], strict=True):
                assert row["header"] == ["TH", "row"]
                assert row["cells"] == [shown(v) for v in expected["cells"]], (part, row)
        notes = page.locator(f"{box} ul.notes li")
        expect(notes).to_have_count(len(report["notes"]))
        if report["notes"]:
            expect(notes).to_have_text(report["notes"])
    # The charts are pictures of files, never markup from the API in the page.
    assert page.locator("#reports svg").count() == 0
    assert_good_page(page, watch, screenshots, "marketers-dashboard")


def test_a_new_period_reloads_and_a_bad_one_is_explained(
    page: Page, server: Server, watch: Watch
) -> None:
    key = reader_key(server)
    sign_in(page, server, key)
    daily = "#report-stages-daily tbody tr"
    expect(page.locator(daily)).to_have_count(28)
    before = chart(page, "#report-stages-now")["src"]

    page.click('[data-days="7"]')
    wait_for_reports(page)
    week = {"from": (today() - timedelta(days=6)).isoformat(), "to": today().isoformat()}
    assert period(page) == week
    expect(page.locator('[data-days="7"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator('[data-days="28"]')).to_have_attribute("aria-pressed", "false")
    expect(page.locator(daily)).to_have_count(7)
    assert [r["cells"][0] for r in table(page, "#report-stages-daily")["rows"]] == [
        (today() - timedelta(days=n)).isoformat() for n in range(6, -1, -1)
    ]
    after = chart(page, "#report-stages-now")["src"]
    assert after != before
    # The chart shown before is let go of: its Blob URL no longer loads.
    gone = page.evaluate(
        """(url) => new Promise((done) => {
          const image = new Image();
          image.onload = () => done(false);
          image.onerror = () => done(true);
          image.src = url;
        })""",
        before,
    )
    assert gone, "the old chart's Blob URL was not revoked"

    page.fill("#from", (today() - timedelta(days=2)).isoformat())
    page.fill("#to", (today() - timedelta(days=9)).isoformat())
    page.click("#period-apply")
    problem = page.locator("#period-problem")
    expect(problem).to_have_text("From must not be after “To”.", timeout=SLOW)
    expect(page.locator("#from")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#from")).to_have_attribute(
        "aria-describedby", re.compile(r"\bperiod-problem\b")
    )
    expect(page.locator("#status")).to_contain_text("still show")
    # The reports on the page are still those of the last good period.
    expect(page.locator(daily)).to_have_count(7)
    assert_accessible(page)

    page.fill("#from", (today() - timedelta(days=13)).isoformat())
    page.fill("#to", today().isoformat())
    page.click("#period-apply")
    wait_for_reports(page)
    expect(problem).to_be_empty()
    expect(page.locator("#from")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator(daily)).to_have_count(14)
    # The API answers the bad period with 400, and the revoked chart fails to load: Chromium
    # logs both like any error status.
    bad = server.url("/api/reports/")
    assert_clean(
        page,
        watch,
        expected_error_status=(
            before,
            *(url for _, url in watch.console_errors if url.startswith(bad)),
        ),
    )


@pytest.mark.parametrize("report", ["stages", "influence"])
def test_a_report_downloads_as_the_api_csv(
    page: Page, server: Server, watch: Watch, report: str
) -> None:
    key = reader_key(server)
    sign_in(page, server, key)
    with page.expect_download() as started:
        page.click(f"#report-{report} button[data-csv]")
    download = started.value
    body, headers = fetch(server, key, f"/api/reports/{report}", format="csv", **period(page))
    name = re.search(r'filename="([^"]+)"', headers["Content-Disposition"])
    assert name is not None
    assert download.suggested_filename == name[1]
    saved = Path(download.path()).read_bytes()
    sections = api(server, key, f"/api/reports/{report}", **period(page))["sections"]
    # Several sections: each block starts with its title; one section: its column headings.
    header = [sections[0]["title"]] if len(sections) > 1 else sections[0]["columns"]
    assert next(csv.reader(io.StringIO(saved.decode("utf-8")))) == header
    assert saved == body
    expect(page.locator("#status")).to_contain_text("CSV file")
    assert_clean(page, watch)


def test_a_play_audience_downloads_whole(page: Page, server: Server, watch: Watch) -> None:
    # A friend who gets the newsletter is in the welcome letter's audience.
    link = sign_up(page, server, "email:newsletter")
    [mail] = [m for m in server.get_json("/dev/outbox.json")["mails"] if link in m["links"]]
    found = re.search(r"[\w.+-]+@example\.org", str(mail["to"]))
    assert found is not None, mail["to"]
    address = found[0]
    page.goto(link)
    page.get_by_role("button", name="Yes, confirm").click()
    page.wait_for_url(server.url("/preferences/"))
    key = server.admin  # an audience is for ingest and admin; the dashboard needs reader too
    sign_in(page, server, key)
    button = page.locator('button[data-audience="welcome-letter"]')
    expect(button).to_have_accessible_name("Download audience (CSV) of welcome-letter")
    with page.expect_download() as started:
        button.click()
    download = started.value
    assert download.suggested_filename == "audience-welcome-letter.csv"
    saved = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert saved[0] == ["id", "contact", "name", "stage", "circle", "earliest"]
    body, _ = fetch(server, key, "/api/plays/welcome-letter/audience", format="csv", limit="200")
    # The same people as the API lists (the earliest time to reach them moves on with the
    # clock, so it is left out of the comparison), the one who just confirmed among them.
    listed = list(csv.reader(io.StringIO(body.decode("utf-8"))))[1:]
    assert [row[:5] for row in saved[1:]] == [row[:5] for row in listed]
    assert address in [row[1] for row in saved[1:]]
    people = len(saved) - 1
    expect(page.locator("#status")).to_contain_text(
        f"{people} {'person' if people == 1 else 'people'}"
    )
    assert_clean(page, watch)


def test_the_period_by_keyboard_alone(browser: Browser, server: Server, watch: Watch) -> None:
    # Chromium's date field takes typed digits in the locale's order: month, day, year.
    context = new_context(browser, watch, locale="en-US")
    try:
        page = context.new_page()
        key = reader_key(server)
        page.goto(server.url("/marketers/"))
        focus_by_tab(page, "#key")
        page.keyboard.type(key)
        page.keyboard.press("Enter")
        wait_for_reports(page)
        # Signing in leaves focus on the reports' heading; the quick periods come next.
        expect(page.locator("#reports-title")).to_be_focused()
        focus_by_tab(page, '[data-days="7"]', limit=2)
        page.keyboard.press("Enter")
        wait_for_reports(page)
        assert period(page)["from"] == (today() - timedelta(days=6)).isoformat()

        start = today() - timedelta(days=13)
        focus_by_tab(page, "#from", limit=5)
        page.keyboard.type(start.strftime("%m%d%Y"))
        page.keyboard.press("Enter")
        wait_for_reports(page)
        assert period(page) == {"from": start.isoformat(), "to": today().isoformat()}
        expect(page.locator("#report-stages-daily tbody tr")).to_have_count(14)
        expect(page.locator("#from")).to_be_focused()
        assert_clean(page, watch)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("options", "width"),
    [
        ({"viewport": {"width": 320, "height": 640}}, 320),
        ({"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}, 640),
    ],
    ids=["320px", "200-percent"],
)
def test_the_dashboard_reflows_narrow_and_zoomed(
    browser: Browser,
    server: Server,
    watch: Watch,
    screenshots: Path,
    options: dict[str, Any],
    width: int,
) -> None:
    context = new_context(browser, watch, **options)
    try:
        page = context.new_page()
        sign_in(page, server, reader_key(server))
        chart(page, "#report-plays-plays")
        screenshot(page, screenshots, f"marketers-dashboard-{width}")
        assert scroll_width(page) <= width
        for selector in ("#from", "#to", "#period-apply", "#report-plays button[data-csv]"):
            control = page.locator(selector)
            control.scroll_into_view_if_needed()
            box = control.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)
        # A table wider than the screen scrolls in its own frame, which a keyboard can reach.
        wide = page.locator("#report-plays-plays .table-wrap")
        expect(wide).to_have_attribute("tabindex", "0")
        expect(wide).to_have_attribute("role", "region")
        assert_accessible(page)
        assert_clean(page, watch)
    finally:
        context.close()


def test_the_dashboard_in_the_dark(
    browser: Browser, server: Server, watch: Watch, screenshots: Path
) -> None:
    context = new_context(browser, watch, color_scheme="dark")
    try:
        page = context.new_page()
        sign_in(page, server, reader_key(server))
        chart(page, "#report-stages-now")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(23, 24, 22)", background
        assert_good_page(page, watch, screenshots, "marketers-dashboard-dark")
    finally:
        context.close()


def test_the_open_tasks_are_listed_and_download_as_the_api_csv(
    page: Page, server: Server, watch: Watch
) -> None:
    # The default playbook has befriend deliver nothing, so no task is open. The tasks hold
    # contact points: for ingest and admin (a reader sees none, tests/browser/test_accounts).
    key = server.admin
    sign_in(page, server, key)
    expect(page.locator("#tasks-none")).to_be_visible()
    expect(page.locator("#tasks-table")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("0 open tasks")
    with page.expect_download() as started:
        page.get_by_role("button", name="Download tasks (CSV)").click()
    download = started.value
    assert download.suggested_filename == "tasks.csv"
    body, _ = fetch(server, key, "/api/tasks", format="csv")
    assert Path(download.path()).read_bytes() == body
    assert body.decode("utf-8").splitlines() == ["send,play,person,channel,contact,due_since"]
    assert_clean(page, watch)


def test_the_german_dashboard_shows_the_reports_in_german(
    page: Page, server: Server, watch: Watch
) -> None:
    key = reader_key(server)
    page.goto(server.url("/de/marketers/"))
    page.fill("#key", key)
    page.click("#sign-in")
    expect(page.locator("#status")).to_contain_text(
        re.compile(r"\b\d+ Berichte für den Zeitraum "), timeout=SLOW
    )
    expect(page.locator("#reports")).to_have_attribute("aria-busy", "false")
    # The API answers in the page's language: the dashboard shows its words as they come.
    report = api(server, key, "/api/reports/stages", lang="de", **period(page))
    assert report["title"] == "Personen nach Phase"
    expect(page.locator("#report-stages h3")).to_have_text(report["title"])
    section = report["sections"][0]
    figures = table(page, "#report-stages-now")
    assert [heading for heading, _ in figures["columns"]] == section["columns"]
    # What the chart draws is read from the columns' kinds: the counts, never the total
    # ("Alle Kreise"), whatever the headings say.
    alt = chart(page, "#report-stages-now")["alt"]
    counted = [
        c for c, kind in zip(section["columns"], section["kinds"], strict=True) if kind == "count"
    ]
    assert counted and all(c in alt for c in counted), alt
    assert "Alle Kreise" not in alt
    assert_clean(page, watch)


def test_the_audit_trail_is_read_by_admin_keys_only(
    page: Page, server: Server, watch: Watch
) -> None:
    key = reader_key(server)  # `befriend keys create`: recorded under the operator's identity
    sign_in(page, server, key)
    expect(page.locator("#audit-section")).to_be_hidden()  # for admins only
    page.click("#sign-out")
    sign_in(page, server, server.admin)
    expect(page.locator("#audit-section")).to_be_visible()
    expect(page.locator("#audit-table")).to_be_hidden()  # read when asked, not before
    page.get_by_role("button", name="Show entries").click()
    # The newest entries are the reports the dashboard has just read; then the key made.
    first = page.locator("#audit tr", has=page.locator('td[title="key.create"]')).first
    # What the action was and who acted, in the page's words; the action's id on hover.
    expect(first).to_contain_text("made an API key", timeout=SLOW)
    expect(first.locator('td[title="key.create"]')).to_have_count(1)
    expect(first).to_contain_text("Operator: arn:aws:")
    expect(first).to_contain_text("browser test")
    expect(page.locator("#status")).to_contain_text("shown")
    page.fill("#audit-who", "nobody by this name")
    page.get_by_role("button", name="Show entries").click()
    expect(page.locator("#audit-none")).to_be_visible()
    assert_accessible(page)
    assert_clean(page, watch)
