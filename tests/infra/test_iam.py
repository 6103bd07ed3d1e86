"""Least privilege, read from the translated template: every allowed action is named (no
wildcard), and every resource is one this template makes, unless the statement is listed
with its reason in its resource's `Metadata.OutsideResources`."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from tests.conftest import ROOT
from tests.infra.conftest import Template, references, resources_of

PSEUDO = {"AWS::AccountId", "AWS::Partition", "AWS::Region", "AWS::URLSuffix", "AWS::StackName"}


def statements(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) of every policy document in the template (trust policies
    grant no access to resources and are left out)."""
    for logical, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if "PolicyDocument" in props:
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                yield logical, statement


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def problems(template: Template) -> list[str]:
    """What breaks the rules above, one line each; empty when the template keeps them."""
    own = set(template["Resources"])
    found = []
    for logical, statement in statements(template):
        sid = statement.get("Sid", "?")
        where = f"{logical}/{sid}"
        if "NotAction" in statement or "NotResource" in statement:
            found.append(f"{where}: NotAction/NotResource")
        actions = _listed(statement.get("Action", []))
        if statement["Effect"] == "Allow" and any("*" in a for a in actions):
            found.append(f"{where}: wildcard action in {actions}")
        outside = template["Resources"][logical].get("Metadata", {}).get("OutsideResources", {})
        for resource in _listed(statement.get("Resource", [])):
            if isinstance(resource, dict) and set(resource) == {"Fn::If"}:
                branches = [b for b in resource["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}]
            else:
                branches = [resource]
            for branch in branches:
                named = references(branch) - PSEUDO
                if named & own:
                    continue
                if sid in outside and len(outside[sid].split()) >= 10:
                    continue  # documented, with a reason of at least a sentence
                found.append(f"{where}: resource {branch} is not made by this template")
    return found


def test_every_statement_names_this_stacks_resources(translated: Template) -> None:
    assert list(statements(translated))  # the check below must have something to check
    assert problems(translated) == []


def test_the_check_catches_a_wildcard(translated: Template) -> None:
    broken = copy.deepcopy(translated)
    document = broken["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    document["Statement"].append(
        {"Sid": "Everything", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}
    )
    del broken["Resources"]["FunctionRole"]["Metadata"]
    assert problems(broken) == [
        "FunctionRole/SendMail: resource {'Fn::Sub': "
        "'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}'}"
        " is not made by this template",
        "FunctionRole/SendMail: resource {'Fn::Sub': 'arn:${AWS::Partition}:ses:${AWS::Region}:"
        "${AWS::AccountId}:configuration-set/${SesConfigurationSet}'} is not made by this template",
        "FunctionRole/Everything: wildcard action in ['dynamodb:*']",
        "FunctionRole/Everything: resource * is not made by this template",
    ]


def test_the_function_role_is_the_only_role_and_has_no_managed_policies(
    translated: Template,
) -> None:
    roles = resources_of(translated, "AWS::IAM::Role")
    assert list(roles) == ["FunctionRole"]
    assert "ManagedPolicyArns" not in roles["FunctionRole"]["Properties"]
    assert resources_of(translated, "AWS::IAM::Policy") == {}
    assert resources_of(translated, "AWS::IAM::ManagedPolicy") == {}


def _granted(translated: Template, service: str) -> set[str]:
    return {
        a
        for _, s in statements(translated)
        if s["Effect"] == "Allow"
        for a in _listed(s.get("Action", []))
        if a.startswith(service + ":")
    }


# DynamoDB calls that only operator commands make (`befriend serve`, `reports check`, ...);
# the function never does, so its role may not.
OPERATOR_ONLY = {"scan", "create_table", "update_time_to_live", "describe_table"}
# A transaction needs the permission of each kind of item operation inside it.
TRANSACTION = ["PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"]


def test_the_role_grants_the_table_calls_the_code_makes_and_no_more(
    translated: Template,
) -> None:
    sources = [*(ROOT / "handlers/befriend/store").glob("*.py"), ROOT / "handlers/befriend/keys.py"]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    calls = set(re.findall(r"client\.(\w+)\(", text))
    calls |= set(re.findall(r'get_paginator\("(\w+)"\)', text))
    calls -= OPERATOR_ONLY | {"get_paginator", "get_waiter"}
    needed: set[str] = set()
    for call in calls:
        name = "".join(part.title() for part in call.split("_"))
        needed |= set(TRANSACTION) if name == "TransactWriteItems" else {name}
    assert {f"dynamodb:{n}" for n in needed} == _granted(translated, "dynamodb")


def test_the_role_reaches_the_secret_the_bus_and_mail_only_as_the_code_needs(
    translated: Template,
) -> None:
    assert _granted(translated, "secretsmanager") == {"secretsmanager:GetSecretValue"}
    assert _granted(translated, "events") == {"events:PutEvents"}
    assert _granted(translated, "ses") == {"ses:SendRawEmail"}
    assert _granted(translated, "logs") == {"logs:CreateLogStream", "logs:PutLogEvents"}
