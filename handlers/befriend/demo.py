"""Demo people for `befriend serve`: a few confirmed visitors with some history.

They are labelled as demo visitors, not given invented personal names, and use
example.org addresses that can never receive mail.
"""

from __future__ import annotations

from datetime import timedelta

from befriend.clock import system_clock
from befriend.config import Settings
from befriend.core import changes
from befriend.core.changes import Context
from befriend.core.commands import PermissionChange, Signup
from befriend.core.playbook import Playbook
from befriend.pseudonyms import Pseudonyms, email_key
from befriend.store import Store

DEMO = [
    (
        "demo1@example.org",
        "Demo visitor 1",
        "Europe/Berlin",
        [("email", "newsletter"), ("email", "events")],
        ["gardening", "local-events"],
    ),
    (
        "demo2@example.org",
        "Demo visitor 2",
        "America/New_York",
        [("email", "newsletter"), ("sms", "offers")],
        ["cooking"],
    ),
    (
        "demo3@example.org",
        "Demo visitor 3",
        "Asia/Tokyo",
        [("email", "product-updates"), ("linkedin", "events")],
        ["photography", "cycling"],
    ),
]


def seed(store: Store, playbook: Playbook, settings: Settings) -> list[str]:
    """Sign up, confirm and change a few demo people; returns their ids."""
    evidence = Pseudonyms(settings.secret).evidence("127.0.0.1", "befriend demo seed")
    now = system_clock() - timedelta(days=30)
    ids = []
    for n, (email, name, zone, pairs, topics) in enumerate(DEMO, start=1):
        form = Signup(email, name, tuple(topics), tuple(pairs), zone, playbook.policy.version)
        ctx = Context(now, "form", evidence)
        person = changes.start_signup(f"demo{n:029d}", form, ctx)
        key = email_key(email)
        if not store.create_pending(person, key, now):
            continue
        later = Context(now + timedelta(minutes=10), "confirm", evidence)
        person = store.commit(changes.confirm(person, later, playbook), email_key=key)
        if n == 2:
            step = Context(now + timedelta(days=12), "api", evidence)
            wanted = [PermissionChange(("sms", "offers"), False)]
            person = store.commit(changes.change_permissions(person, wanted, step, playbook))
        ids.append(person.id)
    return ids
