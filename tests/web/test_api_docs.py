"""docs/api.md is the OpenAPI document as Markdown: it must say what the API serves."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, cli_env


def test_the_api_page_is_generated_from_the_current_document() -> None:
    generated = subprocess.run(
        [sys.executable, "-m", "befriend.web.openapi.markdown"],
        env=cli_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    committed = (ROOT / "docs/api.md").read_text(encoding="utf-8")
    assert generated == committed, "docs/api.md is stale: run `make docs`"
    assert "### `GET /api/reports/{name}`" in committed
