"""The API's own pages (one-click unsubscribe, the form without JavaScript's refusals) speak
the request's language: the one a mail's link asks for (`?lang=`), or the language path of
the site's page a form came from, else the browser's `Accept-Language`, else the
playbook's default; never a language the playbook does not list."""

from __future__ import annotations

from typing import Any

from tests.conftest import Mails, SignUp, unsubscribe_path

SITE = "https://prefs.example"


def page(answer: Any) -> str:
    assert answer.mimetype == "text/html", answer.get_data(as_text=True)
    text: str = answer.get_data(as_text=True)
    return text


def test_the_unsubscribe_page_answers_in_the_browsers_language(
    sign_up: SignUp, client: Any, mails: Mails
) -> None:
    sign_up()
    path = unsubscribe_path(mails()[-1])
    german = page(client.get(path, headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"}))
    assert '<html lang="de">' in german
    assert "<h1>Abmelden</h1>" in german and "Möchten Sie alles per E-Mail von" in german
    # Italian is not the playbook's: the next language the browser accepts, else the default.
    assert '<html lang="fr">' in page(client.get(path, headers={"Accept-Language": "it, fr;q=0.5"}))
    english = page(client.get(path, headers={"Accept-Language": "it"}))
    assert '<html lang="en">' in english and "Stop receiving everything by email" in english


def test_a_mails_unsubscribe_link_keeps_its_language_through_the_button(
    sign_up: SignUp, client: Any, mails: Mails
) -> None:
    sign_up()
    path = unsubscribe_path(mails()[-1]) + "?lang=es"
    asked = page(client.get(path, headers={"Accept-Language": "de"}))
    assert '<html lang="es">' in asked and "¿Quieres dejar de recibir" in asked
    done = client.post(
        path,
        data={"List-Unsubscribe": "One-Click", "via": "page"},
        headers={"Accept": "text/html"},
    )
    answer = page(done)
    assert "<h1>Te has dado de baja</h1>" in answer
    assert 'href="/es/link/"' in answer  # the site's page in the same language


def test_a_refused_form_is_answered_in_its_pages_language(client: Any) -> None:
    answer = client.post(
        "/api/signup", data={"email": "not an address"}, headers={"Referer": f"{SITE}/fr/"}
    )
    assert answer.status_code == 422
    text = page(answer)
    assert '<html lang="fr">' in text and "Veuillez vérifier le formulaire" in text
    assert '<a href="/fr/">Retour au formulaire</a>' in text
    english = page(client.post("/api/signup", data={"email": "not an address"}))
    assert "<h1>Please check the form</h1>" in english and '<a href="/">' in english
