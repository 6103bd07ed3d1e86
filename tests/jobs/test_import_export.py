"""`befriend import` and `befriend export` against the test table (moto, in process).

Imported contacts keep only the permissions their consent evidence supports, each traceable
in the ledger to the file and the evidence; erased addresses never come back; importing
the same file again changes nothing; and every refused row is named with its reason. The
`store` fixture checks at teardown that the report counters agree with a recount.
"""

from __future__ import annotations

import csv
import io
import json
import stat
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import Result

from befriend.clock import SettableClock
from befriend.core.imports import Rejected, read_row
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.credentials.pseudonyms import Pseudonyms, email_key
from befriend.credentials.tokens import Tokens
from befriend.jobs import people_io
from befriend.reports import recount
from befriend.store import Store, keys
from tests.conftest import REGION, SECRET, SignUp, invoke
from tests.store.test_keys import shape_of

HEADER = (
    "email,name,interests,permissions,consent_at,consent_source,"
    "consent_policy_version,consent_wording\n"
)
WORDING = "Yes, send me the monthly newsletter and event invitations by email."


def consent_day(days_ago: int = 30) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()


def befriend(store: Store, *args: str) -> Result:
    return invoke(store, *args, BEFRIEND_SECRET=SECRET)


def write(tmp_path: Path, text: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def person(store: Store, email: str) -> Person | None:
    now = datetime.now(UTC)
    pid = store.person_id_for_email(email_key(email), now)
    return store.person(pid, now) if pid else None


def table_items(store: Store) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = store.client.scan(TableName=store.table)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def test_a_row_with_consent_evidence_keeps_its_permissions_in_the_ledger(
    store: Store, tmp_path: Path, client: Any, clock: SettableClock
) -> None:
    given = consent_day()
    file = write(
        tmp_path,
        HEADER + f"demo1@example.org,Demo visitor 1,cycling;cooking,email:newsletter;"
        f'email:events,{given},Shop checkout form,2025-06-01,"{WORDING}"\n',
    )

    result = befriend(store, "import", str(file), "--source", "Shop 2025")

    assert result.exit_code == 0, result.output
    assert "1 imported (1 with permissions from consent evidence, 0 without" in result.output
    found = person(store, "demo1@example.org")
    assert found is not None and found.status == "active"
    assert found.name == "Demo visitor 1"
    assert found.interests == {"cycling", "cooking"}
    assert {p: (perm.state, perm.source) for p, perm in found.permissions.items()} == {
        ("email", "newsletter"): ("granted", "import"),
        ("email", "events"): ("granted", "import"),
    }
    assert found.permissions[("email", "newsletter")].since.date().isoformat() == given
    assert found.relationship.stage == "friend"

    (entry,) = store.ledger(found.id)
    assert (entry["action"], entry["source"], entry["policy_version"]) == (
        "import",
        "import",
        "2025-06-01",
    )
    changes = {c["what"]: c["new"] for c in entry["changes"]}
    assert changes["imported_from"] == "Shop 2025"
    # The address in the file is the one the permissions were given for: a keyed hash.
    given_for = changes["contact:email:given-for"]
    assert given_for["key"] == Pseudonyms(SECRET).contact("email", "demo1@example.org")
    assert "demo1@example.org" not in str(given_for)
    assert changes["consent_evidence"] == {
        "at": f"{given}T00:00:00.000000Z",
        "source": "Shop checkout form",
        "policy_version": "2025-06-01",
        "wording": WORDING,
    }
    assert befriend(store, "ledger", "verify").exit_code == 0

    # The person's own receipts say how the permissions came, and under which policy.
    clock.now = datetime.now(UTC)
    token = Tokens(SECRET, clock).issue("manage", found.id, found.token_generation)
    answer = client.get("/api/me/receipts", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    (receipt,) = answer.get_json()["receipts"]
    assert receipt["collectionMethod"] == "import"
    assert receipt["policyVersion"] == "2025-06-01"
    purposes = {p["purposeId"] for s in receipt["services"] for p in s["purposes"]}
    assert purposes == {"newsletter", "events"}
    assert {s["contactPoint"]["key"] for s in receipt["services"]} == {given_for["key"]}


def test_a_row_without_evidence_is_imported_with_no_permission_at_all(
    store: Store, tmp_path: Path
) -> None:
    file = write(
        tmp_path,
        "email,name,permissions\n"
        "demo2@example.org,Demo visitor 2,email:newsletter;sms:offers\n"
        "demo3@example.org,,\n",
    )

    result = befriend(store, "import", str(file), "--source", "Old list")

    assert result.exit_code == 0, result.output
    assert "2 imported (0 with permissions from consent evidence, 2 without" in result.output
    assert "1 row(s) listed permissions without consent evidence" in result.output
    for email in ("demo2@example.org", "demo3@example.org"):
        found = person(store, email)
        assert found is not None and found.status == "active"
        assert found.permissions == {}
        assert found.relationship.stage == "stranger"
        (entry,) = store.ledger(found.id)
        assert entry["source"] == "import"
        assert not any(c["what"].startswith("permission:") for c in entry["changes"])
        assert "consent_evidence" not in {c["what"] for c in entry["changes"]}


def test_an_erased_address_is_never_imported_again(
    store: Store, tmp_path: Path, client: Any, sign_up: SignUp
) -> None:
    visitor = sign_up("demo4@example.org")
    assert client.delete("/api/me", headers=visitor.auth).status_code == 204
    file = write(
        tmp_path,
        HEADER + f"Demo4@Example.org,Demo visitor 4,,email:newsletter,{consent_day()},"
        "Shop checkout form,2025-06-01,\n",
    )

    result = befriend(store, "import", str(file), "--source", "Shop 2025")

    assert result.exit_code == 1
    assert "line 2: suppressed" in result.output
    assert person(store, "demo4@example.org") is None


def test_importing_the_same_file_again_changes_nothing(store: Store, tmp_path: Path) -> None:
    file = write(
        tmp_path,
        HEADER + f"demo5@example.org,Demo visitor 5,,email:newsletter,{consent_day()},Fair,,"
        "Sign me up\n"
        "demo6@example.org,Demo visitor 6,gardening,,,,,\n",
    )
    first = befriend(store, "import", str(file), "--source", "Fair")
    assert first.exit_code == 0, first.output
    before = table_items(store)

    again = befriend(store, "import", str(file), "--source", "Fair")

    assert again.exit_code == 0, again.output
    assert "0 imported" in again.output and "2 already here (skipped)" in again.output
    # Nothing but the audit trail's record that the operator ran it again.
    grown = [i for i in table_items(store) if i not in before]
    assert {i["action"]["S"] for i in grown} == {"people.import"}
    assert [i for i in table_items(store) if i not in grown] == before


def test_rejected_rows_are_listed_with_reasons_and_the_rest_imported(
    store: Store, tmp_path: Path
) -> None:
    day = consent_day()
    rows = [
        "demo7@example.org,Demo visitor 7,,,,,,",  # fine: line 2
        "not-an-address,Demo visitor 8,,,,,,",
        f"demo9@example.org,Demo visitor 9,,pigeon:newsletter,{day},Fair,v1,",
        f"demo10@example.org,Demo visitor 10,,email:gossip,{day},Fair,v1,",
        "DEMO7@example.org,Demo visitor 7 again,,,,,,",
        "demo11@example.org,Demo visitor 11,,email:newsletter,23/11/2025,Fair,v1,",
        "demo12@example.org,Demo visitor 12,,email:newsletter,2999-01-01,Fair,v1,",
        f"demo13@example.org,Demo visitor 13,,email:newsletter,{day},,v1,",
        "demo14@example.org,Demo visitor 14,knitting,,,,,",
        f"demo15@example.org,Demo visitor 15,,sms:research,{day},Fair,v1,",
    ]
    file = write(tmp_path, HEADER + "\n".join(rows) + "\n")

    result = befriend(store, "import", str(file), "--source", "Fair")

    assert result.exit_code == 1
    assert "10 row(s) read: 1 imported" in result.output
    assert "9 rejected" in result.output
    reasons = dict(
        line.strip().split(": ", 1)
        for line in result.output.split("rejected rows:")[1].splitlines()
        if line.strip()
    )
    assert reasons["line 3"].startswith("bad email")
    assert reasons["line 4"].startswith("unknown channel 'pigeon'")
    assert reasons["line 5"].startswith("unknown purpose 'gossip'")
    assert reasons["line 6"] == "duplicate: the same address as line 2"
    assert reasons["line 7"].startswith("bad date")
    assert reasons["line 8"].startswith("bad date") and "future" in reasons["line 8"]
    assert reasons["line 9"].startswith("incomplete consent evidence")
    assert reasons["line 10"].startswith("unknown interest 'knitting'")
    assert reasons["line 11"] == "'research' is not offered by 'sms'; by: email, phone"
    assert person(store, "demo7@example.org") is not None
    for n in range(9, 16):
        assert person(store, f"demo{n}@example.org") is None


def test_a_file_without_an_email_column_is_refused_whole(store: Store, tmp_path: Path) -> None:
    file = write(tmp_path, "name,permissions\nDemo visitor 16,email:newsletter\n")

    result = befriend(store, "import", str(file), "--source", "Fair")

    assert result.exit_code == 2
    assert "no email column" in result.output


def test_the_secret_is_required_to_check_suppressions(store: Store, tmp_path: Path) -> None:
    file = write(tmp_path, "email\ndemo17@example.org\n")

    result = invoke(
        store, "import", str(file), "--source", "Fair", BEFRIEND_SECRET="", BEFRIEND_SECRET_ARN=""
    )

    assert result.exit_code == 2
    assert "BEFRIEND_SECRET" in result.output
    assert person(store, "demo17@example.org") is None


def exported_csv(store: Store, tmp_path: Path) -> list[dict[str, str]]:
    out = tmp_path / "people-export.csv"
    result = befriend(store, "export", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # personal data: the owner's alone
    raw = out.read_bytes()
    assert b"\r\n" in raw and b"\r\r\n" not in raw
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))


def test_export_round_trips_people_permissions_and_interests(
    store: Store, tmp_path: Path, sign_up: SignUp, playbook: Playbook
) -> None:
    day = consent_day(10)
    file = write(
        tmp_path,
        HEADER
        + f'demo18@example.org,"=HYPERLINK(""https://example.org"",""x"")",cycling;gardening,'
        f"email:newsletter;sms:events,{day},Fair,v1,\n"
        "demo19@example.org,-Demo visitor 19,,,,,,\n",
    )
    assert befriend(store, "import", str(file), "--source", "Fair").exit_code == 0
    sign_up("demo20@example.org", permissions=(("email", "offers"),))
    people = {p.email: p for page in store.every_person(datetime.now(UTC)) for p in page}
    assert len(people) == 3

    rows = {row["email"]: row for row in exported_csv(store, tmp_path)}
    lines = befriend(store, "export", "--format", "jsonl").stdout.splitlines()
    records = {r["email"]: r for r in map(json.loads, lines)}

    assert set(rows) == set(records) == set(people)
    # A name that looks like a formula is plain text in the spreadsheet, as it is in JSON.
    assert rows["demo18@example.org"]["name"] == "'" + people["demo18@example.org"].name
    assert records["demo18@example.org"]["name"] == '=HYPERLINK("https://example.org","x")'
    assert rows["demo19@example.org"]["name"] == "'-Demo visitor 19"
    for email, found in people.items():
        row, record = rows[email], records[email]
        assert row["id"] == record["id"] == found.id
        assert row["stage"] == record["stage"] == found.relationship.stage
        assert row["circle"] == record["circle"] == found.relationship.circle
        topics = [t for t in playbook.topics if t in found.interests]
        assert row["interests"] == ";".join(topics) and record["interests"] == topics
        for cell in record["permissions"]:
            pair = (cell["channel"], cell["purpose"])
            name = f"{pair[0]}:{pair[1]}"
            perm = found.permissions.get(pair)
            assert cell["state"] == row[name] == found.state(pair)
            assert cell["source"] == (row[f"{name} source"] or None) == (perm and perm.source)
            assert cell["since"] == (row[f"{name} since"] or None)
        assert len(record["permissions"]) == len(playbook.grid())
    granted = {
        (c["channel"], c["purpose"], c["source"])
        for r in records.values()
        for c in r["permissions"]
        if c["state"] == "granted"
    }
    assert granted == {
        ("email", "newsletter", "import"),  # sms:events needs a verified number: dropped
        ("email", "offers", "confirm"),
    }


def test_an_export_imports_elsewhere_as_contacts_without_permission(
    store: Store, tmp_path: Path, sign_up: SignUp, dynamodb: Any
) -> None:
    sign_up("demo21@example.org", permissions=(("email", "newsletter"),))
    exported = tmp_path / "export.csv"
    assert befriend(store, "export", "--out", str(exported)).exit_code == 0

    result = befriend(store, "import", str(exported), "--source", "Our own export")

    # The address is here already: skipped, and the columns import does not know are named.
    assert result.exit_code == 0, result.output
    assert "ignored columns: id, stage, circle" in result.output
    assert "1 already here (skipped)" in result.output


@pytest.mark.parametrize(
    ("consent_at", "expected"),
    [
        ("2026-01-02", datetime(2026, 1, 2, tzinfo=UTC)),
        ("2026-01-02T10:30:00Z", datetime(2026, 1, 2, 10, 30, tzinfo=UTC)),
        ("2026-01-02T10:30:00+02:00", datetime(2026, 1, 2, 8, 30, tzinfo=UTC)),
        ("2026-01-02 10:30", datetime(2026, 1, 2, 10, 30, tzinfo=UTC)),
    ],
)
def test_consent_dates_are_read_as_iso_8601_in_utc(
    playbook: Playbook, consent_at: str, expected: datetime
) -> None:
    row = {
        "email": "demo22@example.org",
        "permissions": "email:newsletter",
        "consent_at": consent_at,
        "consent_source": "Fair",
        "consent_wording": "Yes please",
    }
    read = read_row(2, row, playbook, datetime(2026, 11, 23, tzinfo=UTC))
    assert read.evidence is not None and read.evidence.at == expected
    assert read.granted == (("email", "newsletter"),)


def test_a_name_with_control_characters_is_rejected(playbook: Playbook) -> None:
    with pytest.raises(Rejected, match="control characters"):
        read_row(
            3, {"email": "demo23@example.org", "name": "Demo\x1b[31m"}, playbook, datetime.now(UTC)
        )


# --- import at scale: pieces, checkpoints, resume ---


class Stop(Exception):
    """A crash in the middle of an import."""


def stop_after(rows: int) -> Callable[[int], None]:
    read = 0

    def progress(n: int) -> None:
        nonlocal read
        read += n
        if read == rows + 1:  # once: pieces running beside the stopped one finish
            raise Stop(f"stopped after {rows} rows")

    return progress


def contacts(tmp_path: Path, count: int, start: int = 100) -> Path:
    day = consent_day()
    rows = [
        f"demo{n}@example.org,Demo visitor {n},cycling,email:newsletter,{day},Fair,v1,"
        if n % 3 == 0
        else f"demo{n}@example.org,Demo visitor {n},,email:newsletter,,,,"
        for n in range(start, start + count)
    ]
    return write(tmp_path, HEADER + "\n".join(rows) + "\n")


def run_import(
    store: Store, playbook: Playbook, file: Path, **options: Any
) -> people_io.ImportReport:
    return people_io.import_people(
        store,
        playbook,
        Pseudonyms(SECRET),
        people_io.check_import_file(file),
        "Fair",
        datetime.now(UTC),
        **options,
    )


@pytest.fixture
def served_store(moto_server: str) -> Store:
    """A table on moto's server, which takes one request at a time as DynamoDB applies each
    atomically: pieces written at once need it (moto in process is not thread safe)."""
    client = boto3.client("dynamodb", endpoint_url=moto_server, region_name=REGION)
    store = Store(f"befriend-{uuid.uuid4().hex[:12]}", client=client)
    store.create_table()
    return store


def imported_people(store: Store) -> list[Person]:
    return [p for page in store.every_person(datetime.now(UTC)) for p in page]


@pytest.mark.parametrize("workers", [1, 3])
def test_an_import_stopped_midway_resumes_and_counts_everyone_once(
    request: pytest.FixtureRequest, tmp_path: Path, playbook: Playbook, workers: int
) -> None:
    store: Store = request.getfixturevalue("store" if workers == 1 else "served_store")
    file = contacts(tmp_path, 60)

    with pytest.raises(Stop):
        run_import(store, playbook, file, progress=stop_after(25), workers=workers, piece_rows=10)
    written = len(imported_people(store))
    assert 0 < written < 60
    # The stop left pieces recorded as done and rows of an unfinished piece written.
    assert any(item["sk"]["S"].startswith("PIECE#") for item in table_items(store))

    report = run_import(store, playbook, file, workers=workers, piece_rows=10)

    assert report.resumed >= 20 and report.resumed % 10 == 0
    assert (report.rows, report.imported, report.exists, report.rejected) == (60, 60, 0, [])
    assert report.with_permissions == 20 and report.dropped == 40
    people = imported_people(store)
    assert sorted(p.email for p in people) == sorted(
        f"demo{n}@example.org" for n in range(100, 160)
    )
    for found in people:
        assert len(store.ledger(found.id)) == 1
    result = recount.check(store, playbook, datetime.now(UTC), lambda _: None)
    assert result.ok, (result.gauges, result.series)
    assert store.gauges()["people"] == 60
    # A finished run forgets its checkpoints: the same file again is a fresh run.
    assert not [i for i in table_items(store) if i["pk"]["S"].startswith("IMPORT#")]
    again = run_import(store, playbook, file, workers=workers, piece_rows=10)
    assert (again.imported, again.exists, again.resumed) == (0, 60, 0)


def test_a_resumed_import_reports_what_the_whole_file_came_to(
    served_store: Store, tmp_path: Path, playbook: Playbook, moto_server: str
) -> None:
    store = served_store
    day = consent_day()
    rows = [f"demo{n}@example.org,,,,,,," for n in range(200, 212)]
    rows[3] = "not-an-address,,,,,,,"  # line 5
    rows[9] = f"demo209@example.org,,,email:gossip,{day},Fair,v1,"
    file = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    with pytest.raises(Stop):
        run_import(store, playbook, file, progress=stop_after(7), piece_rows=4)

    result = befriend(
        store,
        "import",
        str(file),
        "--source",
        "Fair",
        "--workers",
        "2",
        "--endpoint-url",
        moto_server,
    )

    assert result.exit_code == 1, result.output
    # Pieces of four rows: the first was recorded, the second stopped after three rows.
    assert "resumed an unfinished import of this file: 4 row(s)" in result.output
    assert "12 row(s) read: 10 imported" in result.output
    assert "0 already here" in result.output and "2 rejected" in result.output
    assert "line 5: bad email" in result.output
    assert "line 11: unknown purpose 'gossip'" in result.output


def test_a_duplicate_in_another_piece_is_rejected_and_one_row_imported(
    served_store: Store, tmp_path: Path, playbook: Playbook
) -> None:
    store = served_store
    rows = [f"demo{n}@example.org,Demo visitor {n},,,,,," for n in range(300, 306)]
    rows.append("DEMO301@example.org,Demo visitor 301 again,,,,,,")  # line 8
    file = write(tmp_path, HEADER + "\n".join(rows) + "\n")

    report = run_import(store, playbook, file, workers=2, piece_rows=2)

    assert (report.imported, report.exists) == (6, 0)
    (rejected,) = report.rejected
    assert rejected.reason == "duplicate: the same address as another row of this file"
    assert rejected.line in (3, 8)  # pieces run at once: whichever came second
    assert len(imported_people(store)) == 6
    assert recount.check(store, playbook, datetime.now(UTC), lambda _: None).ok


def test_json_lines_import_as_csv_rows_do(store: Store, tmp_path: Path) -> None:
    lines = [
        {
            "email": "demo400@example.org",
            "name": "Demo visitor 400",
            "interests": ["cycling", "gardening"],
            "permissions": ["email:newsletter"],
            "consent_at": consent_day(),
            "consent_source": "Fair",
            "consent_wording": "Yes please",
            "stage": "friend",
        },
        {"email": "demo401@example.org", "name": None},
        ["not", "an", "object"],
        {"email": "demo402@example.org", "name": 7},
    ]
    file = write(tmp_path, "".join(json.dumps(x) + "\n" for x in lines), name="people.jsonl")

    result = befriend(store, "import", str(file), "--source", "Fair")

    assert result.exit_code == 1
    assert "4 row(s) read: 2 imported (1 with permissions" in result.output
    assert "ignored columns: stage" in result.output
    assert "line 4: not a JSON object" in result.output
    assert "line 5: 'name' must be a string (or a list of strings)" in result.output
    found = person(store, "demo400@example.org")
    assert found is not None and found.interests == {"cycling", "gardening"}
    assert set(found.permissions) == {("email", "newsletter")}


def test_a_file_broken_far_down_is_refused_before_anyone_is_written(
    store: Store, tmp_path: Path
) -> None:
    file = tmp_path / "broken.csv"
    body = "".join(f"demo{n}@example.org\n" for n in range(500, 900)).encode()
    file.write_bytes(b"email\n" + body + b"demo\xff@example.org\n")

    result = befriend(store, "import", str(file), "--source", "Fair")

    assert result.exit_code == 2
    assert "cannot read it" in result.output
    assert imported_people(store) == []


def test_checkpoint_keys_have_documented_shapes() -> None:
    assert shape_of(**_pk_sk(keys.import_run("r1"))) == "import run"
    assert shape_of(**_pk_sk(keys.import_piece("r1", "n1", 7))) == "import piece done"
    assert shape_of(**_pk_sk(keys.audience_export("j1"))) == "audience export"


def _pk_sk(key: dict[str, Any]) -> dict[str, str]:
    return {"pk": key["pk"]["S"], "sk": key["sk"]["S"]}
