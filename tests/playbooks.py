"""The packaged playbook's text, for tests that change it."""

from __future__ import annotations

from pathlib import Path

PACKAGED = Path(__file__).resolve().parents[1] / "handlers/befriend/playbook.toml"
_LANGUAGES = 'languages = ["en", "de", "fr", "es"]\n'
_TRANSLATIONS = "\n# Translations:"


def english_only(text: str | None = None) -> str:
    """The packaged playbook (or `text`, a version of it) in its default language alone:
    no other `languages`, no `[translations]`. For a test that adds texts of its own (a
    play, a purpose), which would otherwise need them in every language."""
    text = PACKAGED.read_text(encoding="utf-8") if text is None else text
    assert _LANGUAGES in text and _TRANSLATIONS in text, "the packaged playbook changed shape"
    return text.replace(_LANGUAGES, "", 1).split(_TRANSLATIONS, 1)[0]
