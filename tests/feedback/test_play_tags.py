"""What came back about a play's mail moves that play's delivery counters: SES carries the
mail's `play` tag in `mail.tags` of each event (AWS's documented records, the tag added as
a sender adds it), and the feedback function counts delivered, bounced and complained by
play, once per notice, whether or not the person is still with us."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core import counter_names as names
from befriend.jobs.feedback import handle
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import SignUp
from tests.feedback.conftest import SES_TOPIC, ses_record
from tests.feedback.conftest import sns_event as sns


def tagged(kind: str, to: str, play: str, **given: Any) -> dict[str, Any]:
    record = ses_record(kind, to, **given)
    record["mail"]["tags"]["play"] = [play]
    record["mail"]["tags"]["send"] = ["p.0123456789abcdef01234567"]
    return record


def delivery(store: Store, clock: SettableClock) -> Counter[str]:
    day = clock().date()
    flows = store.flows(day, day, ["delivery"]).get(day.isoformat(), Counter())
    return Counter({k: v for k, v in flows.items() if v})


@pytest.mark.parametrize(
    ("kind", "given", "outcome"),
    [
        ("delivery", {}, "delivered"),
        ("bounce", {"bounce_type": "Permanent"}, "bounced"),
        ("bounce", {"bounce_type": "Transient"}, "bounced"),
        ("complaint", {}, "complained"),
    ],
)
def test_a_tagged_notice_moves_its_plays_counter_once(
    services: Services,
    store: Store,
    clock: SettableClock,
    sign_up: SignUp,
    kind: str,
    given: dict[str, Any],
    outcome: str,
) -> None:
    visitor = sign_up(permissions=(("email", "newsletter"),))
    event = sns(SES_TOPIC, tagged(kind, visitor.email, "welcome-letter", **given))

    assert handle(services, event) == {"applied": 1}
    assert handle(services, event) == {"duplicate": 1}

    counted = delivery(store, clock)
    assert counted == Counter({names.delivery("welcome-letter", outcome): 1})


def test_a_notice_about_nobody_known_still_counts_for_its_play(
    services: Services, store: Store, clock: SettableClock
) -> None:
    event = sns(SES_TOPIC, tagged("delivery", "gone@example.org", "interest-digest"))

    assert handle(services, event) == {"unknown": 1}

    assert delivery(store, clock) == Counter({names.delivery("interest-digest", "delivered"): 1})


def test_a_tag_naming_no_play_of_the_playbook_moves_no_play_counter(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up(permissions=(("email", "newsletter"),))
    untagged = ses_record("delivery", visitor.email)
    strange = tagged("complaint", visitor.email, "no-such-play")

    handle(services, sns(SES_TOPIC, untagged))
    handle(services, sns(SES_TOPIC, strange))

    assert delivery(store, clock) == Counter()
    day = clock().date()
    flows = store.flows(day, day, ["feedback"])[day.isoformat()]
    assert flows[names.feedback("complaint")] == 1  # what came back is still counted
