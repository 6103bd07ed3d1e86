"""`befriend import` never grants post nor texts and calls: a file carries no postal
address and no verified number, and such permissions need one. The row is imported with its
other permissions, and the report names it and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from befriend.credentials.pseudonyms import email_key
from befriend.store import Store
from tests.conftest import SECRET, invoke

HEADER = "email,permissions,consent_at,consent_source,consent_policy_version\n"


def test_an_imported_permission_for_post_is_dropped_with_its_reason(
    store: Store, tmp_path: Path
) -> None:
    given = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    file = tmp_path / "people.csv"
    file.write_text(
        HEADER
        + f"post1@example.org,email:newsletter;postal:offers,{given},Shop form,2025-06-01\n"
        + f"post2@example.org,email:newsletter,{given},Shop form,2025-06-01\n"
        # Without evidence nothing is granted anyway: no note.
        + "post3@example.org,postal:offers,,,\n",
        encoding="utf-8",
    )

    result = invoke(store, "import", str(file), "--source", "Shop", BEFRIEND_SECRET=SECRET)

    assert result.exit_code == 0, result.output
    assert "imported without some permissions:" in result.output
    assert "line 2: postal:offers not granted: post needs a postal address" in result.output
    assert "line 3:" not in result.output and "line 4:" not in result.output
    now = datetime.now(UTC)
    pid = store.person_id_for_email(email_key("post1@example.org"), now)
    assert pid is not None
    found = store.person(pid, now)
    assert found is not None
    assert {p: perm.state for p, perm in found.permissions.items()} == {
        ("email", "newsletter"): "granted"
    }
    assert "postal" not in str(store.ledger(pid))


def test_imported_permissions_for_texts_and_calls_are_dropped_with_their_reason(
    store: Store, tmp_path: Path
) -> None:
    given = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    file = tmp_path / "people.csv"
    file.write_text(
        HEADER
        + f"text1@example.org,email:newsletter;sms:events,{given},Shop form,2025-06-01\n"
        + f"text2@example.org,sms:offers;postal:offers,{given},Shop form,2025-06-01\n"
        + "text3@example.org,sms:events,,,\n",
        encoding="utf-8",
    )

    result = invoke(store, "import", str(file), "--source", "Shop", BEFRIEND_SECRET=SECRET)

    assert result.exit_code == 0, result.output
    assert "line 2: sms:events not granted: texts and calls need a verified number" in (
        result.output
    )
    assert "line 3: postal:offers not granted: post needs a postal address" in result.output
    assert "sms:offers not granted: texts and calls need a verified number" in result.output
    assert "line 4:" not in result.output
    now = datetime.now(UTC)
    states = {}
    for email in ("text1@example.org", "text2@example.org"):
        pid = store.person_id_for_email(email_key(email), now)
        assert pid is not None
        found = store.person(pid, now)
        assert found is not None
        states[email] = {p: perm.state for p, perm in found.permissions.items()}
        assert "sms" not in str(store.ledger(pid))
    assert states == {
        "text1@example.org": {("email", "newsletter"): "granted"},
        "text2@example.org": {},
    }
