"""The catalogs are made from the sources (`make messages`) and shipped compiled."""

from __future__ import annotations

import gettext
import io

import pytest
from babel.messages.mofile import read_mo

from befriend.build import catalogs
from befriend.i18n.catalogs import DOMAINS, LOCALES, catalog_path, translations
from befriend.i18n.languages import DEFAULT, SHIPPED

LANGUAGES = [code for code in SHIPPED if code != DEFAULT]
STALE = "stale: run `make messages` and commit handlers/befriend/locales/"


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_template_holds_what_the_sources_say(domain: str) -> None:
    fresh = catalogs.po_bytes(catalogs.extracted(domain))
    assert (LOCALES / f"{domain}.pot").read_bytes() == fresh, f"{domain}.pot is {STALE}"


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("code", LANGUAGES)
def test_each_language_has_every_message_and_runs_what_translators_wrote(
    domain: str, code: str
) -> None:
    template = catalogs.extracted(domain)
    merged = catalogs.merged(template, code, domain)
    assert catalog_path(code, domain, ".po").read_bytes() == catalogs.po_bytes(merged), (
        f"{code}/{domain}.po is {STALE}"
    )
    compiled = catalog_path(code, domain).read_bytes()
    assert compiled == catalogs.mo_bytes(merged), f"{code}/{domain}.mo is {STALE}"
    shipped = read_mo(io.BytesIO(compiled))
    plural = gettext.GNUTranslations(io.BytesIO(compiled)).ngettext("x", "y", 2)
    assert plural == "y"  # the header is compiled in: plural forms known
    assert shipped.locale is not None and str(shipped.locale) == code


def test_english_and_unknown_languages_load_no_catalog() -> None:
    assert type(translations("en")) is gettext.NullTranslations
    assert translations("en").gettext("Sign up") == "Sign up"
    assert translations("en-XA").gettext("Sign up").startswith("⟦")
