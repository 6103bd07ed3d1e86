"""`befriend serve` (what `make run` starts) serves the API against moto's server."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Serve, cli_env, run_befriend, start_serve


def call(
    url: str, body: bytes | None = None, content_type: str = "application/json", key: str = ""
) -> Any:
    headers = {"Content-Type": content_type}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, answer.read()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Serve]:
    running = start_serve(tmp_path / "serve.log")
    yield running
    running.stop()


def test_serve_runs_the_whole_flow_and_logs_no_token(served: Serve) -> None:
    base = served.base
    # The site, built at start from the same playbook, on the same origin as the API.
    status, page = call(f"{base}/")
    assert status == 200
    assert b'action="/api/signup"' in page
    assert b'name="policy_version" value="2026-11-01"' in page
    with pytest.raises(urllib.error.HTTPError) as missing:
        call(f"{base}/no/such/page/")
    assert missing.value.code == 404
    assert missing.value.headers["Content-Security-Policy"].startswith("default-src 'none'")

    status, _ = call(
        f"{base}/api/signup",
        json.dumps(
            {
                "email": "served@example.org",
                "policy_version": "2026-11-01",
                "permissions": [{"channel": "email", "purpose": "newsletter"}],
            }
        ).encode(),
    )
    assert status == 202
    _, raw = call(f"{base}/dev/outbox.json")
    mail = json.loads(raw)["mails"][0]
    confirm = next(link for link in mail["links"] if "/confirm/#t=" in link).split("#t=")[1]
    status, raw = call(f"{base}/api/confirm", json.dumps({"token": confirm}).encode())
    assert status == 200
    assert json.loads(raw)["person"]["email"] == "served@example.org"
    unsubscribe = mail["headers"]["List-Unsubscribe"].strip("<>")
    status, _ = call(
        unsubscribe, b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded"
    )
    assert status == 200

    # Another command reaches the same data through the moto endpoint serve printed,
    # every chain intact.
    verify = run_befriend("ledger", "verify", "--endpoint-url", served.endpoint)
    assert verify.returncode == 0, verify.stderr
    # forty demo people, five demo sign-ups never confirmed, thirteen who came through
    # one another's invite links, and this one
    assert "ok: 59 people" in verify.stdout

    log = served.stop()
    token = unsubscribe.rsplit("/", 1)[-1]
    assert "POST /api/unsubscribe/" in log  # the request is logged ...
    assert token not in log
    assert confirm not in log  # ... but never a token


def test_a_marketer_watches_a_demo_person_move_through_the_stages(served: Serve) -> None:
    base, admin = served.base, served.admin
    person = "demo" + "2".zfill(28)  # the second demo person is a friend

    def stage() -> tuple[str, str, list[str]]:
        _, raw = call(f"{base}/api/people/{person}", key=admin)
        rel = json.loads(raw)["relationship"]
        return rel["stage"]["id"], rel["circle"]["id"], [s["play"] for s in rel["next_steps"]]

    def ingest(*kinds: str) -> None:
        events = [
            {
                "id": f"serve-{kind}-{n}",
                "person": "demo2@example.org",
                "type": kind,
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            for n, kind in enumerate(kinds)
        ]
        status, raw = call(f"{base}/api/events", json.dumps({"events": events}).encode(), key=admin)
        assert status == 200
        assert json.loads(raw)["accepted"] == len(kinds)

    first = stage()
    assert first[0] == "friend"
    ingest("purchase")
    assert stage()[0] == "customer"
    ingest("referral", "referral", "attend", "attend")
    now = stage()
    assert now[0] == "evangelist"
    assert now[1] != first[1]  # closer in, too
    assert "share-story" in now[2]  # the megaphone is offered


def test_sigterm_stops_serve_at_once_and_cleans_up(tmp_path: Path) -> None:
    state = tmp_path / "state"
    served = start_serve(tmp_path / "serve.log", env=cli_env() | {"BEFRIEND_STATE_DIR": str(state)})
    site = Path(re.search(r"site built into:\s+(\S+)", served.said())[1])  # type: ignore[index]
    record = state / f"serve-{served.process.pid}.json"
    assert record.is_file()
    assert site.is_dir()
    # Work done first, so there is a heap and a moto with state to leave behind.
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    events = [
        {"id": f"stop-{n}", "person": f"demo{n % 40 + 1}@example.org", "type": "visit", "at": at}
        for n in range(200)
    ]
    status, raw = call(
        f"{served.base}/api/events", json.dumps({"events": events}).encode(), key=served.admin
    )
    assert (status, json.loads(raw)["accepted"]) == (200, 200)

    served.process.send_signal(signal.SIGTERM)

    # Generous: the time it takes is measured by bench/load.py, not asserted here.
    assert served.process.wait(timeout=10) == 128 + signal.SIGTERM
    assert not record.exists()
    assert not site.exists()
    assert list(state.glob("serve-*")) == []


def test_serve_prints_a_user_for_each_role_who_signs_in_with_it(served: Serve) -> None:
    import boto3

    said = served.said()
    users = dict(re.findall(r"^\s+(reader|ingest|admin)\s+\S+\s+password: (\S+)$", said, re.M))
    names = dict(re.findall(r"^\s+(reader|ingest|admin)\s+(\S+)\s+password:", said, re.M))
    pool = re.search(r"moto's user pool (\S+),", said)
    assert pool and set(users) == {"reader", "ingest", "admin"}, said
    idp: Any = boto3.client(
        "cognito-idp",
        region_name="eu-west-1",
        endpoint_url=served.endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    client = idp.list_user_pool_clients(UserPoolId=pool[1], MaxResults=5)["UserPoolClients"]
    token = idp.initiate_auth(
        ClientId=client[0]["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": names["reader"], "PASSWORD": users["reader"]},
    )["AuthenticationResult"]["AccessToken"]
    status, _ = call(f"{served.base}/api/reports", key=token)
    assert status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:
        call(f"{served.base}/api/audit", key=token)
    assert refused.value.code == 403  # the audit trail is the admin's to read
    # Passwords are said once, at start, and never again in the server's log.
    assert said.count(users["reader"]) == 1 and served.said().count(users["reader"]) == 1
