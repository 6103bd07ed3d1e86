"""The translation catalogs, loaded when first asked for and kept for the container's life.

Each shipped language has two gettext domains under `befriend/locales/<code>/LC_MESSAGES/`:
`messages` (templates, mails and the API's own words) and `scripts` (the site's JavaScript,
which reads its translations from the page). They are made with Babel from the sources
(`make messages`) and compiled to `.mo`, which the standard library reads: no Babel import
at run time, so a Lambda that speaks English loads no catalog at all."""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

from befriend.i18n.languages import DEFAULT, PSEUDO, SHIPPED
from befriend.i18n.pseudo import pseudo

LOCALES = Path(__file__).resolve().parent.parent / "locales"
DOMAINS = ("messages", "scripts")


class PseudoTranslations(gettext.NullTranslations):
    """Every message pseudo-translated (`i18n/pseudo.py`), for tests."""

    def __init__(self, rtl: bool) -> None:
        super().__init__()
        self.rtl = rtl

    def gettext(self, message: str) -> str:
        return pseudo(message, rtl=self.rtl)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return pseudo(msgid1 if n == 1 else msgid2, rtl=self.rtl)

    def pgettext(self, context: str, message: str) -> str:
        return self.gettext(message)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        return self.ngettext(msgid1, msgid2, n)


def catalog_path(code: str, domain: str, suffix: str = ".mo") -> Path:
    return LOCALES / code / "LC_MESSAGES" / f"{domain}{suffix}"


@functools.cache
def translations(code: str, domain: str = "messages") -> gettext.NullTranslations:
    """The catalog of `domain` in the language `code`: English and unknown codes translate
    nothing (the sources are English); a shipped language without its compiled catalog
    is a packaging fault and raises."""
    if code in PSEUDO:
        return PseudoTranslations(PSEUDO[code].direction == "rtl")
    if code == DEFAULT or code not in SHIPPED:
        return gettext.NullTranslations()
    with catalog_path(code, domain).open("rb") as compiled:
        return gettext.GNUTranslations(compiled)
