"""Choosing a person's language: saved, asked, the browser's, the playbook's default."""

from __future__ import annotations

import pytest

from befriend.i18n.languages import PSEUDO, SHIPPED, accepted, choose, known
from befriend.i18n.pseudo import pseudo


def test_a_saved_choice_comes_before_asking_and_asking_before_the_browser() -> None:
    browser = "fr-CH, fr;q=0.9, en;q=0.8"
    assert choose(saved="de", asked="es", accept_language=browser).code == "de"
    assert choose(asked="es", accept_language=browser).code == "es"
    assert choose(accept_language=browser).code == "fr"
    assert choose().code == "en"
    assert choose(default="de").code == "de"


def test_the_browsers_languages_go_by_their_q_values_and_skip_what_befriend_lacks() -> None:
    assert accepted("da, en-GB;q=0.8, de;q=0.9, *;q=0.1") == ["da", "de", "en-GB"]
    assert choose(accept_language="da, en-GB;q=0.8, de;q=0.9").code == "de"
    assert accepted("de;q=0, fr;q=nope, es") == ["es"]  # q=0 and a broken q: not wanted
    assert choose(accept_language="").code == "en"
    assert choose(accept_language=",,;;q=,").code == "en"


@pytest.mark.parametrize("code", ["de-AT", "DE", "fr-ca", "es-419"])
def test_a_regional_tag_gets_its_language(code: str) -> None:
    found = known(code)
    assert found is not None and found.code == code.split("-")[0].lower()


def test_unknown_and_pseudo_languages_are_never_chosen_for_people() -> None:
    assert choose(saved="xx", asked="en-XA", accept_language="ar-XB").code == "en"
    assert choose(asked="ar-XB", pseudo=True).direction == "rtl"
    assert set(SHIPPED) == {"en", "de", "fr", "es"}
    assert not set(PSEUDO) & set(SHIPPED)


def test_pseudo_text_is_foreign_longer_and_keeps_markup_and_placeholders() -> None:
    source = 'Hello {name}, read <a href="/privacy/">the policy</a> &amp; %(count)s more'
    made = pseudo(source)
    assert made.startswith("⟦") and made.endswith("⟧")
    for kept in ("{name}", '<a href="/privacy/">', "</a>", "&amp;", "%(count)s"):
        assert kept in made
    assert "Hello" not in made and "policy" not in made
    plain = "Save my choices"
    assert len(pseudo(plain)) >= len(plain) * 1.4  # the text shown is 40% longer
    rtl = pseudo("Save", rtl=True)
    assert "\u202e" in rtl and "\u202c" in rtl
    assert pseudo("") == ""
