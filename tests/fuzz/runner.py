"""One operation fuzzed: generate requests, give or spoil their credential, send them
in-process, check every answer, and follow what they did to the visitor."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from hypothesis import given, note
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode

from tests.fuzz.checks import check_answer
from tests.fuzz.conftest import Served, fuzz_settings
from tests.fuzz.credentials import Guard, arm, guard_of, spoil
from tests.fuzz.world import World


def fuzz(
    served: Served, world: World, method: str, path: str, *, genuine: bool, examples: int
) -> Counter[int]:
    """Send `examples` generated requests; the statuses they got."""
    operation = served.schema[path][method]
    guard = guard_of(path, served.document["paths"][path][method.lower()])
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    seen: Counter[int] = Counter()

    @fuzz_settings(examples)
    @given(case=cases, data=st.data())
    def once(case: Case[Any], data: st.DataObject) -> None:
        if genuine:
            arm(case, guard, world, data.draw)
            allowed = None
        else:
            allowed = spoil(case, guard, world, data.draw)
        note(describe(case))
        # Sent with the test client rather than `case.call`, which would drop a header
        # that a negative case removed even after `arm` put it back.
        sent = world.client.open(**case.as_transport_kwargs())
        answer = check_answer(served.document, method, path, case, sent)
        status = answer.status_code
        if allowed is not None:
            assert status in allowed, f"a spoiled credential got {status}"
        elif not genuine:
            assert status not in (401, 403), f"an operation without credentials said {status}"
        settle(world, guard, method, path, status, answer.get_json(silent=True))
        seen[status] += 1
        world.forget_moto_history()

    started = time.perf_counter()
    once()
    took = time.perf_counter() - started
    kind = "genuine" if genuine else "spoiled"
    print(f"{method} {path} {kind}: {dict(sorted(seen.items()))} in {took:.1f}s")
    return seen


def settle(world: World, guard: Guard, method: str, path: str, status: int, body: Any) -> None:
    """Follow what a request did to the visitor: erased, or signed out with a new token."""
    if guard.kind != "manage" or status >= 300:
        return
    if method == "DELETE" and path == "/api/me":
        world.retire()
    elif path == "/api/me/sign-out-everywhere":
        world.visitor.token = body["manage_token"]


def describe(case: Case[Any]) -> str:
    """The request as sent, for a failure report."""
    parts = {
        "path": case.path_parameters,
        "query": case.query,
        "headers": dict(case.headers or {}),
        "media type": case.media_type,
        "body": case.body,
    }
    return f"{case.method} {case.path} " + ", ".join(f"{k}: {v!r}" for k, v in parts.items() if v)
