"""`befriend plays due` lists who befriend would deliver what to, and when, from the due
index; `befriend dispatch` runs the dispatcher once and says what it did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook, load_playbook
from befriend.store import Store
from tests.conftest import SECRET, Mails, SignUp, invoke
from tests.jobs.test_dispatch import befriend_playbook


@pytest.fixture
def playbook() -> Playbook:
    return load_playbook(befriend_playbook())


@pytest.fixture
def playbook_file(tmp_path: Path) -> str:
    path = tmp_path / "playbook.toml"
    path.write_text(befriend_playbook(), encoding="utf-8")
    return str(path)


def test_plays_due_lists_each_person_play_channel_and_moment(
    sign_up: SignUp, store: Store, playbook_file: str, clock: SettableClock
) -> None:
    visitor = sign_up()
    listed = invoke(store, "plays", "due", "--playbook", playbook_file, "--within", "1")
    assert listed.exit_code == 0, listed.output
    [row] = [line.split() for line in listed.stdout.splitlines() if visitor.id in line]
    assert row[:3] == [visitor.id, "welcome-letter", "email"]


def test_dispatch_claims_and_delivers_once_and_says_so(
    sign_up: SignUp, store: Store, playbook_file: str, mails: Mails, ses: Any
) -> None:
    visitor = sign_up()
    env = {"BEFRIEND_SECRET": SECRET, "BEFRIEND_SITE_URL": "https://prefs.example"}

    ran = invoke(store, "dispatch", "--playbook", playbook_file, **env)

    assert ran.exit_code == 0, ran.output
    assert f"claimed welcome-letter for {visitor.id} (mail)" in ran.stdout
    assert f"delivered welcome-letter to {visitor.id} (mail)" in ran.stdout
    assert "claimed 1," in ran.stdout
    assert [m["to"] for m in mails()].count(visitor.email) == 2  # confirmation, letter
    again = invoke(store, "dispatch", "--playbook", playbook_file, **env)
    assert "claimed 0," in again.stdout
    assert [m["to"] for m in mails()].count(visitor.email) == 2


def test_dispatch_without_the_deployments_key_says_what_to_set(
    store: Store, playbook_file: str
) -> None:
    ran = invoke(store, "dispatch", "--playbook", playbook_file, BEFRIEND_SECRET="")
    assert ran.exit_code == 2
    assert "BEFRIEND_SECRET" in ran.output
