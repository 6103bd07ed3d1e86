"""`befriend feedback-sources add/list/remove` against the test table (moto, in process)."""

from __future__ import annotations

import re
from typing import Any

from befriend.store import Store
from tests.conftest import invoke


def sources(store: Store, *args: str) -> Any:
    return invoke(store, "feedback-sources", *args)


def test_a_source_is_added_with_its_secret_once_listed_without_it_and_removed(
    store: Store, client: Any
) -> None:
    made = sources(store, "add", "--kind", "mailchimp", "--name", "Newsletter audience")
    assert made.exit_code == 0, made.output
    found = dict(re.findall(r"^(\w+):\s+(\S.*)$", made.stdout, re.MULTILINE))
    assert found["url"].endswith(f"/api/feedback/{found['id']}/{found['secret']}")
    assert "cannot be shown again" in made.stderr
    path = found["url"][found["url"].index("/api/") :]
    assert client.get(path).status_code == 200  # Mailchimp's check of the URL

    listed = sources(store, "list")
    assert found["id"] in listed.output and found["secret"] not in listed.output
    assert sources(store, "remove", found["id"]).exit_code == 0
    assert client.get(path).status_code == 401
    again = sources(store, "remove", found["id"])
    assert again.exit_code == 1 and "no source" in again.stderr


def test_a_generic_source_takes_no_channel_and_an_unknown_kind_is_refused(store: Store) -> None:
    wrong = sources(store, "add", "--kind", "generic", "--name", "CRM", "--channel", "email")
    assert wrong.exit_code == 2 and "Traceback" not in wrong.output
    assert sources(store, "add", "--kind", "fax", "--name", "x").exit_code == 2
    assert "no feedback sources yet" in sources(store, "list").output
