"""Markup, script URLs, template syntax and spreadsheet formulas in what people type stay
inert text wherever befriend shows it.

Free text a visitor can set is their name (sign-up as JSON or as a form, and settings);
an import also sets the name and the consent evidence (source, wording, policy version)
and the operator names the file's source. Every other field (time zone, handles, topics,
survey answers, channels, purposes) is a choice or a pattern, so a payload there must be
refused, and the page that says so shows it escaped. Each payload is then looked for on
every surface: the server's HTML pages (form errors, one-click pages, the local outbox),
both parts of a mail, the visitor's and the marketer's JSON, the audience CSV, reports as
JSON, CSV and SVG, and `befriend export`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from markupsafe import escape

from befriend.cli import main
from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.core.reports import REPORTS, Report, Section
from befriend.credentials.tokens import Tokens
from befriend.reports.spreadsheet import FORMULA_START
from befriend.store import Store
from tests.conftest import SECRET, START, Mails, SignUp, Visitor, bearer, token_in, unsubscribe_path
from tests.security.conftest import Keyring, assert_problem, snapshot

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "single-quoted": "'><svg onload=alert(1)>",
    "script-url": "javascript:alert(1)",
    "template": "{{7*7}} {% if 1 %}49{% endif %} ${7*7} #{7*7}",
    "formula": '=HYPERLINK("https://evil.example","x")',
    "formula-at": "@SUM(1+1)*cmd|' /C calc'!A0",
}
NAMES = list(PAYLOADS)
# A name refuses markup, web and email addresses (a stranger may type one for someone
# else's address, and it is shown beside the organisation's words); what a name does
# accept may still be hostile somewhere, so these must stay inert wherever it is shown.
NAME_PAYLOADS = {
    "script-url": PAYLOADS["script-url"],
    "formula": "=SUM(1+1)*cmd",
    "plus-formula": "+1-555 Smith",
    "quotes": "'Bo' \"the\" O'Neil",
}
REFUSED_NAMES = [kind for kind in NAMES if kind != "script-url"]
SVG = "{http://www.w3.org/2000/svg}"


class Markup(HTMLParser):
    """What a page would run: its elements and attributes, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert_html(html: str, payload: str, *, shown: bool = True) -> None:
    """No element, attribute or script URL came from `payload`; it shows as text when
    `shown`, never evaluated as a template."""
    page = Markup(html)
    tags = {tag for tag, _ in page.tags}
    assert "script" not in tags and "img" not in tags and "svg" not in tags, tags
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name)
    if any(ch in payload for ch in "<>\"'&"):
        assert payload not in html
    if shown:
        text = "".join(page.text)
        assert payload in " ".join(text.split()) or str(escape(payload)) in html
        assert "{{7*7}}" not in payload or "{{7*7}}" in text


def assert_inert_json(answer: Any, payload: str) -> None:
    """The payload comes back exactly as given, in a body no browser runs as a page."""
    assert answer.mimetype == "application/json"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert any(payload in text for text in strings(answer.get_json()))


def strings(value: Any) -> list[str]:
    """Every string in a JSON document, keys and values."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def assert_safe_csv(text: str) -> list[list[str]]:
    """Every cell of the sheet: none of them starts as a spreadsheet formula would."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), cell
    return rows


def as_sheet_cell(payload: str) -> str:
    return "'" + payload if payload.startswith(FORMULA_START) else payload


def named(client: Any, sign_up: SignUp, playbook: Playbook, how: str, payload: str) -> Visitor:
    """A confirmed person whose name was set to `payload` in the way `how` says."""
    if how == "signup json":
        return sign_up(name=payload)
    if how == "settings":
        visitor = sign_up()
        changed = client.patch("/api/me/settings", json={"name": payload}, headers=visitor.auth)
        assert changed.status_code == 200, changed.get_data(as_text=True)
        return visitor
    raise AssertionError(how)


# --- the name, wherever it is shown ---


