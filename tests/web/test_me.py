"""A person manages their own permissions, interests, settings and data."""

from __future__ import annotations

import json
from typing import Any

from befriend.clock import SettableClock
from befriend.i18n.catalogs import translations
from befriend.store import Store
from tests.conftest import SignUp, phone_number


def states(me: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(c["channel"], c["purpose"]): c["state"] for c in me["permissions"]}


def test_me_shows_the_full_grid_and_settings(sign_up: SignUp, playbook: Any) -> None:
    me = sign_up().get().get_json()
    assert len(me["permissions"]) == len(playbook.grid())
    assert set(states(me).values()) == {"granted", "never"}
    assert me["settings"]["quiet_hours"]["sms"] == {"from": "21:00", "until": "08:00", "own": False}
    assert set(me["settings"]["handles"]) == {"linkedin", "x"}


def test_withdrawing_is_as_easy_as_granting(sign_up: SignUp, store: Store) -> None:
    visitor = sign_up(phone=phone_number())
    visitor.verify_phone()  # texts are granted at once only to a verified number
    granted = visitor.patch_permissions(("sms", "offers", True))
    assert states(granted.get_json())["sms", "offers"] == "granted"
    withdrawn = visitor.patch_permissions(("sms", "offers", False))
    assert withdrawn.status_code == 200
    cell = next(
        c
        for c in withdrawn.get_json()["permissions"]
        if (c["channel"], c["purpose"]) == ("sms", "offers")
    )
    assert (cell["state"], cell["source"]) == ("withdrawn", "api")
    assert [e["action"] for e in store.ledger(visitor.id)][-2:] == ["permissions", "permissions"]


def test_withdraw_all_in_one_click(sign_up: SignUp) -> None:
    visitor = sign_up(
        permissions=(("email", "newsletter"), ("sms", "offers")), phone=phone_number()
    )
    assert states(visitor.verify_phone().get_json())["sms", "offers"] == "granted"
    me = visitor.client.post("/api/me/withdraw-all", headers=visitor.auth).get_json()
    assert "granted" not in states(me).values()


def test_interests_are_replaced_as_a_whole(sign_up: SignUp) -> None:
    visitor = sign_up(interests=["cooking"])
    answer = visitor.client.put(
        "/api/me/interests", json={"interests": ["cycling", "gardening"]}, headers=visitor.auth
    )
    assert answer.get_json()["interests"] == ["gardening", "cycling"]


def test_settings_change_and_return_to_defaults(sign_up: SignUp, clock: SettableClock) -> None:
    visitor = sign_up()
    changed = visitor.client.patch(
        "/api/me/settings",
        headers=visitor.auth,
        json={
            "time_zone": "Asia/Tokyo",
            "quiet_hours": {"sms": {"from": "20:00", "until": "09:00"}},
            "max_per_week": {"email": 2},
            "paused_until": "2027-01-01T00:00:00Z",
            "handles": {"x": "@befriend"},
        },
    ).get_json()["settings"]
    assert changed["time_zone"] == "Asia/Tokyo"
    assert changed["quiet_hours"]["sms"] == {"from": "20:00", "until": "09:00", "own": True}
    assert changed["max_per_week"]["email"] == 2
    assert changed["paused_until"].startswith("2027-01-01T00:00:00")
    assert changed["handles"]["x"] == "@befriend"
    back = visitor.client.patch(
        "/api/me/settings",
        headers=visitor.auth,
        json={"quiet_hours": {"sms": None}, "paused_until": None},
    ).get_json()["settings"]
    assert back["quiet_hours"]["sms"]["own"] is False
    assert back["paused_until"] is None


def test_receipts_follow_the_kantara_fields(sign_up: SignUp, playbook: Any) -> None:
    visitor = sign_up()
    visitor.patch_permissions(("email", "newsletter", False))
    found = visitor.get("/api/me/receipts").get_json()["receipts"]
    assert [r["services"][0]["purposes"][0]["status"] for r in found] == ["granted", "withdrawn"]
    receipt = found[-1]
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["policyUrl"] == "https://prefs.example" + playbook.policy.url
    assert receipt["piiPrincipalId"] == visitor.id
    assert receipt["collectionMethod"]


def test_export_holds_everything_and_every_ledger_entry(sign_up: SignUp, store: Store) -> None:
    visitor = sign_up(phone=phone_number())
    visitor.verify_phone()
    visitor.patch_permissions(("sms", "offers", True))
    visitor.client.put("/api/me/interests", json={"interests": ["cycling"]}, headers=visitor.auth)
    answer = visitor.get("/api/me/export")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert answer.headers["Cache-Control"] == "no-store"
    document = json.loads(answer.get_data())
    assert document["person"]["email"] == visitor.email
    assert document["person"]["contacts"]["phone"]["number"] == phone_number().replace(" ", "")
    assert document["ledger"] == store.ledger(visitor.id)
    assert [e["action"] for e in document["ledger"]] == [
        "signup",
        "confirm",
        "phone-verified",
        "permissions",
        "interests",
    ]


def test_sign_out_everywhere_revokes_every_earlier_link(sign_up: SignUp) -> None:
    visitor = sign_up()
    old = visitor.auth
    answer = visitor.client.post("/api/me/sign-out-everywhere", headers=old)
    assert answer.status_code == 200
    fresh = answer.get_json()["manage_token"]
    assert visitor.client.get("/api/me", headers=old).status_code == 401
    assert (
        visitor.client.get("/api/me", headers={"Authorization": f"Bearer {fresh}"}).status_code
        == 200
    )


