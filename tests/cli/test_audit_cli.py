"""`befriend audit list`, and the operator's own commands in the same trail."""

from __future__ import annotations

from typing import Any

from befriend.clock import SettableClock
from befriend.credentials.keys import Keys
from befriend.store import Store
from tests.conftest import SignUp, bearer, invoke


def entries(store: Store, *args: str) -> list[list[str]]:
    done = invoke(store, "audit", "list", *args)
    assert done.exit_code == 0, done.output
    return [line.split("  ") for line in done.stdout.splitlines()]


def test_an_operators_key_changes_are_in_the_trail_under_their_aws_identity(
    store: Store,
) -> None:
    made = invoke(store, "keys", "create", "--role", "reader", "--name", "Weekly report")
    assert made.exit_code == 0, made.output
    key_id = next(line.split()[-1] for line in made.stdout.splitlines() if line.startswith("id:"))
    assert invoke(store, "keys", "revoke", key_id).exit_code == 0
    listed = entries(store)
    assert [line[2] for line in listed] == ["key.revoke", "key.create"]
    who = listed[0][1]
    assert who.startswith("operator:arn:aws:") and who.endswith("(admin)")
    assert listed[0][3] == key_id and listed[1][3] == "Weekly report (reader)"
    assert listed[0][-1] == "-"  # no request, so no source
    plain = made.stdout.split("key:")[-1].split()[0]
    assert plain not in str(store.client.scan(TableName=store.table)["Items"])


def test_reads_through_the_api_are_listed_by_person_and_by_who(
    store: Store, client: Any, sign_up: SignUp, clock: SettableClock
) -> None:
    visitor, other = sign_up(), sign_up()
    reader = Keys(store).create("dashboard", "reader", clock())[0]
    admin = Keys(store).create("ops", "admin", clock())[0]
    client.get(f"/api/people/{visitor.id}", headers=bearer(reader))
    client.get(f"/api/people/{other.id}/next-steps", headers=bearer(admin))
    # The API's clock is the test's; the command's is the machine's.
    since = clock().strftime("%Y-%m-%d")
    mine = entries(store, "--person", visitor.id, "--since", since)
    assert [(line[1], line[2], line[4]) for line in mine] == [
        ("key:dashboard (reader)", "person.read", f"people={visitor.id}")
    ]
    assert [line[2] for line in entries(store, "--who", "ops", "--since", since)] == [
        "person.next_steps"
    ]
    assert len(entries(store, "--since", since, "--limit", "1")) == 1


def test_a_since_that_does_not_fit_is_refused_plainly(store: Store) -> None:
    done = invoke(store, "audit", "list", "--since", "last tuesday")
    assert done.exit_code == 2
    assert "--since" in done.output and "must be a day" in done.output
    assert "Traceback" not in done.output
    assert "no entries since" in invoke(store, "audit", "list").stderr


def test_an_operators_webhook_and_feedback_source_changes_are_in_the_trail(
    store: Store,
) -> None:
    added = invoke(
        store, "webhooks", "add", "https://hooks.example/in", "--events", "permission.changed"
    )
    assert added.exit_code == 0, added.output
    hook = next(w for w in added.stdout.split() if w.startswith("whk_"))
    assert invoke(store, "webhooks", "remove", hook).exit_code == 0
    assert invoke(store, "webhooks", "remove", hook).exit_code != 0  # gone: nothing recorded
    made = invoke(store, "feedback-sources", "add", "--kind", "generic", "--name", "CRM")
    assert made.exit_code == 0, made.output
    source = next(w for w in made.stdout.split() if w.startswith("fs_"))
    assert invoke(store, "feedback-sources", "remove", source).exit_code == 0
    listed = entries(store)
    assert sorted((line[2], line[3]) for line in listed) == sorted(
        [
            ("webhook.add", hook),
            ("webhook.remove", hook),
            ("feedback_source.add", "CRM"),
            ("feedback_source.remove", source),
        ]
    )
    assert all("whsec_" not in " ".join(line) for line in listed)
