"""Sending one webhook: signed as the Standard Webhooks specification says, with its
reference library, and posted once with short timeouts (never redirected).

Outside local mode an endpoint is reached only at a public address: a name that resolves
to a private, loopback or link-local address is refused, and the connection goes to the
address checked (so the name cannot resolve elsewhere between the check and the
connection, and a subscription cannot reach the function's runtime or the VPC).
urllib3 is already loaded by botocore: sending costs no import at cold start.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import urllib3
from msgspec import Struct
from standardwebhooks import Webhook

from befriend.core.person import iso
from befriend.core.webhooks import TEST, Event, body, message_id
from befriend.store.webhooks import Subscription

TIMEOUT = urllib3.Timeout(connect=3.0, read=5.0)
USER_AGENT = "befriend-webhooks/1"
_TLS: ssl.SSLContext | None = None


class Tried(Struct, frozen=True):
    """What one try came to: delivered (a 2xx), the HTTP status if any, what to show."""

    delivered: bool
    status: int | None
    said: str
    seconds: float
    # The endpoint could not be reached at all (refused, timed out): not tried again in
    # this batch.
    down: bool = False


def _tls() -> ssl.SSLContext:
    global _TLS
    if _TLS is None:
        from botocore.httpsession import where  # the CA bundle boto3 already trusts

        _TLS = ssl.create_default_context(cafile=where())
    return _TLS


def _address(host: str, port: int, local: bool) -> str:
    """The address to connect to: the first the name resolves to; outside local mode only
    a public one (checked here, and connected to as checked, so the name cannot resolve
    to another address between the check and the connection)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in found:
        address = str(sockaddr[0])
        if local or ipaddress.ip_address(address).is_global:
            return address
    raise PermissionError("the endpoint's name resolves to no public address")


def post(url: str, payload: bytes, headers: dict[str, str], local: bool) -> Tried:
    """One POST of `payload` to `url`; never raises for what the endpoint does."""
    started = time.monotonic()

    def took() -> float:
        return round(time.monotonic() - started, 3)

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        address = _address(host, port, local)
    except PermissionError as exc:
        return Tried(False, None, str(exc), took(), down=True)
    except OSError:
        return Tried(False, None, "the endpoint's name does not resolve", took(), down=True)
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=TIMEOUT,
            retries=False,
            server_hostname=host,
            assert_hostname=host,
            ssl_context=_tls(),
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=TIMEOUT, retries=False)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    try:
        answer = pool.urlopen(
            "POST",
            path,
            body=payload,
            headers={**headers, "Host": netloc},
            redirect=False,
            preload_content=False,
        )
        answer.read(64 * 1024)  # enough to let the connection go; the body is not kept
        answer.release_conn()
    except urllib3.exceptions.TimeoutError:
        return Tried(False, None, "timed out", took(), down=True)
    except urllib3.exceptions.HTTPError as exc:
        return Tried(False, None, f"no answer ({type(exc).__name__})", took(), down=True)
    finally:
        pool.close()
    status = answer.status
    return Tried(200 <= status < 300, status, f"HTTP {status}", took())


def signed(sub: Subscription, event: Event, at: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one try of `event` to `sub`, signed at `at`."""
    msg = message_id(event["id"], sub.id)
    payload = json.dumps(body(event), separators=(",", ":")).encode()
    return payload, {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(sub.secret).sign(msg, at, payload),
    }


def try_now(sub: Subscription, now: datetime, local: bool, wall: datetime | None = None) -> Tried:
    """Send `webhook.test` to `sub` now, once, and say what came of it; signed at `wall`
    (the wall clock's now: receivers compare the stamp with theirs)."""
    event = {
        "id": f"evt_test_{uuid.uuid4().hex}",
        "type": TEST,
        "timestamp": iso(now),
        "data": {"subscription": sub.id},
    }
    payload, headers = signed(sub, event, wall or datetime.now(UTC))
    return post(sub.url, payload, headers, local)
