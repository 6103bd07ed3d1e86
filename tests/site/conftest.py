"""Site test fixtures: one build of the default site per session, in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from befriend.build.sitegen import build_site
from befriend.core.playbook import Playbook
from tests.api.conftest import mails  # noqa: F401  (the sign-up form test reads the outbox)
from tests.conftest import ROOT

TEMPLATES = ROOT / "templates"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, playbook: Playbook) -> Path:
    out = tmp_path_factory.mktemp("site")
    build_site(playbook, TEMPLATES, out)
    return out
