"""Plays befriend delivers, as the person receives them: each email play of the default
playbook rendered from its own templates for a real person, with the person's own name,
topics and stage words, a footer with the organisation's address, and a one-click
unsubscribe that withdraws only the play's purpose; a text with the opt-out wording."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from befriend.core.playbook import Playbook
from befriend.mailing.plays import PlayComposer, template_of
from befriend.web.services import Services
from tests.conftest import SignUp, Visitor, bearer, invoke
from tests.playbooks import english_only

TEMPLATES = Path(__file__).parents[2] / "templates" / "mail"
EVERY_EMAIL_PURPOSE = (
    ("email", "newsletter"),
    ("email", "product-updates"),
    ("email", "events"),
    ("email", "research"),
)


@pytest.fixture
def services(app: Any) -> Services:
    found: Services = app.extensions["befriend"]
    return found


@pytest.fixture
def composer(services: Services) -> PlayComposer:
    return PlayComposer(services.playbook, services.tokens, services.settings.site_url)


@pytest.fixture
def person(sign_up: SignUp) -> Visitor:
    return sign_up(name="Siobhán O'Neill", permissions=EVERY_EMAIL_PURPOSE)


def email_plays(playbook: Playbook) -> list[str]:
    return sorted(
        p.id
        for p in playbook.plays.values()
        if p.channel in playbook.channels and playbook.channels[p.channel].kind == "email"
    )


def test_every_email_play_of_the_default_playbook_has_its_text_and_html_templates(
    playbook: Playbook,
) -> None:
    for play_id in email_plays(playbook):
        for suffix in (".txt", ".html"):
            name = template_of(playbook.plays[play_id]) + suffix
            assert (TEMPLATES / name).is_file(), f"templates/mail/{name} is missing"


def test_each_email_play_speaks_to_the_person_in_their_own_words(
    services: Services, composer: PlayComposer, person: Visitor, playbook: Playbook
) -> None:
    found = services.store.person(person.id, services.clock())
    assert found is not None
    for play_id in email_plays(playbook):
        play = playbook.plays[play_id]
        mail = composer.mail(found, play)
        msg = services.mailer.render(mail.template, mail.to, mail.values, mail.unsubscribe_url)
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert msg["To"] == person.email and msg["Subject"], play_id
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "Siobhán O'Neill" in text, play_id  # text is text
        assert "Siobhán O&#39;Neill" in html and "O'Neill" not in html, play_id  # escaped
        for part in (text, html):
            assert playbook.organisation.address in part, play_id
            assert mail.unsubscribe_url in part, play_id
        stage = next(s for s in playbook.stages if s.id == found.relationship.stage)
        assert stage.says in text, play_id


URL = re.compile(r"https?://[^\s\"<>]+")


def test_a_play_mails_content_links_go_through_the_redirect_and_the_rest_go_straight(
    client: Any, services: Services, composer: PlayComposer, person: Visitor, playbook: Playbook
) -> None:
    found = services.store.person(person.id, services.clock())
    assert found is not None
    site = services.settings.site_url
    tracked: set[str] = set()
    for play_id in email_plays(playbook):
        mail = composer.mail(found, playbook.plays[play_id], send=f"{person.id}.s1")
        msg = services.mailer.render(mail.template, mail.to, mail.values, mail.unsubscribe_url)
        for kind in ("plain", "html"):
            part = msg.get_body((kind,)).get_content()  # type: ignore[union-attr]
            direct = {mail.unsubscribe_url, mail.values["manage_url"], mail.values["policy_url"]}
            for url in URL.findall(part):
                url = url.replace("&amp;", "&")
                if url in direct or url == mail.values["share_url"]:
                    continue
                assert url.startswith(f"{site}/api/r/"), (play_id, kind, url)
                tracked.add(play_id)
                followed = client.get(url.removeprefix(site))
                assert followed.status_code == 302, (play_id, url)
                assert followed.headers["Location"] == f"{site}/"
        assert "<img" not in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert tracked >= {"welcome-letter", "interest-digest", "product-tips", "event-invite"}
    # The unsubscribe and preferences links open their own pages, not the redirect.
    assert "/api/unsubscribe/" in mail.unsubscribe_url
    assert mail.values["manage_url"].startswith(f"{site}/preferences/#t=")


def test_a_play_mail_unsubscribes_from_its_own_purpose_only(
    client: Any, services: Services, composer: PlayComposer, person: Visitor, playbook: Playbook
) -> None:
    found = services.store.person(person.id, services.clock())
    assert found is not None
    mail = composer.mail(found, playbook.plays["event-invite"])
    path = mail.unsubscribe_url.removeprefix(services.settings.site_url)
    answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    granted = {
        (p["channel"], p["purpose"])
        for p in person.get().get_json()["permissions"]
        if p["state"] == "granted"
    }
    assert granted == set(EVERY_EMAIL_PURPOSE) - {("email", "events")}


def test_a_play_text_says_who_it_is_from_and_how_to_stop(
    services: Services, composer: PlayComposer, person: Visitor, playbook: Playbook
) -> None:
    found = services.store.person(person.id, services.clock())
    assert found is not None
    play = playbook.plays["member-offer"]
    text = composer.text(found, play)
    assert text.startswith(playbook.organisation.name + ": ")
    assert play.says in text and text.endswith("Reply STOP to stop.")


def test_plays_preview_shows_the_mail_with_links_that_open_nothing(
    client: Any, store: Any, person: Visitor, tmp_path: Path
) -> None:
    html = tmp_path / "welcome.html"
    result = invoke(
        store, "plays", "preview", "welcome-letter", "--person", person.id, "--html", str(html)
    )
    assert result.exit_code == 0, result.output
    assert "Subject: Welcome, and three guides to start with" in result.output
    assert "Siobhán O'Neill" in result.output
    assert "O&#39;Neill" in html.read_text(encoding="utf-8")
    # The preview's links are signed with a key of its own: none opens the person's page.
    manage = re.search(r"/preferences/#t=(\S+)", result.output)
    assert manage is not None
    assert client.get("/api/me", headers=bearer(manage.group(1))).status_code == 401
    unsubscribe = re.search(r"List-Unsubscribe: <[^>]*(/api/unsubscribe/[^>]+)>", result.output)
    assert unsubscribe is not None
    answer = client.post(unsubscribe.group(1), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 401
    assert person.get().get_json()["permissions"][0]["state"] == "granted"


def test_plays_preview_of_a_text_and_what_it_refuses(store: Any, person: Visitor) -> None:
    text = invoke(store, "plays", "preview", "member-offer", "--person", person.id)
    assert text.exit_code == 0 and text.output.strip().endswith("Reply STOP to stop.")
    for args, said in [
        (("nope", "--person", person.id), "no play 'nope'"),
        (("share-story", "--person", person.id), "shown on the person's own page"),
        (("welcome-letter", "--person", "nobody"), "no person 'nobody'"),
    ]:
        result = invoke(store, "plays", "preview", *args)
        assert result.exit_code == 2 and said in result.output, result.output


def test_a_call_is_previewed_as_the_task_it_becomes_not_as_a_text(
    store: Any, person: Visitor, tmp_path: Path
) -> None:
    """A phone channel that does not text (a call) is a task for the organisation's people,
    as the dispatcher makes it: there is no text to show."""
    playbook = tmp_path / "playbook.toml"
    default = english_only()  # the play added here is in English alone
    playbook.write_text(
        default
        + """
