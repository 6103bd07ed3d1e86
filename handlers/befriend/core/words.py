"""The words a text of the core is said in: whatever catalog the caller hands over (the
i18n room's gettext catalogs, in the person's language), English as written when none.

The core reads no catalog itself: it only asks for a message by its English text, which
Babel extracts from the calls to `gettext` and `ngettext` below it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from msgspec import Struct, field


class Words(Protocol):
    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


class _English:
    """The messages as written: the sources are English."""

    def gettext(self, message: str, /) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int, /) -> str:
        return singular if n == 1 else plural


ENGLISH: Words = _English()


def N_(message: str) -> str:
    """Marks `message` for the catalogs where it is written (a constant of the core); it is
    translated where it is shown, by whoever holds the person's catalog."""
    return message


def say(words: Words, template: str, values: Mapping[str, object]) -> str:
    """A message written as a template with named values (`"at most %(n)d characters"`),
    in `words`' language. A translation whose placeholders do not fit its values (a
    translator's slip) gives the English, never an error to the person."""
    text = words.gettext(template)
    if not values:
        return text
    values = {k: v.said(words) if isinstance(v, Phrase | Joined) else v for k, v in values.items()}
    try:
        return text % values
    except (KeyError, ValueError, TypeError):
        return template % values


class Phrase(Struct, frozen=True):
    """A message to be said later, in the language of whoever shows it: a template marked
    `N_` and its values (which may be phrases themselves)."""

    template: str
    values: Mapping[str, object] = field(default_factory=dict)

    def said(self, words: Words) -> str:
        return say(words, self.template, self.values)


class Joined(Struct, frozen=True):
    """Phrases said one after another, with `between` between them ("; ")."""

    parts: tuple[Phrase, ...]
    between: str = "; "

    def said(self, words: Words) -> str:
        return self.between.join(part.said(words) for part in self.parts)
