"""[audit] keep_days: how long the audit trail keeps an entry, checked when read."""

from __future__ import annotations

import pytest

from befriend.core.errors import PlaybookError
from befriend.core.playbook_reader import parse_playbook
from tests.playbooks import PACKAGED, english_only


def with_audit(section: str) -> str:
    if not section.startswith("["):  # a bare key belongs before the first table
        return section + "\n" + english_only()
    return english_only() + "\n" + section + "\n"


def test_entries_are_kept_400_days_unless_the_playbook_says_otherwise() -> None:
    assert parse_playbook(PACKAGED.read_text(encoding="utf-8")).audit.keep_days == 400
    assert parse_playbook(with_audit("[audit]\nkeep_days = 730")).audit.keep_days == 730


def test_every_language_keeps_the_same_days() -> None:
    text = PACKAGED.read_text(encoding="utf-8")
    head, tail = text.split("\n# Translations:", 1)
    book = parse_playbook(head + "\n[audit]\nkeep_days = 90\n\n# Translations:" + tail)
    assert {book.in_language(code).audit.keep_days for code in ("en", "de", "fr")} == {90}


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ("[audit]\nkeep_days = 7", "audit.keep_days: must be a whole number of days from 30"),
        ("[audit]\nkeep_days = 4000", "audit.keep_days: must be a whole number of days"),
        ('[audit]\nkeep_days = "400"', "audit.keep_days: must be a whole number of days"),
        ("[audit]\nkeep_days = true", "audit.keep_days: must be a whole number of days"),
        ("[audit]\nkeep = 400", "audit.keep: unknown key"),
        ("audit = 400", "audit: must be a table"),
    ],
)
def test_a_wrong_keeping_is_refused_naming_the_key(section: str, says: str) -> None:
    with pytest.raises(PlaybookError, match=says.replace(".", r"\.")):
        parse_playbook(with_audit(section))
