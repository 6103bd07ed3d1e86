"""The survey through the API: answering again changes what it changes, but a score only
grows from one answer per `survey.score_every_days`."""

from __future__ import annotations

from typing import Any

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.store import Store
from tests.conftest import SignUp, Visitor


def answer(visitor: Visitor, **body: Any) -> dict[str, Any]:
    sent = visitor.client.post("/api/me/survey", headers=visitor.auth, json=body)
    assert sent.status_code == 200, sent.get_data(as_text=True)
    me: dict[str, Any] = sent.get_json()
    return me


def standing(me: dict[str, Any]) -> tuple[dict[str, float], str, str]:
    rel = me["relationship"]
    return rel["scores"], rel["stage"]["id"], rel["circle"]["id"]


def test_sending_the_survey_six_times_counts_once(
    sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    entries = len(store.ledger(visitor.id))
    first = standing(answer(visitor, recommend=10))
    assert first[1:] == ("friend", "loose")
    for _ in range(5):
        clock.advance(minutes=1)  # a new moment each time: not a lost answer decided again
        again = standing(answer(visitor, recommend=10))
        assert again == first
    assert standing(visitor.get().get_json()) == first
    # Every answer is still recorded; only the scores ignore the later ones.
    assert [e["action"] for e in store.ledger(visitor.id)][entries:] == ["survey"] * 6
    person = store.person(visitor.id, clock())
    assert person is not None
    counts = {kind: tally.count for kind, tally in person.relationship.tallies.items()}
    assert (counts["survey"], counts["recommend"]) == (1, 1)


def test_later_answers_still_change_interests_and_the_weekly_cap(
    sign_up: SignUp, clock: SettableClock
) -> None:
    visitor = sign_up(interests=["cooking"])
    first = answer(visitor, recommend=10, how_often="any", preferred_channel="email")
    assert first["settings"]["max_per_week"]["email"] is None
    clock.advance(minutes=1)
    later = answer(
        visitor,
        recommend=10,
        how_often="weekly",
        preferred_channel="email",
        interests=["cycling"],
        found_us="friend",
    )
    assert later["interests"] == ["cycling"]
    assert later["settings"]["max_per_week"]["email"] == 1
    assert standing(later) == standing(first)
    exported = visitor.get("/api/me/export").get_json()
    assert exported["stored"]["relationship"]["survey"]["found_us"] == "friend"


def test_an_answer_after_the_period_counts_again(
    sign_up: SignUp, clock: SettableClock, playbook: Playbook
) -> None:
    assert playbook.survey is not None
    period = playbook.survey.score_every_days
    visitor = sign_up()
    answer(visitor, recommend=10)
    # A manage link lasts 90 days: take a fresh one on the way, as a person would.
    clock.advance(days=period - 1)
    fresh = visitor.client.post("/api/me/sign-out-everywhere", headers=visitor.auth)
    visitor.token = fresh.get_json()["manage_token"]
    before = standing(answer(visitor, recommend=10))[0]  # still within the period
    assert before == standing(visitor.get().get_json())[0]
    clock.advance(days=1)
    waited = standing(visitor.get().get_json())[0]
    after = standing(answer(visitor, recommend=10))[0]
    assert after["engagement"] > waited["engagement"]
    assert after["influence"] > waited["influence"]
