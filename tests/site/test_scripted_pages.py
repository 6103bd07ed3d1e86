"""The pages that need a token or a key: the controls a browser test finds them by, live
status regions, and modules that only ever put API values into the page as text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from befriend.core.playbook import Playbook
from tests.site.pages import Page, page
from tests.site.test_pages import SCRIPTED


def by_id(found: Page) -> dict[str, tuple[str, dict[str, str]]]:
    return {a["id"]: (t, a) for t, a in found.tags if "id" in a}


def modules(built: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in (built / "assets").glob("*.js")}


@pytest.mark.parametrize("name", sorted(SCRIPTED))
def test_status_is_a_polite_live_region(built: Path, name: str) -> None:
    _, attrs = by_id(page(built, name))["status"]
    assert attrs["role"] == "status"
    assert attrs["aria-live"] == "polite"


@pytest.mark.parametrize(
    "name",
    ["confirm/index.html", "email/index.html", "preferences/index.html", "data/index.html"],
)
def test_an_expired_link_offers_a_new_one(built: Path, name: str) -> None:
    found = page(built, name)
    tag, attrs = by_id(found)["expired"]
    assert tag == "section" and "hidden" in attrs
    assert any(t == "a" and a.get("href") == "/link/" for t, a in found.tags)


def test_preferences_offer_the_grid_by_channel_and_every_control(
    built: Path, playbook: Playbook
) -> None:
    found = page(built, "preferences/index.html")
    boxes = [c for c in found.controls if c.attrs.get("name") == "permission"]
    assert [c.attrs["value"] for c in boxes] == [f"{c}:{p}" for c, p in playbook.grid()]
    for box in boxes:
        assert box.attrs["type"] == "checkbox" and "checked" not in box.attrs
        assert box.legends[-1] == playbook.channels[box.attrs["value"].split(":")[0]].label
    interests = [c.attrs["value"] for c in found.controls if c.attrs.get("name") == "interest"]
    assert interests == list(playbook.topics)
    ids = by_id(found)
    for needle in (
        "undo",
        "withdraw-all",
        "withdraw-all-confirm",
        "sign-out-everywhere",
        "time_zone",
        "paused_until",
        "pause-clear",
        "survey",
        "steps",
    ):
        assert needle in ids, needle
    assert "hidden" in ids["withdraw-confirm"][1]  # confirming is a second, separate step
    for channel in playbook.channels:
        assert f"quiet-{channel}-from" in ids and f"quiet-{channel}-until" in ids
        assert ids[f"cap-{channel}"][1]["type"] == "number"
        assert ids[f"cap-{channel}"][1]["max"] == str(playbook.max_per_week)
    social = [c for c in playbook.channels.values() if c.kind == "social"]
    assert social and all(f"handle-{c.id}" in ids for c in social)
    assert any(t == "a" and a.get("href") == "/data/" for t, a in found.tags)
    assert playbook.survey is not None
    found_us = [c.attrs["value"] for c in found.controls if c.attrs.get("name") == "found_us"]
    assert found_us == list(playbook.survey.found_us)


def test_data_page_downloads_and_erases_only_when_understood(built: Path) -> None:
    ids = by_id(page(built, "data/index.html"))
    assert ids["download"][0] == "button"
    assert ids["erase-understood"][1]["type"] == "checkbox"
    assert ids["erase"][0] == "button" and "disabled" in ids["erase"][1]


def test_the_marketer_key_never_travels_in_the_address(built: Path) -> None:
    found = page(built, "marketers/index.html")
    ids = by_id(found)
    assert ids["key"][1]["type"] == "password"
    assert ids["sign-in"][0] == "button"
    [key] = [c for c in found.controls if c.attrs.get("id") == "key"]
    assert key.form is not None
    # Without JavaScript the key goes in no query string.
    assert found.forms[key.form]["method"] == "post"


def test_the_dashboard_offers_a_period_with_an_alert_for_its_problems(built: Path) -> None:
    found = page(built, "marketers/index.html")
    ids = by_id(found)
    for name in ("from", "to"):
        assert ids[name][1]["type"] == "date"
        assert ids[name][1]["min"] == "2000-01-01"
    assert ids["period-apply"][1]["type"] == "submit"
    assert ids["period-problem"][1]["role"] == "alert"
    presets = [a["data-days"] for t, a in found.tags if t == "button" and "data-days" in a]
    assert presets == ["7", "28", "84", "365"]
    assert ids["reports"][0] == "div" and ids["plays"][0] == "ul"


def test_modules_import_each_other_by_hashed_name(built: Path) -> None:
    found = modules(built)
    for name, text in found.items():
        assert re.fullmatch(r"[a-z0-9]+\.[0-9a-f]{8}\.js", name)
        for target in re.findall(r"""from\s*["']\./([^"']+)["']""", text):
            assert target in found, f"{name} imports ./{target}, which was not built"
    [api] = [n for n in found if n.startswith("api.")]
    for page_module in SCRIPTED.values():
        [text] = [t for n, t in found.items() if n.startswith(f"{page_module}.")]
        assert f'from "./{api}"' in text


def test_modules_put_api_values_in_as_text_only(built: Path) -> None:
    for name, text in modules(built).items():
        for needle in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert needle not in text, f"{needle} in {name}"
        assert "window.confirm" not in text and "localStorage" not in text, name
        assert "http:" not in text and "https:" not in text, f"{name} reaches another host"


def test_preferences_say_where_we_reach_you_first(built: Path, playbook: Playbook) -> None:
    found = page(built, "preferences/index.html")
    ids = by_id(found)
    sections = [a.get("aria-labelledby") for t, a in found.tags if t == "section"]
    # The first section after the expired notice is the contacts one.
    assert sections[sections.index("permissions-title") - 1] == "contacts-title"
    assert ids["new-email"][1]["type"] == "email"
    assert ids["phone-new"][1]["type"] == "tel"
    assert ids["phone-code"][1]["autocomplete"] == "one-time-code"
    assert "hidden" in ids["code-form"][1] and "hidden" in ids["phone-carry"][1]
    assert ids["phone-carry-box"][1]["type"] == "checkbox"
    assert ids["code-again"][0] == "button"
    fields = {a["data-field"] for t, a in found.tags if "data-field" in a}
    assert {"email", "number", "code", "lines/0", "postcode", "city", "region", "country"} <= fields
    for form in ("email-form", "phone-form", "code-form", "postal-form"):
        assert f"{form}-problem" in ids
    social = [c for c in playbook.channels.values() if c.kind == "social"]
    assert all(f"handle-{c.id}" in ids for c in social)


def test_sign_up_asks_for_a_phone_number_beside_the_phone_channels(
    built: Path, playbook: Playbook
) -> None:
    found = page(built, "index.html")
    ids = by_id(found)
    # Without JavaScript the field is there for the server to read; the script hides it.
    assert ids["phone"][1]["type"] == "tel" and "hidden" not in ids["phone-field"][1]
    [phone] = [c for c in found.controls if c.attrs.get("id") == "phone"]
    assert phone.form is not None and found.forms[phone.form]["id"] == "signup-form"
    assert "required" not in phone.attrs
    kinds = {a["data-kind"] for t, a in found.tags if t == "fieldset" and "data-kind" in a}
    assert "phone" in kinds
