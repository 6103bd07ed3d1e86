"""Problem documents in the request's language: the title, the detail and each field's
message are said through the catalog of the page the request came from (or of the
client's Accept-Language); the type and the field names stay as they are."""

from __future__ import annotations

import re
from typing import Any

import pytest
from babel.messages.pofile import read_po

from befriend.core.contract import reading
from befriend.core.errors import (
    ConcurrentChange,
    FieldError,
    IdempotencyMismatch,
    InvalidInput,
    InvalidToken,
    NotFound,
    WrongScope,
)
from befriend.core.words import ENGLISH
from befriend.i18n.catalogs import LOCALES, translations
from befriend.web import problems
from tests.conftest import signup_body

SITE = "https://prefs.example"
LANGUAGES = ("de", "fr", "es")


def refused(client: Any, playbook: Any, **headers: str) -> dict[str, Any]:
    body = signup_body("not-an-address", playbook)
    answer = client.post("/api/signup", json=body, headers=headers)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    return dict(answer.get_json())


def test_a_bad_email_from_the_german_page_is_refused_in_german(client: Any, playbook: Any) -> None:
    german = refused(client, playbook, Referer=f"{SITE}/de/")
    assert german["type"] == "https://befriend.dev/problems/invalid-input"
    assert german["title"] == "Die Anfrage enthält ungültige Felder"
    assert german["detail"].startswith("Korrigieren Sie die unter `errors` genannten Felder")
    assert german["errors"] == [
        {"field": "email", "message": "Eine E-Mail-Adresse muss ein @-Zeichen enthalten."}
    ]


def test_a_french_client_is_refused_in_french_and_others_in_english(
    client: Any, playbook: Any
) -> None:
    french = refused(client, playbook, **{"Accept-Language": "fr-CH, en;q=0.5"})
    assert french["title"] == "La requête contient des champs non valides"
    assert french["errors"][0] == {
        "field": "email",
        "message": "Une adresse e-mail doit contenir un @.",
    }
    english = refused(client, playbook, **{"Accept-Language": "it"})
    assert english["title"] == "The request has invalid fields"
    assert english["errors"][0]["message"] == "An email address must have an @-sign."


def test_a_message_with_values_keeps_them_in_the_translation(client: Any, playbook: Any) -> None:
    body = signup_body("zone@example.org", playbook) | {"time_zone": "Mars/Olympus"}
    answer = client.post("/api/signup", json=body, headers={"Referer": f"{SITE}/es/"})
    assert answer.status_code == 422
    assert answer.get_json()["errors"] == [
        {
            "field": "time_zone",
            "message": "zona horaria desconocida 'Mars/Olympus'; usa un nombre como Europe/Madrid",
        }
    ]


def test_the_form_without_javascript_lists_its_fields_in_its_language(client: Any) -> None:
    answer = client.post(
        "/api/signup", data={"email": "not an address"}, headers={"Referer": f"{SITE}/de/"}
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Eine E-Mail-Adresse muss ein @-Zeichen enthalten." in page
    assert "An email address" not in page


def test_a_link_problem_says_its_reason_in_the_language_too(client: Any) -> None:
    answer = client.post(
        "/api/confirm", json={"token": "forged"}, headers={"Accept-Language": "de"}
    )
    assert answer.status_code == 401
    assert answer.get_json()["title"] == "Dieser Link oder dieses Token funktioniert nicht"
    assert answer.get_json()["detail"] == (
        "dieser Link ist ungültig Fordern Sie per E-Mail einen neuen Link an."
    )


def test_a_translation_whose_placeholders_do_not_fit_says_the_english() -> None:
    class Slipped:
        def gettext(self, message: str, /) -> str:
            return "höchstens %(m)d Zeichen"

        def ngettext(self, singular: str, plural: str, n: int, /) -> str:
            return singular

    error = FieldError("name", "at most %(n)d characters", {"n": 200})
    assert error.said(Slipped()) == "at most 200 characters"
    assert error.said(ENGLISH) == error.message == "at most 200 characters"


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)[a-z]", text))


# The titles and details of the problems the domain's errors become, and the field
# messages the reading writes for a value of the wrong type.
_ERRORS = [InvalidInput([]), InvalidToken("x"), NotFound(), WrongScope("x"), ConcurrentChange()]
SAID = [
    *(
        text
        for exc in [*_ERRORS, IdempotencyMismatch("x")]
        for found in [problems.DOMAIN[type(exc)](exc)]
        for text in (found.title, found.detail)
        if text != "x"
    ),
    *(text for p in (problems.INTERNAL, problems.BUSY) for text in (p.title, p.detail)),
    *reading._MUST_BE.values(),
]


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_problem_and_field_message_has_a_translation(code: str) -> None:
    words = translations(code)
    for text in SAID:
        assert words.gettext(text) != text, f"{code}: {text!r}"
    # Every message of the catalog (the API's problems and field messages among them):
    # translated, with exactly its placeholders.
    with (LOCALES / "messages.pot").open("rb") as pot:
        template = read_po(pot)
    with (LOCALES / code / "LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po, locale=code)
    for message in template:
        if not message.id or not isinstance(message.id, str):
            continue  # the header, and plural forms (the build's own checks cover them)
        found = catalog.get(message.id, context=message.context)
        assert found is not None and found.string, f"{code}: {message.id!r}"
        assert not found.fuzzy, f"{code}: {message.id!r}"
        said = found.string if isinstance(found.string, str) else found.string[0]
        assert _placeholders(said) == _placeholders(message.id), f"{code}: {message.id!r}"
