"""The templates are valid CloudFormation: cfn-lint finds nothing, informational notes
included, in the region the tests use and in us-east-1 (where CloudFront lives), nor in
the edge template in us-east-1, the one region it can be deployed to."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from tests.conftest import REGION, run_captured
from tests.infra.conftest import EDGE_TEMPLATE, TEMPLATE


def test_cfn_lint_finds_nothing_in_the_template() -> None:
    config = ManualArgs(regions=[REGION, "us-east-1"], include_checks=["I"])
    matches = lint_file(TEMPLATE, config=config)
    assert [str(m) for m in matches] == []


def test_cfn_lint_finds_nothing_in_the_edge_template() -> None:
    config = ManualArgs(regions=["us-east-1"], include_checks=["I"])
    matches = lint_file(EDGE_TEMPLATE, config=config)
    assert [str(m) for m in matches] == []


def test_cfn_lint_would_report_a_broken_template(tmp_path: Path) -> None:
    """The check above can fail: the same call on a template with a wrong property."""
    broken = tmp_path / "template.yaml"
    text = TEMPLATE.read_text(encoding="utf-8")
    broken.write_text(text.replace("BillingMode: PAY_PER_REQUEST", "BillingMode: FREE"))
    matches = lint_file(broken, config=ManualArgs(regions=[REGION]))
    assert any("FREE" in str(m) for m in matches)


# The SAM CLI is not a dev dependency (infra/README.md says why); when an operator has it on
# PATH, its own validation runs too.
@pytest.mark.skipif(shutil.which("sam") is None, reason="the SAM CLI is not installed")
def test_sam_validate_lint_passes() -> None:
    sam = shutil.which("sam")
    assert sam is not None
    done = run_captured(
        [sam, "validate", "--lint", "--template-file", str(TEMPLATE), "--region", REGION],
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
