"""The load test's HTTP side: timed requests, what went wrong, and the mail pickup.

Every request is timed under a kind (`signup`, `me`, `events`…). An answer whose status is
not one the request expects is an error; 429 is counted apart, since a rate limit is the
product working, not failing (befriend answers none today: its per-address mail limit
drops the mail silently, so a visitor over it would show up as a missing mail instead).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

TIMEOUT = 60.0  # seconds one request may take before it counts as an error
# Pages and routes that only exist on this machine: timed, but not part of the product's figures.
LOCAL_ONLY = frozenset({"outbox"})


@dataclass(frozen=True)
class Failure:
    kind: str
    detail: str


@dataclass
class Stats:
    """Latencies by kind of request, errors and rate-limited answers; safe across threads."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    limited: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def took(self, kind: str, seconds: float) -> None:
        with self._lock:
            self.latencies.setdefault(kind, []).append(seconds)

    def fail(self, kind: str, detail: str) -> None:
        with self._lock:
            self.failures.append(Failure(kind, detail[:300]))

    def rate_limited(self, kind: str) -> None:
        with self._lock:
            self.limited[kind] += 1

    def errors_by_kind(self) -> Counter[str]:
        return Counter(f.kind for f in self.failures)


def percentiles(values: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 of `values`, in seconds."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


class Client:
    """One visitor's (or system's) connection: a `requests.Session` whose every call is timed,
    from the loopback address `source` when given (the app limits sign-ups per client
    address, and many visitors do not share one)."""

    def __init__(
        self,
        base: str,
        stats: Stats,
        headers: dict[str, str] | None = None,
        source: str | None = None,
    ) -> None:
        self.base = base
        self.stats = stats
        self.session = requests.Session()
        if source is not None:
            self.session.mount("http://", _From(source))
        self.session.headers["User-Agent"] = "befriend-load/1"
        self.session.headers.update(headers or {})

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        expect: Collection[int] = (200,),
        **kwargs: Any,
    ) -> requests.Response | None:
        """The answer when its status is expected; otherwise None, with the error recorded."""
        url = path if "://" in path else self.base + path
        started = time.perf_counter()
        try:
            answer = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            self.stats.took(kind, time.perf_counter() - started)
            self.stats.fail(kind, f"{method} {_shown(path)}: {type(exc).__name__}: {exc}")
            return None
        self.stats.took(kind, time.perf_counter() - started)
        if answer.status_code in expect:
            return answer
        if answer.status_code == 429:
            self.stats.rate_limited(kind)
            return None
        self.stats.fail(
            kind, f"{method} {_shown(path)}: {answer.status_code} {answer.text[:200]!r}"
        )
        return None

    def close(self) -> None:
        self.session.close()


class _From(HTTPAdapter):
    """Connections made from one local address (any of 127.0.0.0/8 reaches the serve)."""

    def __init__(self, source: str) -> None:
        self._source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)


def loopback(n: int) -> str:
    """The `n`-th address of 127.1.0.1 on, a different one for each `n` below 16 million:
    the app sees a client of its own."""
    n += 1
    return f"127.{1 + n // 65_536 % 254}.{n // 256 % 256}.{n % 256}"


def _shown(path: str) -> str:
    """A path fit for a report: no unsubscribe token, no origin."""
    path = path.split("://", 1)[-1]
    path = path[path.find("/") :] if "/" in path else path
    return "/api/unsubscribe/…" if path.startswith("/api/unsubscribe/") else path


class Mailbox:
    """The mail the app sent, as the local outbox (`/dev/outbox.json`) shows it.

    One thread reads the outbox while some visitor waits for a mail, and hands each mail
    to its addressee, as a mail provider would. The outbox lists every mail sent so far
    on each read, in the serve's process, so it is read for everyone at once, and never
    again sooner than three times as long as the last read took: its cost, which grows
    with the mail sent, stays under a quarter of the serve's time. A mail takes a second
    or two to arrive, as it does from a real provider."""

    def __init__(self, base: str, stats: Stats, pause: float = 1.0) -> None:
        self._client = Client(base, stats)
        self._pause = pause
        self._cond = threading.Condition()
        self._mails: dict[str, list[dict[str, Any]]] = {}
        self._seen: set[str] = set()
        self._waiting = 0
        self._stopped = False
        self.reads = 0

    def wait(self, address: str, count: int, timeout: float) -> dict[str, Any] | None:
        """The `count`-th mail to `address` (1 for the first), once it has come."""
        with self._cond:
            self._waiting += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: len(self._mails.get(address, ())) >= count, timeout)
            finally:
                self._waiting -= 1
            found = self._mails.get(address, [])
            return found[count - 1] if len(found) >= count else None

    def every(self) -> dict[str, list[dict[str, Any]]]:
        """Every mail sent so far, by addressee, oldest first (one more read of the outbox)."""
        self._read()
        with self._cond:
            return {to: list(mails) for to, mails in self._mails.items()}

    def run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._waiting > 0 or self._stopped)
                if self._stopped:
                    return
            started = time.monotonic()
            self._read()
            time.sleep(max(self._pause, 3 * (time.monotonic() - started)))

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._client.close()

    def _read(self) -> None:
        answer = self._client.call("outbox", "GET", "/dev/outbox.json")
        if answer is None:
            return
        fresh = [m for m in reversed(answer.json()["mails"]) if m["id"] not in self._seen]
        with self._cond:
            self.reads += 1
            for mail in fresh:
                self._seen.add(mail["id"])
                self._mails.setdefault(str(mail["to"]), []).append(mail)
            self._cond.notify_all()


def spawn(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread
