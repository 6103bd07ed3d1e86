"""What the webhook tests share: a real HTTP receiver on loopback that verifies every
delivery with the Standard Webhooks reference library, an admin key, a subscription made
through the API, and the delivery function run on the app's own queue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from befriend.clock import SettableClock
from befriend.credentials.keys import Keys
from befriend.jobs.webhooks import Deliverer, deliverer_for, drain
from befriend.store import Store
from tests.conftest import bearer


@dataclass
class Got:
    headers: dict[str, str]
    body: dict[str, Any]
    verified: bool


@dataclass
class Receiver:
    """An endpoint on 127.0.0.1: answers `status` after `delay` seconds; keeps what it got
    and whether its signature verified with `secret`."""

    url: str = ""
    secret: str = ""
    status: int = 204
    delay: float = 0.0
    got: list[Got] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, raw: bytes, headers: dict[str, str]) -> int:
        try:
            Webhook(self.secret).verify(raw, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        with self.lock:
            self.got.append(Got(headers, json.loads(raw), verified))
        time.sleep(self.delay)
        return self.status

    def bodies(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [g.body for g in self.got if kind is None or g.body["type"] == kind]


def serve_receiver() -> tuple[Receiver, Callable[[], None]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = receiver.take(raw, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return receiver, stop


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made, stop = serve_receiver()
    yield made
    stop()


@pytest.fixture
def admin(store: Store, clock: SettableClock) -> dict[str, str]:
    return bearer(Keys(store).create("admin key", "admin", clock())[0])


Subscribe = Callable[..., str]


@pytest.fixture
def subscribe(client: Any, admin: dict[str, str]) -> Subscribe:
    """Register `receiver` for `events` through the API; its id. The receiver learns the
    secret from the answer, as an operator copies it."""

    def run(receiver: Receiver, *events: str) -> str:
        answer = client.post(
            "/api/webhooks",
            json={"url": receiver.url, "events": list(events) or ["permission.changed"]},
            headers=admin,
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)
        receiver.secret = answer.get_json()["secret"]
        return str(answer.get_json()["webhook"]["id"])

    return run


@pytest.fixture
def deliverer(app: Any) -> Deliverer:
    """The delivery function on the app's webhook queue; waits are played on the test
    clock (the queue sends retries at once, and the clock says when they are due)."""
    made = deliverer_for(app.extensions["befriend"])
    made.queue.max_delay = 0
    return made


def run_queue(deliverer: Deliverer) -> int:
    return drain(deliverer, hide_for=0)
