"""API test helpers: read the mails moto captured, sign a person up and confirm them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import SENDER  # noqa: F401  (the sender is verified in the ses fixture)

Mails = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def mails(client: Any) -> Mails:
    """Mails sent since this test began, oldest first (moto keeps one list per session)."""
    before = {m["id"] for m in client.get("/dev/outbox.json").get_json()["mails"]}

    def read() -> list[dict[str, Any]]:
        found = client.get("/dev/outbox.json").get_json()["mails"]
        return [m for m in reversed(found) if m["id"] not in before]

    return read


def token_in(mail: dict[str, Any], page: str) -> str:
    """The token of the `/<page>/#t=` link in a mail."""
    for link in mail["links"]:
        hit = re.search(rf"/{page}/#t=([^\s]+)$", link)
        if hit:
            return hit.group(1)
    raise AssertionError(f"no {page} link in {mail['subject']!r}")


def unsubscribe_path(mail: dict[str, Any]) -> str:
    header = mail["headers"]["List-Unsubscribe"]
    return re.sub(r"^<https://prefs\.example|>$", "", header)


@dataclass
class Visitor:
    """A confirmed person, seen through the API with their manage token."""

    client: Any
    email: str
    token: str
    id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str = "/api/me") -> Any:
        return self.client.get(path, headers=self.auth)

    def patch_permissions(self, *changes: tuple[str, str, bool], **headers: str) -> Any:
        body = {"changes": [{"channel": c, "purpose": p, "granted": g} for c, p, g in changes]}
        return self.client.patch("/api/me/permissions", json=body, headers={**self.auth, **headers})


SignUp = Callable[..., Visitor]


@pytest.fixture
def sign_up(client: Any, mails: Mails, playbook: Any) -> SignUp:
    counter = iter(range(1_000_000))

    def run(
        email: str | None = None,
        permissions: tuple[tuple[str, str], ...] = (("email", "newsletter"),),
        **extra: Any,
    ) -> Visitor:
        address = email or f"visitor{next(counter)}@example.org"
        seen = len(mails())
        answer = client.post(
            "/api/signup",
            json={
                "email": address,
                "policy_version": playbook.policy.version,
                "permissions": [{"channel": c, "purpose": p} for c, p in permissions],
                **extra,
            },
        )
        assert answer.status_code == 202, answer.get_data(as_text=True)
        mail = mails()[seen]
        confirmed = client.post("/api/confirm", json={"token": token_in(mail, "confirm")})
        assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
        body = confirmed.get_json()
        return Visitor(client, address, body["manage_token"], body["person"]["id"])

    return run
