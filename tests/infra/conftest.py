"""The SAM template, read and translated offline: nothing here needs an AWS account or
makes an AWS call (tests/conftest.py points boto3 at fake credentials before anything)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from samtranslator.translator.managed_policy_translator import (  # type: ignore[import-untyped]
    ManagedPolicyLoader,
)
from samtranslator.translator.transform import transform  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from tests.conftest import REGION, ROOT

TEMPLATE = ROOT / "infra" / "template.yaml"
# The web ACL for a stack outside us-east-1, made there on its own (infra/edge.yaml).
EDGE_TEMPLATE = ROOT / "infra" / "edge.yaml"
# The template's functions: one code package, seven entry points.
FUNCTIONS = (
    "Function",
    "ScheduledFunction",
    "MailFunction",
    "WorkFunction",
    "FeedbackFunction",
    "DispatchFunction",
    "WebhookFunction",
)
# Where `sam deploy` would have uploaded the package built by `befriend package`.
PACKAGE_KEY = "befriend-lambda.zip"

Template = dict[str, Any]


class FixedManagedPolicies(ManagedPolicyLoader):  # type: ignore[misc]
    """The translator asks IAM for AWS managed policies by name; this answers from a fixed
    list instead, so translating makes no AWS call. The template names none of them (the
    function has its own role), so the list is only what the translator might look up."""

    def __init__(self) -> None:
        self.asked = 0

    def load(self) -> dict[str, str]:
        self.asked += 1
        return {
            "AWSLambdaBasicExecutionRole": (
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
            ),
        }


def read_template() -> Template:
    """The SAM template as CloudFormation reads it (short-form tags become intrinsics)."""
    parsed: Template = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    return parsed


def translate(
    sam: Template,
    package_bucket: str = "artifacts",
    policies: FixedManagedPolicies | None = None,
) -> Template:
    """Plain CloudFormation from the SAM template, as the SAM transform makes it once
    `sam deploy` has uploaded the package (CodeUri becomes an S3 address)."""
    fragment = copy.deepcopy(sam)
    for function in FUNCTIONS:
        fragment["Resources"][function]["Properties"]["CodeUri"] = (
            f"s3://{package_bucket}/{PACKAGE_KEY}"
        )
    pseudo = {"AWS::Region": REGION, "AWS::Partition": "aws"}
    result: Template = transform(fragment, pseudo, policies or FixedManagedPolicies())
    return result


@pytest.fixture(scope="session")
def sam() -> Template:
    return read_template()


@pytest.fixture(scope="session")
def translated(sam: Template) -> Template:
    return translate(sam)


def resources_of(template: Template, kind: str) -> dict[str, Template]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


_SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")


def references(node: Any) -> set[str]:
    """Logical ids (and pseudo parameters) a piece of template refers to, through Ref,
    Fn::GetAtt, Fn::Sub and DependsOn."""
    found: set[str] = set()
    for kind, value in intrinsics(node):
        if kind == "Ref":
            found.add(value)
        elif kind == "Fn::GetAtt":
            found.add(value[0] if isinstance(value, list) else value.split(".")[0])
        elif kind == "Fn::Sub":
            text, names = (value, {}) if isinstance(value, str) else value
            found |= {n.split(".")[0] for n in _SUB_NAME.findall(text)} - set(names)
        elif kind == "DependsOn":
            found |= {value} if isinstance(value, str) else set(value)
    return found


def intrinsics(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("Ref", "Fn::GetAtt", "Fn::Sub", "DependsOn"):
                yield key, value
            if not (key == "Fn::Sub" and isinstance(value, str)):
                yield from intrinsics(value)
    elif isinstance(node, list):
        for value in node:
            yield from intrinsics(value)
