"""The walkthrough of the README against a real `befriend serve`: the built-in receiver is
registered with `befriend webhooks add`, a permission is withdrawn as the preferences page
withdraws it, and the signed `permission.changed` shows at /dev/webhooks, verified."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import run_befriend, start_serve


def call(url: str, method: str = "GET", body: Any = None, token: str = "") -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        raw = answer.read()
        return json.loads(raw) if raw else None


def test_a_withdrawal_arrives_signed_at_the_local_receiver(tmp_path: Path) -> None:
    served = start_serve(tmp_path / "serve.log", "--no-demo")
    try:
        base = served.base
        receiver = f"{base}/dev/webhooks"
        added = run_befriend(
            "webhooks",
            "add",
            receiver,
            "--events",
            "permission.changed",
            "--endpoint-url",
            served.endpoint,
        )
        assert added.returncode == 0, added.stderr
        body = {
            "email": "watcher@example.org",
            "policy_version": "2026-11-01",
            "permissions": [{"channel": "email", "purpose": "newsletter"}],
        }
        call(f"{base}/api/signup", "POST", body)
        mail = call(f"{base}/dev/outbox.json")["mails"][0]
        link = next(link for link in mail["links"] if "/confirm/#t=" in link)
        confirmed = call(f"{base}/api/confirm", "POST", {"token": link.split("#t=")[1]})
        change = {"changes": [{"channel": "email", "purpose": "newsletter", "granted": False}]}
        call(f"{base}/api/me/permissions", "PATCH", change, token=confirmed["manage_token"])
        answered = time.monotonic()
        while True:
            seen = call(f"{receiver}.json")["received"]
            withdrawn = [r for r in seen if r["payload"]["data"].get("to") == "withdrawn"]
            if withdrawn or time.monotonic() - answered > 10:
                break
            time.sleep(0.02)
        took = time.monotonic() - answered
        [got] = withdrawn
        assert got["verified"] and got["type"] == "permission.changed"
        assert got["payload"]["data"]["email"] == "watcher@example.org"
        # Within a second as a rule (docs/benchmarks.md); a loaded test machine gets slack.
        assert took < 3, took
        page = urllib.request.urlopen(receiver, timeout=10).read().decode()
        assert "signature verified" in page
    finally:
        served.stop()
