"""The local receiver at `/dev/webhooks`: it verifies each delivery with the Standard
Webhooks reference library and the secret of the subscription naming its URL, answers as a
receiver should (204, or 401 when the signature is wrong), and shows what it got, newest
first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from befriend.bus.delivery import signed
from befriend.web import dev
from tests.webhooks.conftest import Receiver, Subscribe

URL = "http://127.0.0.1:8000/dev/webhooks"


@pytest.fixture(autouse=True)
def nothing_received() -> Iterator[None]:
    dev._received.clear()
    yield
    dev._received.clear()


def an_event(n: int, **data: Any) -> dict[str, Any]:
    return {
        "id": f"evt_{n:032d}",
        "type": "permission.changed",
        "timestamp": datetime.now(UTC).isoformat(),
        "data": {"person": "p" * 32, "sequence": n, **data},
    }


def post(client: Any, payload: bytes, headers: dict[str, str]) -> Any:
    return client.post("/dev/webhooks", data=payload, headers=headers)


def test_a_signed_delivery_is_verified_kept_and_shown_newest_first(
    app: Any, client: Any, subscribe: Subscribe
) -> None:
    sub_id = subscribe(Receiver(url=URL), "permission.changed")
    sub = app.extensions["befriend"].store.subscription(sub_id)
    for n in (1, 2):
        payload, headers = signed(sub, an_event(n, to="withdrawn"), datetime.now(UTC))
        assert post(client, payload, headers).status_code == 204
    seen = client.get("/dev/webhooks.json").get_json()["received"]
    assert [r["payload"]["data"]["sequence"] for r in seen] == [2, 1]
    assert all(r["verified"] and r["subscription"] == sub_id for r in seen)
    assert seen[0]["type"] == "permission.changed"
    assert 0 <= seen[0]["after"] < 60
    page = client.get("/dev/webhooks")
    assert page.status_code == 200 and page.headers["Refresh"] == "2"
    text = page.get_data(as_text=True)
    assert "signature verified" in text and "&#34;withdrawn&#34;" in text


def test_a_wrong_signature_or_a_changed_body_is_answered_401_and_shown_unverified(
    app: Any, client: Any, subscribe: Subscribe
) -> None:
    sub_id = subscribe(Receiver(url=URL), "permission.changed")
    sub = app.extensions["befriend"].store.subscription(sub_id)
    payload, headers = signed(sub, an_event(1), datetime.now(UTC))
    assert (
        post(client, payload.replace(b'"sequence":1', b'"sequence":9'), headers).status_code == 401
    )
    stale = dict(headers, **{"webhook-timestamp": str(int(datetime.now(UTC).timestamp()) - 600)})
    assert post(client, payload, stale).status_code == 401
    assert post(client, b"<html>", {"Content-Type": "text/html"}).status_code == 401
    seen = client.get("/dev/webhooks.json").get_json()["received"]
    assert [r["verified"] for r in seen] == [False, False, False]
    assert seen[0]["payload"] == "<html>" and seen[0]["type"] is None
    assert "too old" in seen[1]["why"]
    page = client.get("/dev/webhooks").get_data(as_text=True)
    assert page.count("not verified") == 3 and "&lt;html&gt;" in page


def test_without_a_subscription_naming_it_nothing_verifies(client: Any, app: Any) -> None:
    from befriend.store.webhooks import Subscription

    other = Subscription(
        "whk_00000000000000bb", URL, ("person.erased",), "whsec_" + "B" * 43, datetime.now(UTC)
    )
    payload, headers = signed(other, an_event(1), datetime.now(UTC))
    assert post(client, payload, headers).status_code == 401
    [seen] = client.get("/dev/webhooks.json").get_json()["received"]
    assert seen["why"] == "no subscription names this URL"
