"""The megaphone's pure decisions: what of an address is kept, what a counter may be
named, the playbook's [megaphone], and a person's reach in words."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from befriend.core.errors import PlaybookError
from befriend.core.frozen import replace
from befriend.core.megaphone import explain, invite_code, label, origin, sanitise
from befriend.core.person import Megaphone, Person
from befriend.core.playbook import load_playbook

DEFAULT = (Path(__file__).parents[2] / "handlers/befriend/playbook.toml").read_text()


def test_only_known_text_parameters_are_kept_cut_short() -> None:
    raw = {"ref": " a\tb\x07 ", "utm_source": "x" * 300, "gclid": "y", "utm_medium": 3}
    assert sanitise(raw) == (("utm_source", "x" * 100), ("ref", "ab"))
    assert sanitise({}) == ()


def test_counter_names_hold_no_separator_and_no_upper_case() -> None:
    assert label("Spring Talk | 2026") == "spring-talk-2026"
    assert label("|||") == ""
    assert len(label("a" * 99)) == 40


def test_an_invite_code_must_look_like_one_and_is_not_kept_in_the_origin() -> None:
    params = (("utm_source", "mail"), ("invite", "ABCDEF2345"))
    assert invite_code(params) == "abcdef2345"
    assert invite_code((("invite", "no/such code"),)) is None
    made = origin(params, None, "inviter-id")
    assert (made.params, made.source, made.invited_by) == (
        (("utm_source", "mail"),),
        "invite",
        "inviter-id",
    )
    assert origin((), ("qr", "talk"), None).source == "qr"
    assert origin(params[:1], None, None).source == "untracked"
    assert origin((), None, None).source == "direct"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('event = "nope"', "megaphone.event"),
        ("daily_limit = 0", "megaphone.daily_limit"),
        ("second_degree = 2", "megaphone.second_degree"),
        ("colour = 1", "megaphone"),
    ],
)
def test_odd_megaphone_values_name_the_key(table: str, key: str) -> None:
    without = re.sub(r"\[megaphone\]\n(?:[a-z_]+ = .*\n)+", "", DEFAULT)
    text = f"{without}\n[megaphone]\n{table}\n"
    with pytest.raises(PlaybookError, match=key):
        load_playbook(text)


def test_reach_in_plain_words() -> None:
    person = Person("p", "a@example.org", "", "active", datetime(2026, 11, 23, tzinfo=UTC))

    def said(joined: int, second: int) -> str:
        return explain(replace(person, megaphone=Megaphone(joined=joined, joined_second=second)))

    assert said(0, 0) == "Nobody has joined through your invite link yet."
    assert said(1, 0) == "1 person joined through you."
    assert said(3, 2) == "3 people joined through you, and 2 through them."
