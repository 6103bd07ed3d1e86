"""The recount against a change whose transaction a standard read sees half of.

DynamoDB makes a transaction all-or-nothing to transactional reads only: a scan or a
BatchGetItem may show the gauges it moved before the person it changed. Here one change is
applied as DynamoDB may show it: its counters first, its person a moment later, while the
recount reads. Without the recount's wait (`recount.GRACE`) that moment is reported as a
difference, and a rebuild would "correct" a change that is about to land; with it, the
check is exact."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders

from befriend.core.playbook import Playbook
from befriend.local.moto_patches import give_back, moto_answers, take_over
from befriend.reports import recount
from befriend.store import Store
from tests.conftest import SignUp, Visitor

SEEN_APART = 0.3  # seconds between the change's counters and its person becoming visible


class CountersFirst:
    """The store's client, answering the next TransactWriteItems in two halves: the counter
    items at once, the others SEEN_APART later (the writer waits, as for any call)."""

    def __init__(self) -> None:
        self.armed = False
        self.half_seen = threading.Event()

    def send(self, request: Any, event_name: str, **kwargs: Any) -> Any:
        if not self.armed or not event_name.endswith(".TransactWriteItems"):
            return moto_answers(event_name=event_name, request=request, **kwargs)
        self.armed = False
        items = json.loads(request.body)["TransactItems"]
        counters = [i for i in items if _partition(i).startswith("COUNTS#")]
        rest = [i for i in items if not _partition(i).startswith("COUNTS#")]
        moto_answers(event_name=event_name, request=_with(request, counters), **kwargs)
        self.half_seen.set()
        time.sleep(SEEN_APART)
        return moto_answers(event_name=event_name, request=_with(request, rest), **kwargs)


def _partition(entry: dict[str, Any]) -> str:
    (op,) = entry.values()
    return str((op.get("Key") or op["Item"])["pk"]["S"])


def _with(request: Any, items: list[dict[str, Any]]) -> AWSPreparedRequest:
    body = json.loads(request.body)
    body["TransactItems"] = items
    data = json.dumps(body).encode()
    headers = HTTPHeaders()
    for name, value in request.headers.items():
        headers[name] = value
    headers["Content-Length"] = str(len(data))
    return AWSPreparedRequest(request.method, request.url, headers, data, stream_output=False)


@pytest.fixture
def person(sign_up: SignUp) -> Visitor:
    return sign_up(permissions=(("email", "newsletter"), ("email", "events")))


@pytest.fixture
def split(store: Store, threaded: None) -> Iterator[CountersFirst]:
    split = CountersFirst()
    take_over(store.client, split.send)
    yield split
    give_back(store.client, split.send)


def change_while_reading(person: Visitor, split: CountersFirst) -> Any:
    """A progress callback: at the recount's first page, a permission change begins in
    another thread; it returns once the change's counters are visible and its person not."""
    threads: list[threading.Thread] = []

    def progress(_n: int) -> None:
        if threads:
            return
        split.armed = True
        writer = threading.Thread(
            target=lambda: person.patch_permissions(("email", "events", False))
        )
        threads.append(writer)
        writer.start()
        assert split.half_seen.wait(10)

    progress.threads = threads  # type: ignore[attr-defined]
    return progress


@pytest.mark.parametrize("grace", [0.0, 1.0], ids=["without-the-wait", "with-the-wait"])
def test_a_change_seen_half_is_never_a_difference_once_the_recount_waits(
    store: Store,
    playbook: Playbook,
    person: Visitor,
    split: CountersFirst,
    monkeypatch: pytest.MonkeyPatch,
    grace: float,
) -> None:
    monkeypatch.setattr(recount, "GRACE", grace)
    progress = change_while_reading(person, split)
    checked = recount.check(store, playbook, datetime.now(UTC), progress)
    for writer in progress.threads:
        writer.join()
    assert progress.threads, "the change was made while the recount read"
    if grace < SEEN_APART:
        # The gauges were read with the change, the person without it: a false difference.
        assert {d.counter: d.kept - d.counted for d in checked.gauges} == {
            "perm|email|events|granted": -1,
            "perm|email|events|withdrawn": 1,
        }
    else:
        assert checked.ok, checked
    assert recount.check(store, playbook, datetime.now(UTC), lambda _: None).ok