def test_manage_tokens_expire_after_ninety_days(sign_up: SignUp, clock: SettableClock) -> None:
    visitor = sign_up()
    clock.advance(days=89)
    assert visitor.get().status_code == 200
    clock.advance(days=2)
    assert visitor.get().status_code == 401


def test_gpc_on_a_change_refuses_sharing_and_the_ledger_says_so(
    sign_up: SignUp, store: Store
) -> None:
    visitor = sign_up()
    answer = visitor.patch_permissions(("email", "partner-sharing", True), **{"Sec-GPC": "1"})
    assert states(answer.get_json())["email", "partner-sharing"] == "never"
    last = store.ledger(visitor.id)[-1]
    assert (last["action"], last["source"], last["gpc"]) == ("gpc", "gpc", True)


def test_nothing_about_one_person_is_reachable_with_another_token(sign_up: SignUp) -> None:
    first, second = sign_up(), sign_up()
    assert first.get().get_json()["id"] != second.get().get_json()["id"]
    assert second.get().get_json()["email"] == second.email


def test_me_shows_stage_circle_and_next_steps_in_plain_words(sign_up: SignUp) -> None:
    me = sign_up(interests=["local-events"]).get().get_json()
    relationship = me["relationship"]
    assert relationship["stage"]["id"] == "friend"
    assert relationship["stage"]["says"]
    assert relationship["circle"]["id"] == "loose"
    steps = {s["play"]: s for s in relationship["next_steps"]}
    assert "welcome-letter" in steps
    assert "you said yes to newsletter by email" in steps["welcome-letter"]["reason"]
    assert steps["ask-events"]["asks"] == {"channel": "email", "purpose": "events"}


def test_no_thanks_hides_a_step_for_its_cooldown(sign_up: SignUp, clock: SettableClock) -> None:
    visitor = sign_up()
    answer = visitor.client.post("/api/me/next-steps/welcome-letter/decline", headers=visitor.auth)
    assert answer.status_code == 200
    steps = {s["play"] for s in answer.get_json()["relationship"]["next_steps"]}
    assert "welcome-letter" not in steps
    clock.advance(days=31)
    steps = {s["play"] for s in visitor.get().get_json()["relationship"]["next_steps"]}
    assert "welcome-letter" in steps
    unknown = visitor.client.post("/api/me/next-steps/nope/decline", headers=visitor.auth)
    assert unknown.status_code == 404


def test_stage_moves_are_kept_and_exported(sign_up: SignUp, store: Store) -> None:
    visitor = sign_up(permissions=())
    visitor.patch_permissions(("email", "newsletter", True))
    visitor.client.post("/api/me/withdraw-all", headers=visitor.auth)
    moves = [(m["from"], m["to"]) for m in store.transitions(visitor.id)]
    assert moves == [("none", "stranger"), ("stranger", "friend"), ("friend", "stranger")]
    exported = visitor.get("/api/me/export").get_json()
    assert [(m["from"], m["to"]) for m in exported["transitions"]] == moves


def test_the_survey_updates_interests_cap_and_influence(sign_up: SignUp, store: Store) -> None:
    visitor = sign_up(interests=["cooking"])
    before = visitor.get().get_json()["relationship"]["scores"]
    answer = visitor.client.post(
        "/api/me/survey",
        headers=visitor.auth,
        json={
            "found_us": "friend",
            "how_often": "weekly",
            "preferred_channel": "email",
            "interests": ["cycling", "local-events"],
            "recommend": 10,
        },
    )
    assert answer.status_code == 200
    me = answer.get_json()
    assert me["interests"] == ["cycling", "local-events"]
    assert me["settings"]["max_per_week"]["email"] == 1
    assert me["relationship"]["scores"]["influence"] > before["influence"]
    entry = store.ledger(visitor.id)[-1]
    assert entry["action"] == "survey"
    survey = next(c for c in entry["changes"] if c["what"] == "survey")["new"]
    assert survey["recommend"] == 10
    assert survey["found_us"] == "friend"


def test_a_survey_needs_at_least_one_answer_from_the_allowed_ones(sign_up: SignUp) -> None:
    visitor = sign_up()
    empty = visitor.client.post("/api/me/survey", headers=visitor.auth, json={})
    assert empty.status_code == 422
    wrong = visitor.client.post(
        "/api/me/survey",
        headers=visitor.auth,
        json={"found_us": "carrier pigeon", "recommend": 11, "how_often": "weekly"},
    )
    fields = {e["field"] for e in wrong.get_json()["errors"]}
    assert fields == {"found_us", "recommend", "preferred_channel"}


def test_next_steps_reasons_are_said_in_the_pages_language(sign_up: SignUp) -> None:
    visitor = sign_up()
    french = {**visitor.auth, "Accept-Language": "fr"}
    me = visitor.client.get("/api/me", headers=french).get_json()
    steps = {s["play"]: s for s in me["relationship"]["next_steps"]}
    reason = steps["welcome-letter"]["reason"]
    words = translations("fr")
    stage = words.gettext("you are at the “%(stage)s” stage")
    assert stage != "you are at the “%(stage)s” stage"
    assert reason.startswith(stage.split("%(stage)s")[0]), reason
    # French puts a narrow no-break space before the semicolon that joins the reasons.
    assert "\u202f; " in reason and "you said yes" not in reason
