"""The playbook is data; a wrong one is refused with the key that is wrong."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from befriend.core.errors import PlaybookError
from befriend.core.playbook import Playbook, load_playbook

DEFAULT = (Path(__file__).parents[2] / "handlers/befriend/playbook.toml").read_text()


def test_default_playbook_has_what_a_preference_center_needs(playbook: Playbook) -> None:
    assert {"email", "sms", "phone", "postal", "linkedin", "x", "events"} <= set(playbook.channels)
    assert {"newsletter", "product-updates", "offers", "events", "research"} <= set(
        playbook.purposes
    )
    assert playbook.purposes["partner-sharing"].gpc_opt_out
    assert playbook.policy.version and playbook.policy.text and playbook.topics


def test_sms_and_phone_are_quiet_from_nine_at_night_until_eight(playbook: Playbook) -> None:
    for channel in ("sms", "phone"):
        quiet = playbook.channels[channel].quiet_hours
        assert quiet is not None
        assert (quiet.start, quiet.end) == (time(21, 0), time(8, 0))
    assert playbook.channels["email"].quiet_hours is None


def test_grid_only_holds_pairs_a_purpose_offers(playbook: Playbook) -> None:
    grid = playbook.grid()
    assert ("email", "newsletter") in grid
    assert ("sms", "partner-sharing") not in grid
    assert len(grid) == len(set(grid))


def test_public_part_names_no_sender_address(playbook: Playbook) -> None:
    public = playbook.public()
    assert playbook.organisation.sender not in str(public)
    assert public["policy"]["version"] == playbook.policy.version


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('kind = "phone"\nquiet_hours', 'kind = "pager"\nquiet_hours', "channels.sms.kind"),
        (
            'from = "21:00", until = "08:00" }\nmax_per_week = 2',
            'from = "25:00", until = "08:00" }\nmax_per_week = 2',
            "channels.sms.quiet_hours.from",
        ),
        (
            'channels = ["email", "phone"]',
            'channels = ["email", "fax"]',
            "purposes.research.channels",
        ),
        ("gpc_opt_out = true", 'gpc_opt_out = "yes"', "purposes.partner-sharing.gpc_opt_out"),
        ('version = "2026-11-01"', "", "policy.version"),
        ("max_per_week = 21", "max_per_week = 0", "limits.max_per_week"),
        ('gardening = "Gardening"', 'Gardening = "Gardening"', "topics.Gardening"),
        ('label = "Email"', 'label = "Email"\ncolour = "blue"', "channels.email.colour"),
    ],
)
def test_a_wrong_playbook_names_the_key(old: str, new: str, key: str) -> None:
    assert old in DEFAULT
    with pytest.raises(PlaybookError) as caught:
        load_playbook(DEFAULT.replace(old, new, 1))
    assert str(caught.value).startswith(key)


def test_broken_toml_names_the_line() -> None:
    with pytest.raises(PlaybookError, match="line"):
        load_playbook(DEFAULT + "\n[channels.email\n")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            'stages = ["customer", "evangelist"]\nchannel = "sms"',
            'stages = [["customer"]]\nchannel = "sms"',
            "plays.member-offer.stages",
        ),
        (
            'interests = ["local-events"]\nasks',
            "interests = [{ a = 1 }]\nasks",
            "plays.ask-events.interests",
        ),
        (
            'rule = { any = [{ event = "purchase" }',
            "rule = { any = [{ event = [1] }",
            "stages[2].rule.any[0].event",
        ),
        (
            'asks = { channel = "sms", purpose = "offers" }',
            'asks = { channel = ["sms"], purpose = "offers" }',
            "plays.ask-sms.asks",
        ),
        (
            'channel = "sms"\npurpose = "offers"',
            'channel = "sms"\npurpose = ["offers"]',
            "plays.member-offer.purpose",
        ),
    ],
)
def test_odd_values_in_engine_sections_name_the_key(old: str, new: str, key: str) -> None:
    assert old in DEFAULT
    with pytest.raises(PlaybookError) as caught:
        load_playbook(DEFAULT.replace(old, new, 1))
    assert str(caught.value).startswith(key)