[plays.research-call]
says = "A call about what we build next."
stages = ["friend"]
channel = "phone"
purpose = "research"
cooldown_days = 30
"""
    )
    args = ("research-call", "--person", person.id, "--playbook", str(playbook))
    result = invoke(store, "plays", "preview", *args)
    assert result.exit_code == 2 and "makes it a task" in result.output, result.output


def test_the_refer_a_friend_mail_carries_the_persons_own_invite_link(
    services: Services, composer: PlayComposer, person: Visitor, playbook: Playbook
) -> None:
    """Passed on, it counts whoever joins through it for the person, and says nothing of
    them (a random code, not the redirect that names them); without a code (turned off),
    the plain sign-up page."""
    from befriend.core.frozen import replace

    found = services.store.person(person.id, services.clock())
    assert found is not None and found.megaphone.invite
    play = playbook.plays["refer-a-friend"]
    for who, link in (
        (found, f"{services.settings.site_url}/?invite={found.megaphone.invite}"),
        (replace(found, megaphone=replace(found.megaphone, invite=None)), None),
    ):
        mail = composer.mail(who, play)
        msg = services.mailer.render(mail.template, mail.to, mail.values, mail.unsubscribe_url)
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        if link is None:
            assert "invite" not in mail.values["share_url"]
            assert "our sign-up page" in text and "Our sign-up page" in html
        else:
            assert link in text and link in html
            assert "your own invite link" in text and "never who they are" in text
        assert person.id not in mail.values["share_url"]
