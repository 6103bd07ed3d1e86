"""`befriend playbook check` summarises a good playbook and names the key of a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from befriend.cli import main
from befriend.config import PACKAGE
from befriend.core.playbook import load_playbook
from befriend.reports.playbook_summary import summary

PACKAGED = PACKAGE / "playbook.toml"


def check(*args: str) -> Result:
    return CliRunner().invoke(main, ["playbook", "check", *args])


def section(output: str, title: str) -> str:
    """The lines of one summary section, from its title to the next blank line."""
    start = output.index(f"\n{title}") + 1
    end = output.find("\n\n", start + 1)
    return output[start : None if end < 0 else end]


def test_the_packaged_playbook_checks_and_is_summarised() -> None:
    result = check()
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Befriend Demo Co." in out
    assert "2026-11-01" in out
    stages = section(out, "stages")
    assert "each stage also needs the rules of the stages before it" in stages
    order = ["stranger", "friend", "customer", "evangelist"]
    listed = [row.split()[1] for row in stages.splitlines()[1:]]
    assert listed == order
    assert "(has had a purchase or loyalty ≥ 5)" in stages
    assert "quiet 21:00–08:00" in section(out, "channels")
    assert "GPC opt-out" in section(out, "purposes")


def test_plays_are_listed_under_each_of_their_stages_with_what_they_ask() -> None:
    out = check(str(PACKAGED)).stdout
    plays = section(out, "plays")
    customer = plays[plays.index("\n  customer\n") : plays.index("\n  evangelist\n")]
    line = next(row for row in customer.splitlines() if row.split()[:1] == ["ask-sms"])
    assert "asks for sms × offers" in line
    assert "when engagement ≥ 10" in line
    assert "Would text messages about offers suit you better?" in customer
    friend = plays[plays.index("\n  friend\n") : plays.index("\n  customer\n")]
    assert "ask-sms" not in friend
    assert "on the page" in friend  # ask-events is shown on the person's own page


def test_summary_is_a_pure_function_of_the_playbook() -> None:
    playbook = load_playbook(PACKAGED.read_text(encoding="utf-8"))
    text = summary(playbook)
    assert text == check().stdout.split("\n", 2)[2]
    assert all(line == line.rstrip() for line in text.splitlines())


def test_an_unknown_channel_kind_names_its_key(tmp_path: Path) -> None:
    text = PACKAGED.read_text(encoding="utf-8")
    bad = text.replace(
        'label = "Text message"\nkind = "phone"', 'label = "Text message"\nkind = "pager"'
    )
    assert bad != text
    path = tmp_path / "playbook.toml"
    path.write_text(bad, encoding="utf-8")
    result = check(str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("playbook error: channels.sms.kind")


def test_a_toml_syntax_error_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "playbook.toml"
    path.write_text('[organisation\nname = "x"\n', encoding="utf-8")
    result = check(str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("playbook error: the playbook is not valid TOML")


@pytest.mark.parametrize("name", ["nowhere.toml", "."])
def test_a_missing_or_unreadable_file_exits_2(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    result = check(str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("playbook error: ")
    assert str(path) in result.stderr