@pytest.mark.parametrize("how", ["signup json", "settings"])
@pytest.mark.parametrize("kind", list(NAME_PAYLOADS))
def test_a_name_is_inert_in_mail_pages_and_json(
    client: Any,
    sign_up: SignUp,
    mails: Mails,
    playbook: Playbook,
    keyring: Keyring,
    how: str,
    kind: str,
) -> None:
    payload = NAME_PAYLOADS[kind]
    visitor = named(client, sign_up, playbook, how, payload)
    assert client.post("/api/link", json={"email": visitor.email}).status_code == 202
    mail = mails()[-1]
    assert mail["to"] == visitor.email

    assert_inert_html(mail["html"], payload)
    assert payload in " ".join(mail["text"].split())  # plain text: shown as typed
    assert payload not in mail["subject"] and "\n" not in mail["subject"]
    outbox = client.get("/dev/outbox")
    assert_inert_html(outbox.get_data(as_text=True), payload)
    # The one-click page says what is withdrawn, never whose.
    page = client.get(unsubscribe_path(mail)).get_data(as_text=True)
    assert_inert_html(page, payload, shown=False)
    assert payload not in page

    for path in ("/api/me", "/api/me/export"):
        assert_inert_json(client.get(path, headers=visitor.auth), payload)
    key = bearer(keyring.live["reader"])
    assert_inert_json(client.get(f"/api/people/{visitor.id}", headers=key), payload)
    ingest = bearer(keyring.live["ingest"])  # audiences are the ingest role's
    assert_inert_json(client.get("/api/plays/welcome-letter/audience", headers=ingest), payload)
    assert client.get("/api/me", headers=visitor.auth).get_json()["name"] == payload


@pytest.mark.parametrize("kind", list(NAME_PAYLOADS))
def test_a_name_from_the_no_javascript_form_is_kept_as_typed(
    client: Any, mails: Mails, playbook: Playbook, kind: str
) -> None:
    payload = NAME_PAYLOADS[kind]
    email = f"form-{kind}@example.org"
    answer = client.post(
        "/api/signup",
        data={
            "email": email,
            "name": payload,
            "policy_version": playbook.policy.version,
            "permissions": ["email:newsletter"],
        },
    )
    assert answer.status_code == 303
    confirmed = client.post("/api/confirm", json={"token": token_in(mails()[-1], "confirm")})
    assert confirmed.get_json()["person"]["name"] == payload
    # The confirmation mail never shows a name: anyone can type one for any address.
    assert payload not in mails()[-1]["text"] and payload not in mails()[-1]["html"]


@pytest.mark.parametrize("kind", REFUSED_NAMES)
def test_a_name_with_markup_or_an_address_is_refused_everywhere_and_nothing_is_stored(
    client: Any, sign_up: SignUp, playbook: Playbook, store: Store, mails: Mails, kind: str
) -> None:
    payload = PAYLOADS[kind]
    visitor = sign_up()
    before = snapshot(store)
    signup = {"email": "n@example.org", "name": payload, "policy_version": playbook.policy.version}
    body = assert_problem(client.post("/api/signup", json=signup), 422)
    assert [e["field"] for e in body["errors"]] == ["name"]
    form = client.post("/api/signup", data=signup)
    assert form.status_code == 422 and form.mimetype == "text/html"
    assert_inert_html(form.get_data(as_text=True), payload, shown=False)
    settings = client.patch("/api/me/settings", json={"name": payload}, headers=visitor.auth)
    assert [e["field"] for e in assert_problem(settings, 422)["errors"]] == ["name"]
    assert snapshot(store) == before
    assert not [m for m in mails() if m["to"] == "n@example.org"]


@pytest.mark.parametrize("kind", list(NAME_PAYLOADS))
def test_an_audience_csv_neutralises_every_cell(
    client: Any, sign_up: SignUp, keyring: Keyring, kind: str
) -> None:
    payload = NAME_PAYLOADS[kind]
    sign_up(name=payload, email="=2+3@example.org")
    sign_up(name="-" + payload, email="+1-555@example.org")
    answer = client.get(
        "/api/plays/welcome-letter/audience?format=csv", headers=bearer(keyring.live["ingest"])
    )
    assert answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    rows = assert_safe_csv(answer.get_data(as_text=True))
    names = {row[2] for row in rows[1:]}
    assert names == {as_sheet_cell(payload), "'-" + payload}


@pytest.mark.parametrize("kind", list(NAME_PAYLOADS))
def test_reports_never_carry_what_people_typed(
    client: Any, sign_up: SignUp, keyring: Keyring, kind: str
) -> None:
    payload = NAME_PAYLOADS[kind]
    visitor = sign_up(name=payload, interests=["cycling"])
    client.patch("/api/me/settings", json={"name": payload + "!"}, headers=visitor.auth)
    key = bearer(keyring.live["reader"])
    period = f"from={START.date().isoformat()}&to={START.date().isoformat()}"
    for name in REPORTS:
        report = client.get(f"/api/reports/{name}?{period}", headers=key)
        assert report.status_code == 200
        assert payload not in report.get_data(as_text=True)
        sheet = client.get(f"/api/reports/{name}?{period}&format=csv", headers=key)
        assert payload not in sheet.get_data(as_text=True)
        assert_safe_csv(sheet.get_data(as_text=True))
        for section in report.get_json()["sections"]:
            chart = client.get(
                f"/api/reports/{name}?{period}&format=svg&section={section['id']}", headers=key
            )
            assert chart.status_code == 200
            assert payload not in chart.get_data(as_text=True)
            assert_inert_svg(chart.get_data(as_text=True))


