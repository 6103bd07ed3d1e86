"""Pseudo-translations for tests: English made visibly foreign and longer, so a string
that escaped translation, or a layout that cannot take longer text or right-to-left
writing, shows on the page. Pure: no I/O.

Markup, entities and placeholders (`<a href="…">`, `&amp;`, `{name}`, `%(name)s`) are kept
as they are, so a pseudo-translated page still works."""

from __future__ import annotations

import re

# Kept whole: tags, entities, `{name}` / `%(name)s` / `%s` placeholders.
_KEEP = re.compile(r"(<[^>]*>|&#?\w+;|\{\w*\}|%\(\w+\)[sd]|%[sd])")
_ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àƀçδèƒĝĥîĵķļɱñôƥǫŕšţûṽŵẋýžÀƁÇĐÈƑĜĤÎĴĶĻṀÑÔƤǪŔŠŢÛṼŴẊÝŽ",
)
# Right-to-left override and pop: English shown the other way, as a right-to-left script
# would run, without a translation.
_RLO, _PDF = "\u202e", "\u202c"
LONGER = 0.4


def pseudo(text: str, *, rtl: bool = False) -> str:
    """`text` accented, marked at both ends and padded to 40% longer (right to left too
    when `rtl`); an empty string stays empty."""
    if not text:
        return text
    parts = _KEEP.split(text)
    letters = 0
    for n in range(0, len(parts), 2):  # even parts are text, odd ones are kept whole
        letters += len(parts[n])
        parts[n] = parts[n].translate(_ACCENTED)
        if rtl and parts[n].strip():
            parts[n] = _RLO + parts[n] + _PDF
    padding = "·" * max(1, round(letters * LONGER))
    return "⟦" + "".join(parts) + padding + "⟧"
