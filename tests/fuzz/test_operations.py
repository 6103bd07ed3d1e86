"""Every documented operation, fuzzed with schemathesis: requests that fit the document and
requests that do not, each with a genuine credential and with a spoiled one.

Whatever is sent, the app must not fail (no 5xx) and must answer exactly as the document
promises; a spoiled credential must be refused before anything else is looked at.
"""

from __future__ import annotations

import pytest

from befriend.core.playbook import load_playbook
from befriend.web.openapi import document
from tests.conftest import ROOT
from tests.fuzz.conftest import EXAMPLES, REFUSED_EXAMPLES, Served
from tests.fuzz.runner import fuzz
from tests.fuzz.world import World
from tests.web.openapi_check import operations

OPERATIONS = sorted(
    operations(document(load_playbook((ROOT / "handlers/befriend/playbook.toml").read_text()))),
    key=lambda op: (op[1], op[0]),
)
IDS = [f"{method} {path}" for method, path in OPERATIONS]


def test_every_served_operation_is_fuzzed(served: Served) -> None:
    assert operations(served.document) == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=IDS)
def test_with_genuine_credentials(method: str, path: str, served: Served, world: World) -> None:
    assert fuzz(served, world, method, path, genuine=True, examples=EXAMPLES)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=IDS)
def test_with_spoiled_credentials(method: str, path: str, served: Served, world: World) -> None:
    assert fuzz(served, world, method, path, genuine=False, examples=REFUSED_EXAMPLES)