def assert_inert_svg(text: str) -> ElementTree.Element:
    root = ElementTree.fromstring(text)
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        assert local not in ("script", "foreignObject", "iframe", "object", "embed"), local
        for name, value in element.attrib.items():
            attr = name.rsplit("}", 1)[-1]
            assert not attr.startswith("on"), (local, attr)
            assert attr != "href", (local, value)
    return root


@pytest.mark.parametrize("kind", NAMES)
def test_a_chart_draws_labels_and_titles_as_text(kind: str) -> None:
    """Labels come from the playbook, not from visitors; still, markup in one stays text."""
    from befriend.reports.charts import svg

    payload = PAYLOADS[kind]
    section = Section(
        "crafted",
        payload,
        payload,
        "bar",
        ("Label", payload),
        ((payload, 3), ("plain", 2)),
        ("k0", "k1"),
    )
    report = Report("stages", payload, payload, START.date(), START.date(), (section,))
    drawn = svg(report, section)
    root = assert_inert_svg(drawn)
    texts = " ".join(t.text or "" for t in root.iter() if t.text)
    assert payload in texts
    assert payload not in drawn or not any(ch in payload for ch in "<&")


# --- fields that only take a choice or a pattern refuse payloads ---

Body = Callable[[str], dict[str, Any]]
REFUSED_FIELDS: dict[str, Body] = {
    "time_zone": lambda p: {"time_zone": p},
    "handles/linkedin": lambda p: {"handles": {"linkedin": p}},
    "handles/x": lambda p: {"handles": {"x": p}},
    "quiet_hours/sms": lambda p: {"quiet_hours": {"sms": {"from": p, "until": "08:00"}}},
    "paused_until": lambda p: {"paused_until": p},
    "max_per_week/email": lambda p: {"max_per_week": {"email": p}},
}
SURVEY_FIELDS: dict[str, Body] = {
    "found_us": lambda p: {"found_us": p},
    "preferred_channel": lambda p: {"preferred_channel": p, "how_often": "monthly"},
    "how_often": lambda p: {"how_often": p, "preferred_channel": "email"},
    "interests": lambda p: {"interests": [p]},
}


@pytest.mark.parametrize("kind", NAMES)
def test_choice_and_pattern_fields_refuse_payloads_and_store_nothing(
    client: Any, sign_up: SignUp, store: Store, kind: str
) -> None:
    payload = PAYLOADS[kind]
    visitor = sign_up()
    attempts = [("/api/me/settings", "patch", body(payload)) for body in REFUSED_FIELDS.values()]
    attempts += [("/api/me/survey", "post", body(payload)) for body in SURVEY_FIELDS.values()]
    attempts += [
        ("/api/me/interests", "put", {"interests": [payload]}),
        (
            "/api/me/permissions",
            "patch",
            {"changes": [{"channel": payload, "purpose": "offers", "granted": True}]},
        ),
        (
            "/api/me/permissions",
            "patch",
            {"changes": [{"channel": "email", "purpose": payload, "granted": True}]},
        ),
        ("/api/me/settings", "patch", {payload: "x"}),
    ]
    before = snapshot(store)
    for path, method, sent in attempts:
        answer = getattr(client, method)(path, json=sent, headers=visitor.auth)
        assert_problem(answer, 422)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert snapshot(store) == before


