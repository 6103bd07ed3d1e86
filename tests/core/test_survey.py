"""The survey counts toward the scores at most once per `survey.score_every_days`; every
answer still changes what it changes and is recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from befriend.core.changes import Outcome, settle
from befriend.core.commands import SurveyAnswers
from befriend.core.counts import change_counts
from befriend.core.engagement import answer_survey
from befriend.core.errors import PlaybookError
from befriend.core.person import Person
from befriend.core.playbook import Playbook, load_playbook
from befriend.core.records import person_from_record, person_to_record
from befriend.core.scoring import scores
from tests.conftest import ROOT
from tests.core.conftest import NOW, ctx

DEFAULT = (ROOT / "handlers/befriend/playbook.toml").read_text()
PROMOTER = SurveyAnswers(recommend=10)


def answered(person: Person, answers: SurveyAnswers, playbook: Playbook, at: datetime) -> Outcome:
    """Answer, and bring stage and circle up to date as the app does."""
    return settle(answer_survey(person, answers, ctx(at=at), playbook), playbook, at, "survey")


def period(playbook: Playbook) -> timedelta:
    assert playbook.survey is not None
    return timedelta(days=playbook.survey.score_every_days)


def test_six_answers_within_the_period_score_as_one(confirmed: Person, playbook: Playbook) -> None:
    first = answered(confirmed, PROMOTER, playbook, NOW)
    person = first.person
    for minute in range(1, 6):
        at = NOW + timedelta(minutes=minute)
        again = answered(person, PROMOTER, playbook, at)
        assert len(again.entries) == 1 and again.entries[0].action == "survey"
        assert again.person.relationship.tallies == first.person.relationship.tallies
        # Nothing a report counts from scores moves: not the stage, circle nor quadrant.
        assert change_counts(again, playbook, at).empty
        person = again.person
    rel = person.relationship
    assert (rel.stage, rel.circle) == (first.person.relationship.stage, "loose")
    assert rel.survey_scored == NOW
    assert person.seq == confirmed.seq + 6


def test_the_first_answer_after_the_period_scores_again(
    confirmed: Person, playbook: Playbook
) -> None:
    first = answered(confirmed, PROMOTER, playbook, NOW).person
    late = NOW + period(playbook)
    within = answered(first, PROMOTER, playbook, late - timedelta(seconds=1)).person
    assert within.relationship.tallies == first.relationship.tallies
    after = answered(within, PROMOTER, playbook, late).person
    assert after.relationship.survey_scored == late
    counted = {k: t.count for k, t in after.relationship.tallies.items()}
    assert (counted["survey"], counted["recommend"]) == (2, 2)
    was = scores(within.relationship.tallies, playbook, late)
    now = scores(after.relationship.tallies, playbook, late)
    assert now["engagement"] > was["engagement"] and now["influence"] > was["influence"]


def test_a_later_answer_still_changes_interests_and_the_cap(
    confirmed: Person, playbook: Playbook
) -> None:
    first = answered(confirmed, PROMOTER, playbook, NOW).person
    later = SurveyAnswers(
        found_us="friend",
        how_often="weekly",
        preferred_channel="email",
        interests=("cycling",),
        recommend=10,
    )
    outcome = answered(first, later, playbook, NOW + timedelta(hours=1))
    person = outcome.person
    assert person.interests == {"cycling"}
    assert person.preferences.max_per_week["email"] == 1
    assert person.relationship.survey["found_us"] == "friend"
    assert person.relationship.tallies == first.relationship.tallies
    whats = [c.what for c in outcome.entries[0].changes]
    assert whats == ["interests", "max_per_week:email", "survey"]


def test_the_same_answers_at_the_same_moment_are_a_lost_answer_decided_again(
    confirmed: Person, playbook: Playbook
) -> None:
    first = answered(confirmed, PROMOTER, playbook, NOW).person
    again = answer_survey(first, PROMOTER, ctx(at=NOW), playbook)
    assert again.entries == () and not again.changed


def test_when_the_survey_last_scored_is_stored(confirmed: Person, playbook: Playbook) -> None:
    person = answered(confirmed, PROMOTER, playbook, NOW).person
    assert person_from_record(person_to_record(person)) == person
    never = person_to_record(confirmed)
    assert never["relationship"]["survey_scored"] is None
    assert person_from_record(never).relationship.survey_scored is None


def test_a_record_from_before_falls_back_on_the_kept_answer(
    confirmed: Person, playbook: Playbook
) -> None:
    """Before the moment was kept every answer scored, so the last one kept scored last."""
    record = person_to_record(answered(confirmed, PROMOTER, playbook, NOW).person)
    del record["relationship"]["survey_scored"]
    old = person_from_record(record)
    assert old.relationship.survey_scored == NOW
    soon = answered(old, PROMOTER, playbook, NOW + timedelta(days=1)).person
    assert soon.relationship.tallies == old.relationship.tallies
    del record["relationship"]["survey"]
    assert person_from_record(record).relationship.survey_scored is None


def test_the_period_defaults_to_ninety_days() -> None:
    without = DEFAULT.replace("score_every_days = 90\n", "", 1)
    assert without != DEFAULT
    survey = load_playbook(without).survey
    assert survey is not None and survey.score_every_days == 90


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "true", '"90"', "3651"])
def test_the_playbook_refuses_a_bad_period_naming_the_key(value: str) -> None:
    broken = DEFAULT.replace("score_every_days = 90", f"score_every_days = {value}", 1)
    with pytest.raises(PlaybookError) as caught:
        load_playbook(broken)
    assert str(caught.value).startswith("survey.score_every_days:")
