"""Fixtures for fuzzing the API in-process on moto.

Each test fuzzes one operation against the document the app itself serves, with one table
(the `store` fixture) for all its examples, so state builds up across them as it would in
production, and the report counters are recounted when the test ends.

`BEFRIEND_FUZZ_EXAMPLES` sets the examples per operation with a genuine credential (default
100, as `make test` runs them, always the same ones: `derandomize`); a quarter as many, at
least 25, are sent with a spoiled one. With it set, as `make fuzz` does, every run draws new
examples (`--hypothesis-seed` repeats one). No run keeps a database of examples: a failure
prints the request and a `@reproduce_failure` blob, and nothing is read back from disk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from schemathesis.specs.openapi.schemas import OpenApiSchema

from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.core.frozen import replace
from befriend.core.playbook import Playbook
from tests.fuzz.world import Outbox, World

EXAMPLES = int(os.environ.get("BEFRIEND_FUZZ_EXAMPLES", "100"))
# Refusals are decided by the credential alone: fewer examples cover them.
REFUSED_EXAMPLES = max(25, EXAMPLES // 4)


def fuzz_settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        database=None,
        derandomize="BEFRIEND_FUZZ_EXAMPLES" not in os.environ,
        deadline=None,
        # Requests on moto are slow for Hypothesis; generated bodies may be large.
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        print_blob=True,
    )


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every generated request comes from one test client: the per-client limit on
    sign-ups and link requests would answer most of them 429 (a documented answer, but
    not one that exercises the route)."""
    return replace(settings, client_requests_per_hour=1_000_000)


@dataclass(frozen=True)
class Served:
    """The OpenAPI document as the app serves it, and schemathesis's reading of it."""

    document: dict[str, Any]
    schema: OpenApiSchema


@pytest.fixture
def served(app: Flask, client: FlaskClient) -> Served:
    answer = client.get("/api/openapi.json")
    assert answer.status_code == 200
    document = answer.get_json()
    # From the dict rather than the URL: schemathesis leaves out the operation that served
    # the document it loaded from, and that operation is fuzzed too.
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app  # requests are built for a WSGI test client
    return Served(document, schema)


@pytest.fixture
def world(
    app: Flask,
    client: FlaskClient,
    clock: SettableClock,
    playbook: Playbook,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    mailer = app.extensions["befriend"].mailer
    outbox = Outbox(mailer)
    monkeypatch.setattr(mailer, "send", outbox.send)
    found = World(app, client, clock, playbook, outbox)
    found.make_keys()
    return found
