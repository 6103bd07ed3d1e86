"""Where "now" comes from. Everything that needs the time takes a Clock, so tests can set it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class SettableClock:
    """A clock that stands still until moved; for tests and demos that need time to pass."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Every:
    """`tick` run in a daemon thread every `seconds` until `stop` (the local server's mail
    and work queues, its schedules). A tick that fails is logged, and the next runs as due:
    the server keeps going, and the work is tried again."""

    def __init__(self, name: str, seconds: float, tick: Callable[[], object]) -> None:
        self.name, self.seconds, self.tick = name, seconds, tick
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:
                logging.getLogger("befriend").exception("%s failed; it runs again", self.name)
            self.stopping.wait(self.seconds)
