"""Who delivers a play: `delivery = "befriend"` is read and checked, only a phone channel
texts, and `befriend playbook check` names an email play befriend delivers without its
templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from befriend.cli import main
from befriend.config import PACKAGE
from befriend.core.dispatch import MAIL, TASK, TEXT, how
from befriend.core.errors import PlaybookError
from befriend.core.playbook import load_playbook
from tests.conftest import TEMPLATES
from tests.playbooks import english_only

PACKAGED = (PACKAGE / "playbook.toml").read_text(encoding="utf-8")


def with_play(extra: str, base: str = PACKAGED) -> str:
    # A new play's `says` would need every language's translation: English alone here.
    return english_only(base) + "\n" + extra


def test_plays_are_delivered_by_the_organisation_unless_the_playbook_says_befriend() -> None:
    pb = load_playbook(PACKAGED)
    assert {p.delivery for p in pb.plays.values()} == {"organisation"}
    text = PACKAGED.replace(
        "[plays.welcome-letter]\n", '[plays.welcome-letter]\ndelivery = "befriend"\n'
    )
    assert load_playbook(text).plays["welcome-letter"].delivery == "befriend"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'delivery = "post-office"',
            "plays.welcome-letter.delivery: must be organisation or befriend",
        ),
        ("delivery = true", "plays.welcome-letter.delivery: must be organisation or befriend"),
    ],
)
def test_a_delivery_that_is_not_known_is_named(line: str, message: str) -> None:
    text = PACKAGED.replace("[plays.welcome-letter]\n", f"[plays.welcome-letter]\n{line}\n")
    with pytest.raises(PlaybookError, match=message):
        load_playbook(text)


def test_a_site_play_is_never_delivered() -> None:
    text = PACKAGED.replace("[plays.share-story]\n", '[plays.share-story]\ndelivery = "befriend"\n')
    with pytest.raises(PlaybookError, match=r"plays\.share-story\.delivery: a site play is shown"):
        load_playbook(text)


def test_only_a_phone_channel_texts_and_how_befriend_delivers_follows_the_channel() -> None:
    bad = PACKAGED.replace('kind = "postal"\n', 'kind = "postal"\ntexts = true\n', 1)
    with pytest.raises(PlaybookError, match=r"channels\.postal\.texts: only a phone channel texts"):
        load_playbook(bad)
    pb = load_playbook(
        with_play(
            """
[plays.call-back]
says = "A call back."
stages = ["friend"]
channel = "phone"
purpose = "research"
delivery = "befriend"
"""
        )
    )
    assert how(pb.plays["welcome-letter"], pb) == MAIL
    assert how(pb.plays["member-offer"], pb) == TEXT  # the sms channel texts
    assert how(pb.plays["call-back"], pb) == TASK  # a call: people make it


def test_check_names_an_email_play_befriend_delivers_without_its_templates(
    tmp_path: Path,
) -> None:
    playbook = tmp_path / "playbook.toml"
    playbook.write_text(
        with_play(
            """
[plays.autumn-letter]
says = "Our autumn letter."
stages = ["friend"]
channel = "email"
purpose = "newsletter"
delivery = "befriend"
"""
        ),
        encoding="utf-8",
    )
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    env = {"BEFRIEND_TEMPLATES": str(templates)}
    result = CliRunner().invoke(main, ["playbook", "check", str(playbook)], env=env)
    assert result.exit_code == 2
    assert (
        "playbook error: plays.autumn-letter.delivery: befriend delivers it by email, but "
        "templates/mail/plays/autumn-letter.txt is missing"
    ) in result.stderr
    (templates / "mail/plays/autumn-letter.txt").write_text("Subject: Autumn\n\nHello\n")
    result = CliRunner().invoke(main, ["playbook", "check", str(playbook)], env=env)
    assert result.exit_code == 2
    assert "templates/mail/plays/autumn-letter.html is missing" in result.stderr
    (templates / "mail/plays/autumn-letter.html").write_text("<p>Hello</p>\n")
    result = CliRunner().invoke(main, ["playbook", "check", str(playbook)], env=env)
    assert result.exit_code == 0, result.output
