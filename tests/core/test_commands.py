"""Requests are read into commands; every wrong field is named, with the allowed values."""

from __future__ import annotations

from typing import Any

import pytest

from befriend.core.commands import (
    normalise_email,
    read_permission_changes,
    read_settings,
    read_signup,
)
from befriend.core.errors import InvalidInput
from befriend.core.playbook import Playbook
from tests.core.conftest import NOW


def fields(call: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        call()
    return {e.field: e.message for e in caught.value.errors}


def signup(playbook: Playbook, **body: Any) -> dict[str, Any]:
    return {"email": "visitor@example.org", "policy_version": playbook.policy.version, **body}


def test_a_good_signup_is_read_in_playbook_order(playbook: Playbook) -> None:
    form = read_signup(
        signup(
            playbook,
            name="  Visitor   One ",
            interests=["cycling", "cooking"],
            permissions=[
                {"channel": "sms", "purpose": "offers"},
                {"channel": "email", "purpose": "newsletter"},
            ],
            time_zone="Europe/Berlin",
            phone="+44 7400 123456",  # a text message needs a number
        ),
        playbook,
    )
    assert form.name == "Visitor One"
    assert form.interests == ("cooking", "cycling")
    assert form.permissions == (("email", "newsletter"), ("sms", "offers"))
    assert form.phone == "+447400123456"


def test_every_bad_field_is_reported_at_once(playbook: Playbook) -> None:
    errors = fields(
        lambda: read_signup(
            {
                "email": "not-an-address",
                "policy_version": "1999",
                "time_zone": "Mars/Olympus",
                "interests": ["knitting"],
                "permissions": [{"channel": "pigeon", "purpose": "offers"}],
                "extra": 1,
            },
            playbook,
        )
    )
    assert set(errors) == {
        "email",
        "policy_version",
        "time_zone",
        "interests",
        "permissions/0/channel",
        "extra",
    }
    assert "gardening" in errors["interests"]  # the allowed values are named
    assert "email" in errors["permissions/0/channel"]


def test_a_pair_the_playbook_does_not_offer_is_refused(playbook: Playbook) -> None:
    errors = fields(
        lambda: read_signup(
            signup(playbook, permissions=[{"channel": "sms", "purpose": "partner-sharing"}]),
            playbook,
        )
    )
    assert "not offered" in errors["permissions/0"]


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "x",
        {"changes": []},
        {"changes": [{}]},
        {"changes": [{"channel": "email", "purpose": "offers", "granted": "yes"}]},
    ],
)
def test_malformed_permission_changes_are_refused(playbook: Playbook, body: Any) -> None:
    with pytest.raises(InvalidInput):
        read_permission_changes(body, playbook)


def test_addresses_are_normalised_but_keep_their_local_part() -> None:
    assert normalise_email("  Visitor.One@EXAMPLE.org ") == "Visitor.One@example.org"


@pytest.mark.parametrize("value", ["", "a@", "@b.org", "a b@example.org", "x" * 300, 42])
def test_invalid_addresses_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInput):
        normalise_email(value)


def test_settings_accept_nulls_as_back_to_default(playbook: Playbook) -> None:
    patch = read_settings(
        {
            "quiet_hours": {"sms": None, "email": {"from": "22:00", "until": "07:00"}},
            "max_per_week": {"email": 3},
            "paused_until": None,
        },
        playbook,
        NOW,
    )
    assert patch.quiet_hours is not None and patch.quiet_hours["sms"] is None
    assert patch.clear_pause


def test_bad_settings_name_their_field(playbook: Playbook) -> None:
    errors = fields(
        lambda: read_settings(
            {
                "max_per_week": {"email": 999},
                "paused_until": "2020-01-01",
                "handles": {"x": "not a handle!"},
                "quiet_hours": {"sms": {"from": "9pm"}},
            },
            playbook,
            NOW,
        )
    )
    assert set(errors) == {"max_per_week/email", "paused_until", "handles/x", "quiet_hours/sms"}


def test_an_empty_settings_patch_says_what_can_be_sent(playbook: Playbook) -> None:
    assert "time_zone" in fields(lambda: read_settings({}, playbook, NOW))[""]
