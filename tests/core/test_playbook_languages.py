"""The playbook speaks every language it lists: `[translations.<code>]` gives each text per
language, a missing or misspelt one is named with its full key, and a policy has a version
per language, any current one of which a sign-up may agree to."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from befriend.cli import main
from befriend.core.commands import read_signup
from befriend.core.errors import InvalidInput, PlaybookError
from befriend.core.playbook import Playbook, load_playbook
from tests.playbooks import PACKAGED

TEXT = PACKAGED.read_text(encoding="utf-8")


def changed(old: str, new: str, count: int = 1) -> str:
    assert TEXT.count(old) >= count, old
    return TEXT.replace(old, new, count)


def test_each_listed_language_has_the_same_playbook_in_its_own_words(playbook: Playbook) -> None:
    assert playbook.organisation.site_languages == ("en", "de", "fr", "es")
    assert playbook.language == "en"
    german = playbook.in_language("de")
    assert german.language == "de"
    assert german.purposes["offers"].label == "Angebote"
    assert german.purposes["offers"].description == "Gelegentliche Rabatte und Angebote."
    assert german.channels["sms"].label == "SMS"
    assert german.topics["cycling"] == "Radfahren"
    assert [s.label for s in german.stages] == [
        "Gerade kennengelernt",
        "In Kontakt",
        "Kundschaft",
        "Fan",
    ]
    assert german.circles[-1].says.startswith("Sie gehören zu den Menschen")
    assert (
        german.plays["ask-sms"].says == "Wären Ihnen Angebote per SMS lieber? Nur wenn Sie möchten."
    )
    assert (
        german.survey is not None and german.survey.found_us["search"] == "Über eine Suchmaschine"
    )
    assert "„Partnerangebote“" in german.policy.text
    assert playbook.in_language("fr").purposes["offers"].label == "Offres"
    assert playbook.in_language("es").topics["gardening"] == "Jardinería"
    # Only the words differ: ids, order, rules, numbers and the grid are one.
    assert list(german.channels) == list(playbook.channels)
    assert german.grid() == playbook.grid()
    assert german.plays["ask-sms"].asks == playbook.plays["ask-sms"].asks
    assert german.plays["ask-sms"].when is playbook.plays["ask-sms"].when
    assert german.channels["sms"].quiet_hours == playbook.channels["sms"].quiet_hours
    assert [s.rule for s in german.stages] == [s.rule for s in playbook.stages]
    # What may fall back does: the demo gives no name, address or policy address per language.
    assert german.organisation == playbook.organisation
    assert german.policy.url == playbook.policy.url


def test_any_language_finds_any_other_and_an_unlisted_one_gets_the_default(
    playbook: Playbook,
) -> None:
    german, french = playbook.in_language("de"), playbook.in_language("fr")
    assert playbook.in_language("en") is playbook
    assert german.in_language("fr") is french
    assert german.in_language("en") is playbook
    assert playbook.in_language("de") is german  # made once, when the playbook is read
    assert playbook.in_language("de-AT") is german
    assert playbook.in_language("en-XA") is playbook  # a pseudo-locale has no translation
    assert french.in_language("it") is playbook


def test_each_language_has_its_own_policy_version(playbook: Playbook) -> None:
    versions = {
        "en": "2026-11-01",
        "de": "2026-11-01-de",
        "fr": "2026-11-01-fr",
        "es": "2026-11-01-es",
    }
    assert playbook.policy_versions == versions
    assert playbook.in_language("es").policy_versions == versions
    assert playbook.in_language("fr").policy.version == "2026-11-01-fr"
    assert playbook.policy_language("2026-11-01-de") == "de"
    assert playbook.policy_language("1999-01-01") is None


def english_and_german() -> str:
    """The packaged playbook in English and German only."""
    text = changed('languages = ["en", "de", "fr", "es"]', 'languages = ["en", "de"]')
    return text[: text.index("[translations.fr.policy]")]


def test_a_playbook_in_fewer_languages_keeps_only_their_translations() -> None:
    pb = load_playbook(english_and_german())
    assert pb.policy_versions == {"en": "2026-11-01", "de": "2026-11-01-de"}
    assert pb.in_language("fr") is pb
    with pytest.raises(
        PlaybookError, match=r"^translations\.fr: 'fr' is not in organisation\.languages"
    ):
        load_playbook(changed('languages = ["en", "de", "fr", "es"]', 'languages = ["en", "de"]'))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'description = "Gelegentliche Rabatte und Angebote."\n',
            "",
            "translations.de.purposes.offers.description: missing",
        ),
        (
            'sms.label = "SMS"\nphone.label = "Appel',
            'phone.label = "Appel',
            "translations.fr.channels.sms.label: missing",
        ),
        ('other = "De otra manera"\n', "", "translations.es.survey.found_us.other: missing"),
        (
            'research-interview.says = "Ein Interview',
            'research-interviews.says = "Ein Interview',
            "translations.de.plays.research-interviews: no such entry in plays",
        ),
        (
            "[translations.fr.stages.customer]\nlabel",
            "[translations.fr.stages.customer]\nlable",
            "translations.fr.stages.customer.lable: unknown key",
        ),
        (
            'gardening = "Jardinería"',
            'knitting = "Punto"',
            "translations.es.topics.knitting: no such entry in topics",
        ),
        (
            '[translations.de.circles.core]\nlabel = "Innerer Kreis"',
            '[translations.de.circles.core]\nlabel = ""',
            "translations.de.circles.core.label: must be a non-empty string",
        ),
        (
            'version = "2026-11-01-fr"',
            'version = "2026-11-01-de"',
            "translations.fr.policy.version: '2026-11-01-de' is the version of the 'de' policy;"
            " each language's policy has its own",
        ),
        ('version = "2026-11-01-es"\n', "", "translations.es.policy.version: missing"),
        (
            "[translations.de.policy]",
            "[translations.de.policies]",
            "translations.de.policies: unknown key",
        ),
        (
            "[translations.fr.policy]",
            "[translations.en.policy]",
            "translations.en: the 'en' texts are the ones written above",
        ),
        (
            "[translations.fr.policy]",
            "[translations.it.policy]",
            "translations.it: 'it' is not in organisation.languages",
        ),
    ],
)
def test_a_missing_or_misspelt_translation_is_named_with_its_key(
    old: str, new: str, message: str
) -> None:
    with pytest.raises(PlaybookError) as caught:
        load_playbook(changed(old, new))
    assert str(caught.value).startswith(message)


def test_a_listed_language_without_translations_is_named() -> None:
    text = changed('languages = ["en", "de", "fr", "es"]', 'languages = ["en", "de", "nl"]')
    with pytest.raises(PlaybookError) as caught:
        load_playbook(text[: text.index("[translations.fr.policy]")])
    assert str(caught.value).startswith(
        "translations.nl: missing; organisation.languages lists 'nl'"
    )


def test_what_may_fall_back_does_and_what_is_given_is_used() -> None:
    text = changed('visit.label = "Hat die Website besucht"\n', "")
    text = text.replace(
        "[translations.de.policy]\n",
        '[translations.de.organisation]\nname = "Befriend Demo GmbH"\n\n'
        '[translations.de.policy]\nurl = "https://befriend.example/datenschutz/"\n',
    )
    pb = load_playbook(text)
    german = pb.in_language("de")
    assert german.events["visit"].label == "Visited the site"  # only reports show it
    assert german.events["open"].label == "Hat eine E-Mail geöffnet"
    assert german.organisation.name == "Befriend Demo GmbH"
    assert german.organisation.address == pb.organisation.address
    assert german.policy.url == "https://befriend.example/datenschutz/"
    assert pb.organisation.name == "Befriend Demo Co."


def test_playbook_check_names_a_missing_translation(tmp_path: Path) -> None:
    broken = tmp_path / "playbook.toml"
    broken.write_text(
        changed('description = "Gelegentliche Rabatte und Angebote."\n', ""), encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["playbook", "check", str(broken)])
    assert result.exit_code == 2
    assert result.stderr == "playbook error: translations.de.purposes.offers.description: missing\n"
    good = CliRunner().invoke(main, ["playbook", "check", str(PACKAGED)])
    assert good.exit_code == 0, good.output
    line = "languages     en (policy 2026-11-01), de (policy 2026-11-01-de), fr (policy"
    assert line in good.stdout


def test_a_signup_agrees_to_the_current_policy_of_any_language_and_keeps_which(
    playbook: Playbook,
) -> None:
    for version in playbook.policy_versions.values():
        form = read_signup({"email": "visitor@example.org", "policy_version": version}, playbook)
        assert form.policy_version == version  # the text the person read, not the default's
    for stale in ("2026-10-01", "2026-11-01-it", "2026-11-01-DE", ""):
        with pytest.raises(InvalidInput) as caught:
            read_signup({"email": "visitor@example.org", "policy_version": stale}, playbook)
        message = {e.field: e.message for e in caught.value.errors}["policy_version"]
        assert "'2026-11-01-de' in de" in message


def test_with_one_language_only_its_version_is_named(playbook: Playbook) -> None:
    english = load_playbook(
        changed('languages = ["en", "de", "fr", "es"]\n', "").split("\n# Translations:")[0]
    )
    assert english.policy_versions == {"en": "2026-11-01"}
    with pytest.raises(InvalidInput) as caught:
        read_signup({"email": "visitor@example.org", "policy_version": "2026-11-01-de"}, english)
    assert caught.value.errors[0].message.startswith(
        "must be the current policy version '2026-11-01' ("
    )
