"""Which languages befriend speaks and how one is chosen for a person. Pure: no I/O.

A person's language is, in order: the one they saved, the one they asked for (`?lang=` or
the site's language path), the first their browser accepts (`Accept-Language`, by its
q-values), then the playbook's default. Only shipped languages are ever chosen; a regional
tag (`de-AT`) gets its language (`de`)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT = "en"


# A dataclass, not a msgspec Struct as most records are (docs/design.md, Cold start): the
# package's tests write dates with i18n/formats.py from the unpacked Lambda zip alone, on
# the machine that built it, where the zip's msgspec (compiled for Lambda) does not load.
@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in the language itself, as a language switch shows it
    direction: str = "ltr"


SHIPPED: dict[str, Language] = {
    "en": Language("en", "English"),
    "de": Language("de", "Deutsch"),
    "fr": Language("fr", "Français"),
    "es": Language("es", "Español"),
}
# Pseudo-locales for tests only, never offered to people: `en-XA` is every English string
# accented and 40% longer (a string left untranslated, or a layout that breaks with longer
# text, shows), `ar-XB` the same right to left (a layout that breaks right to left shows).
PSEUDO: dict[str, Language] = {
    "en-XA": Language("en-XA", "Ƥşèüδô"),
    "ar-XB": Language("ar-XB", "Ƥşèüδô ŔŢĻ", "rtl"),
}


def known(code: str, *, pseudo: bool = False) -> Language | None:
    """The language `code` names, if befriend speaks it: exact, else by its primary tag."""
    offered = {**SHIPPED, **PSEUDO} if pseudo else SHIPPED
    if code in offered:
        return offered[code]
    return SHIPPED.get(code.split("-")[0].strip().lower())


def accepted(header: str) -> list[str]:
    """The language tags of an `Accept-Language` header, most wanted first; `*` and tags
    with q=0 left out, and a malformed q-value read as 0 (not wanted)."""
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate(header.split(",")[:32]):
        tag, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and tag != "*" and 0 < q <= 1:
            ranked.append((-q, n, tag))
    return [tag for _, _, tag in sorted(ranked)]


def choose(
    *,
    saved: str | None = None,
    asked: str | None = None,
    accept_language: str = "",
    default: str = DEFAULT,
    pseudo: bool = False,
) -> Language:
    """The language to speak to someone, by the order in this module's docstring."""
    for candidate in (saved, asked, *accepted(accept_language)):
        found = known(candidate, pseudo=pseudo) if candidate else None
        if found is not None:
            return found
    return known(default) or SHIPPED[DEFAULT]
