"""Every built page: complete, accessible HTML that the CSP allows, and forms that work
without JavaScript against the real API."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from befriend.core.playbook import Playbook
from tests.conftest import Mails, token_in
from tests.site.pages import Page, page, read_page

PAGES = (
    "index.html",
    "404.html",
    "thanks/index.html",
    "link/index.html",
    "link/sent/index.html",
    "privacy/index.html",
    "unsubscribed/index.html",
    "confirm/index.html",
    "email/index.html",
    "preferences/index.html",
    "data/index.html",
    "marketers/index.html",
)
# The pages that need a token or a key, and the one module each loads.
SCRIPTED = {
    "index.html": "signup",  # optional: the form also works without it
    "confirm/index.html": "confirm",
    "email/index.html": "email",
    "preferences/index.html": "preferences",
    "data/index.html": "data",
    "marketers/index.html": "marketers",
}
_OTHER_HOST = re.compile(r"""(?:https?:)?//(?!/)""")


@pytest.mark.parametrize("name", PAGES)
def test_every_page_is_complete_and_accessible(built: Path, name: str) -> None:
    html = (built / name).read_text(encoding="utf-8")
    found = read_page(html)
    assert html.startswith("<!doctype html>\n")
    [attrs] = [a for t, a in found.tags if t == "html"]
    assert attrs.get("lang") == "en"
    [title] = found.text("title")
    assert title.endswith("· Befriend Demo Co.") and len(title) > len("· Befriend Demo Co.")
    [h1] = found.text("h1")
    assert h1
    assert sum(t == "main" for t, _ in found.tags) == 1
    assert any(t == "header" for t, _ in found.tags)
    assert any(t == "a" and a.get("href") == "/privacy/" for t, a in found.tags)
    ids = [a["id"] for _, a in found.tags if "id" in a]
    assert len(ids) == len(set(ids)), "ids must be unique"
    for control in found.controls:
        if control.attrs.get("type") in ("hidden", "submit", "button"):
            continue
        assert control.attrs.get("id") in found.label_for, f"no label for {control.attrs}"
    for _, attrs in found.tags:
        for key in ("aria-describedby", "aria-labelledby"):
            # Each of the space-separated ids names an element of the page.
            for named in attrs.get(key, "").split():
                assert named in ids, f"{key} names {named!r}, which is not on the page"


@pytest.mark.parametrize("name", PAGES)
def test_no_inline_script_or_style_and_nothing_from_other_hosts(built: Path, name: str) -> None:
    found = page(built, name)
    for tag, attrs in found.tags:
        assert tag not in ("script", "style") or attrs.get("src"), f"inline <{tag}>"
        assert "style" not in attrs, f"style= on <{tag}>"
        assert not [a for a in attrs if a.startswith("on")], f"event handler on <{tag}>"
        for key in ("href", "src", "action", "srcset", "formaction"):
            value = attrs.get(key, "")
            assert not _OTHER_HOST.match(value), f"{key}={value!r} on <{tag}> leaves the site"
            assert not value.lower().startswith(("javascript:", "data:"))
    stylesheets = [a["href"] for t, a in found.tags if t == "link" and a.get("rel") == "stylesheet"]
    assert len(stylesheets) == 1 and re.fullmatch(r"/assets/app\.[0-9a-f]{8}\.css", stylesheets[0])
    scripts = [a for t, a in found.tags if t == "script"]
    # Every page loads the language module (`?lang=`, the browser's language, the switch);
    # the pages that need a token or a key their own module besides. Pages that work
    # without JavaScript still do: the language module only moves between languages.
    modules = ["language", *([SCRIPTED[name]] if name in SCRIPTED else [])]
    assert [s.get("type") for s in scripts] == ["module"] * len(modules)
    for script, module in zip(scripts, modules, strict=True):
        assert re.fullmatch(rf"/assets/{module}\.[0-9a-f]{{8}}\.js", script["src"])


@pytest.mark.parametrize("name", PAGES)
def test_one_h1_and_headings_in_order(built: Path, name: str) -> None:
    levels = [int(t[1]) for t, _ in page(built, name).tags if re.fullmatch(r"h[1-6]", t)]
    assert levels[0] == 1 and levels.count(1) == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, f"h{before} is followed by h{after}"