FORM_FIELDS: dict[str, Body] = {
    "time_zone": lambda p: {"time_zone": p},
    "interests": lambda p: {"interests": [p]},
    "permissions channel": lambda p: {"permissions": [f"{p}:newsletter"]},
    "permissions purpose": lambda p: {"permissions": [f"email:{p}"]},
    "policy_version": lambda p: {"policy_version": p},
    "email": lambda p: {"email": p},
    "email local part": lambda p: {"email": f"{p}@example.org"},
    "long name": lambda p: {"name": p * (201 // len(p) + 1)},
}


@pytest.mark.parametrize("field", list(FORM_FIELDS))
@pytest.mark.parametrize("kind", NAMES)
def test_a_form_error_page_shows_a_payload_as_text(
    client: Any, store: Store, mails: Mails, playbook: Playbook, kind: str, field: str
) -> None:
    payload = PAYLOADS[kind]
    form: dict[str, Any] = {
        "email": "form-errors@example.org",
        "policy_version": playbook.policy.version,
        "permissions": ["email:newsletter"],
        **FORM_FIELDS[field](payload),
    }
    before, sent = snapshot(store), len(mails())
    answer = client.post("/api/signup", data=form)
    if answer.status_code == 303:  # a payload that is a valid value here (a formula address)
        assert field == "email local part"
        return
    assert answer.status_code == 422 and answer.mimetype == "text/html"
    assert_inert_html(answer.get_data(as_text=True), payload, shown=False)
    assert snapshot(store) == before and len(mails()) == sent


@pytest.mark.parametrize("kind", NAMES)
def test_the_link_form_error_page_shows_a_payload_as_text(client: Any, kind: str) -> None:
    payload = PAYLOADS[kind]
    for email in (payload, f"{payload}@example.org"):
        answer = client.post("/api/link", data={"email": email})
        if answer.status_code == 303:
            continue  # a valid address: the same answer as any other
        assert answer.status_code == 422 and answer.mimetype == "text/html"
        assert_inert_html(answer.get_data(as_text=True), payload, shown=False)


@pytest.mark.parametrize("kind", NAMES)
def test_a_payload_in_a_path_is_never_echoed(client: Any, kind: str) -> None:
    payload = PAYLOADS[kind]
    for path in (
        f"/api/{payload}",
        f"/api/unsubscribe/{payload}",
        f"/api/me/next-steps/{payload}/decline",
    ):
        answer = client.get(path) if "decline" not in path else client.post(path)
        text = answer.get_data(as_text=True)
        assert answer.status_code in (401, 404, 405)
        assert payload not in text
        if answer.mimetype == "text/html":
            assert_inert_html(text, payload, shown=False)


# --- imports and `befriend export` ---


def befriend(store: Store, *args: str) -> Any:
    return CliRunner().invoke(
        main, [*args, "--table", store.table], env={"BEFRIEND_SECRET": SECRET}
    )


@pytest.mark.parametrize("kind", NAMES)
def test_imported_text_is_inert_in_exports_json_and_spreadsheets(
    client: Any,
    store: Store,
    tmp_path: Path,
    keyring: Keyring,
    clock: SettableClock,
    kind: str,
) -> None:
    payload = PAYLOADS[kind]
    consent = (START - timedelta(days=10)).date().isoformat()
    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(
        [
            "email",
            "name",
            "permissions",
            "consent_at",
            "consent_source",
            "consent_policy_version",
            "consent_wording",
        ]
    )
    writer.writerow(
        ["imported@example.org", payload, "email:newsletter", consent, payload, payload, payload]
    )
    writer.writerow(["=1+2@example.org", "-" + payload, "", "", "", "", ""])
    file = tmp_path / "contacts.csv"
    file.write_text(lines.getvalue(), encoding="utf-8")
    done = befriend(store, "import", str(file), "--source", payload)
    assert done.exit_code == 0, done.output

    out = tmp_path / "export.csv"
    assert befriend(store, "export", "--out", str(out)).exit_code == 0
    rows = assert_safe_csv(out.read_text(encoding="utf-8"))
    header = rows[0]
    by_email = {row[header.index("email")]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_email["imported@example.org"]["name"] == as_sheet_cell(payload)
    assert by_email["'=1+2@example.org"]["name"] == "'-" + payload

    records = [
        json.loads(x) for x in befriend(store, "export", "--format", "jsonl").stdout.splitlines()
    ]
    mine = next(r for r in records if r["email"] == "imported@example.org")
    assert mine["name"] == payload
    assert {p["policy_version"] for p in mine["permissions"] if p["state"] == "granted"} == {
        payload
    }

    person_id = mine["id"]
    manage = Tokens(SECRET, clock).issue("manage", person_id)
    for path in ("/api/me", "/api/me/export"):
        assert_inert_json(client.get(path, headers=bearer(manage)), payload)
    key = bearer(keyring.live["reader"])
    assert_inert_json(client.get(f"/api/people/{person_id}", headers=key), payload)
    ingest = bearer(keyring.live["ingest"])  # audiences are the ingest role's
    sheet = client.get("/api/plays/welcome-letter/audience?format=csv", headers=ingest)
    assert_safe_csv(sheet.get_data(as_text=True))