def test_the_stylesheet_cares_for_dark_mode_motion_and_focus(built: Path) -> None:
    [css] = (built / "assets").glob("app.*.css")
    text = css.read_text()
    for needle in ("prefers-color-scheme: dark", "prefers-reduced-motion", ":focus-visible"):
        assert needle in text
    assert "@import" not in text and "url(" not in text and "@font-face" not in text


def test_the_sign_up_form_offers_the_playbook_grid_by_channel(
    built: Path, playbook: Playbook
) -> None:
    found = page(built, "index.html")
    [form] = found.forms
    assert form["action"] == "/api/signup"
    assert form["method"] == "post"
    assert form["enctype"] == "application/x-www-form-urlencoded"
    boxes = [c for c in found.controls if c.attrs.get("name") == "permissions"]
    assert [c.attrs["value"] for c in boxes] == [f"{c}:{p}" for c, p in playbook.grid()]
    for box in boxes:
        channel = box.attrs["value"].split(":")[0]
        assert box.attrs["type"] == "checkbox"
        assert "checked" not in box.attrs  # nothing is ticked for the person
        assert box.legends[-1] == playbook.channels[channel].label
    interests = [c.attrs["value"] for c in found.controls if c.attrs.get("name") == "interests"]
    assert interests == list(playbook.topics)
    by_name = {c.attrs["name"]: c.attrs for c in found.controls}
    assert by_name["time_zone"]["value"] == "UTC"
    assert by_name["policy_version"] == {
        "type": "hidden",
        "name": "policy_version",
        "value": playbook.policy.version,
    }
    assert by_name["email"]["type"] == "email"
    html = (built / "index.html").read_text()
    assert playbook.policy.version in html
    assert "Global Privacy Control" in html


def fill(found: Page, form: int, ticks: int = 2, **values: str) -> list[tuple[str, str]]:
    """What a browser sends for the form: text fields with `values` (or their defaults),
    hidden fields, and the first `ticks` boxes of each checkbox group."""
    fields: list[tuple[str, str]] = []
    ticked: dict[str, int] = {}
    for control in found.controls:
        if control.form != form or "name" not in control.attrs:
            continue
        name, kind = control.attrs["name"], control.attrs.get("type", "text")
        if kind == "checkbox":
            ticked[name] = ticked.get(name, 0) + 1
            if ticked[name] <= ticks:
                fields.append((name, control.attrs["value"]))
        else:
            fields.append((name, values.get(name, control.attrs.get("value", ""))))
    return fields


def post_form(client: Any, found: Page, fields: list[tuple[str, str]]) -> Any:
    [form] = found.forms
    return client.post(form["action"], data=urlencode(fields), content_type=form["enctype"])


def test_the_sign_up_form_as_a_browser_posts_it_signs_up(
    built: Path, client: Any, mails: Mails
) -> None:
    found = page(built, "index.html")
    fields = fill(found, 0, email="form@example.org", name="Form Person")
    answer = post_form(client, found, fields)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert answer.headers["Location"] == "/thanks/"
    assert (built / "thanks/index.html").is_file()
    [mail] = mails()
    assert mail["to"] == "form@example.org"
    confirmed = client.post("/api/confirm", json={"token": token_in(mail, "confirm")})
    assert confirmed.status_code == 200
    person = confirmed.get_json()["person"]
    granted = {
        f"{c['channel']}:{c['purpose']}" for c in person["permissions"] if c["state"] == "granted"
    }
    assert granted == {v for k, v in fields if k == "permissions"}
    assert person["name"] == "Form Person"
    assert person["interests"] == [v for k, v in fields if k == "interests"]


def test_the_link_form_as_a_browser_posts_it_goes_on_to_link_sent(built: Path, client: Any) -> None:
    found = page(built, "link/index.html")
    [form] = found.forms
    assert form["action"] == "/api/link"
    answer = post_form(client, found, fill(found, 0, email="someone@example.org"))
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/link/sent/"
    assert (built / "link/sent/index.html").is_file()


def test_privacy_page_names_the_policy_and_the_organisation(
    built: Path, playbook: Playbook
) -> None:
    html = (built / "privacy/index.html").read_text()
    org = playbook.organisation
    for needle in (playbook.policy.version, org.name, org.address, f"mailto:{org.contact}"):
        assert needle in html
    assert "We never sell your data." in html


def test_unsubscribed_page_links_to_the_link_form(built: Path) -> None:
    found = page(built, "unsubscribed/index.html")
    assert found.text("h1") == ["You are unsubscribed"]
    assert any(t == "a" and a.get("href") == "/link/" for t, a in found.tags)
