"""Least privilege, read from the translated template: every allowed action is named (no
wildcard), and every resource is one this template makes, unless the statement is listed
with its reason in its resource's `Metadata.OutsideResources`. The API (and the scheduled
jobs) may queue mail but not send it; only the mail worker sends, and it can do nothing
but take its jobs, keep the table, and send."""

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
        if resource["Type"] == "AWS::Cognito::UserPool":
            continue  # its Policies are password rules
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
    role = broken["Resources"]["MailFunctionRole"]
    document = role["Properties"]["Policies"][0]["PolicyDocument"]
    document["Statement"].append(
        {"Sid": "Everything", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}
    )
    del role["Metadata"]
    assert problems(broken) == [
        "MailFunctionRole/SendTexts: resource * is not made by this template",
        "MailFunctionRole/SendMail: resource {'Fn::Sub': "
        "'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}'}"
        " is not made by this template",
        "MailFunctionRole/SendMail: resource {'Fn::Sub': 'arn:${AWS::Partition}:ses:"
        "${AWS::Region}:${AWS::AccountId}:configuration-set/${SesConfigurationSet}'}"
        " is not made by this template",
        "MailFunctionRole/Everything: wildcard action in ['dynamodb:*']",
        "MailFunctionRole/Everything: resource * is not made by this template",
    ]


def test_each_function_has_its_own_role_and_no_managed_policies(translated: Template) -> None:
    roles = resources_of(translated, "AWS::IAM::Role")
    assert set(roles) == {
        "FunctionRole",
        "MailFunctionRole",
        "FeedbackFunctionRole",
        "DispatchFunctionRole",
        "WebhookFunctionRole",
    }
    for role in roles.values():
        assert "ManagedPolicyArns" not in role["Properties"]
    assert resources_of(translated, "AWS::IAM::Policy") == {}
    assert resources_of(translated, "AWS::IAM::ManagedPolicy") == {}
    functions = resources_of(translated, "AWS::Lambda::Function")
    assert {name: f["Properties"]["Role"]["Fn::GetAtt"][0] for name, f in functions.items()} == {
        "Function": "FunctionRole",
        "ScheduledFunction": "FunctionRole",  # the same code and work as the API
        "MailFunction": "MailFunctionRole",
        "WorkFunction": "FunctionRole",  # the sweep's pieces: the scheduled job's work
        "FeedbackFunction": "FeedbackFunctionRole",  # what comes back: reads and writes people
        "DispatchFunction": "DispatchFunctionRole",  # plays befriend delivers: mail and texts
        "WebhookFunction": "WebhookFunctionRole",  # webhooks out: the subscribers, no person
    }


def _granted(translated: Template, service: str, role: str | None = None) -> set[str]:
    return {
        a
        for logical, s in statements(translated)
        if s["Effect"] == "Allow" and role in (None, logical)
        for a in _listed(s.get("Action", []))
        if a.startswith(service + ":")
    }


def grants(translated: Template, role: str) -> dict[str, set[str]]:
    """Each action the role allows, with the logical ids (and parameters) its resources
    name: what the role can do, and on exactly what."""
    found: dict[str, set[str]] = {}
    for logical, statement in statements(translated):
        if logical != role or statement["Effect"] != "Allow":
            continue
        named = references(statement.get("Resource", [])) - PSEUDO - {"AWS::NoValue"}
        for action in _listed(statement["Action"]):
            found.setdefault(action, set()).update(named)
    return found


# DynamoDB calls that only operator commands make (`befriend serve`, `reports check`, ...);
# the function never does, so its role may not.
OPERATOR_ONLY = {"scan", "create_table", "update_time_to_live", "describe_table"}
# A transaction needs the permission of each kind of item operation inside it.
TRANSACTION = ["PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"]


def test_the_role_grants_the_table_calls_the_code_makes_and_no_more(
    translated: Template,
) -> None:
    sources = [
        *(ROOT / "handlers/befriend/store").glob("*.py"),
        ROOT / "handlers/befriend/credentials/keys.py",
    ]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    calls = set(re.findall(r"client\.(\w+)\(", text))
    calls |= set(re.findall(r'get_paginator\("(\w+)"\)', text))
    calls -= OPERATOR_ONLY | {"get_paginator", "get_waiter"}
    needed: set[str] = set()
    for call in calls:
        name = "".join(part.title() for part in call.split("_"))
        needed |= set(TRANSACTION) if name == "TransactWriteItems" else {name}
    # The worker records sign-ups and links as the API did: the same item operations.
    for role in ("FunctionRole", "MailFunctionRole"):
        assert {f"dynamodb:{n}" for n in needed} == _granted(translated, "dynamodb", role), role


TABLE = {"Table"}
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_the_api_queues_mail_and_cannot_send_it(translated: Template) -> None:
    api = grants(translated, "FunctionRole")
    assert not [a for a in api if a.startswith("ses:")]
    assert {a: r for a, r in api.items() if a.startswith("sqs:")} == {
        # What a write makes for subscribers is queued for the webhook function.
        "sqs:SendMessage": {"MailQueue", "WorkQueue", "WebhookQueue"},
        # The work function takes the sweep's pieces; mail jobs only the mail worker takes.
        "sqs:ReceiveMessage": {"WorkQueue"},
        "sqs:DeleteMessage": {"WorkQueue"},
        "sqs:GetQueueAttributes": {"WorkQueue"},
    }
    assert api["secretsmanager:GetSecretValue"] == {"SigningSecret", "OriginSecret"}
    assert api["events:PutEvents"] == {"ChangeBus"}
    logs = {"FunctionLogGroup", "ScheduledLogGroup", "WorkLogGroup"}
    assert {a: api[a] for a in LOGS} == dict.fromkeys(LOGS, logs)
    assert all(r == TABLE for a, r in api.items() if a.startswith("dynamodb:"))
    # Audience exports: the work function writes and joins the file, the API signs its link.
    files = {a: r for a, r in api.items() if a.startswith("s3:")}
    writes = ("PutObject", "GetObject", "DeleteObject", "AbortMultipartUpload")
    listing = ("ListMultipartUploadParts", "ListBucket")
    assert files == {f"s3:{action}": {"ExportsBucket"} for action in (*writes, *listing)}
    queue = {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    expected = {*queue, *files, "secretsmanager:GetSecretValue", "events:PutEvents", *LOGS}
    assert {a for a in api if not a.startswith("dynamodb:")} == expected


def test_the_mail_worker_sends_mail_keeps_the_table_and_nothing_else(
    translated: Template,
) -> None:
    mail = grants(translated, "MailFunctionRole")
    assert mail["ses:SendRawEmail"] == {"SesIdentity", "SesConfigurationSet"}
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert mail.pop(action) == {"MailQueue"}, action  # only its own queue, never sends
    assert all(mail.pop(a) == TABLE for a in list(mail) if a.startswith("dynamodb:"))
    assert mail == {
        "ses:SendRawEmail": {"SesIdentity", "SesConfigurationSet"},
        "sns:Publish": set(),  # texts to phone numbers: no ARN to name (see the template)
        "secretsmanager:GetSecretValue": {"SigningSecret"},  # not the origin secret
        "events:PutEvents": {"ChangeBus"},
        "sqs:SendMessage": {"WebhookQueue"},  # what its writes make for subscribers
        "logs:CreateLogStream": {"MailLogGroup"},
        "logs:PutLogEvents": {"MailLogGroup"},
    }


def test_the_feedback_function_keeps_people_and_nothing_else(translated: Template) -> None:
    """What comes back is read and written (jobs/feedback.py): a person by address or by
    verified number, their change in one transaction of puts and updates. No scan, no
    delete, no mail or text, no queue but its own dead letters."""
    feedback = grants(translated, "FeedbackFunctionRole")
    table = {a: r for a, r in feedback.items() if a.startswith("dynamodb:")}
    assert table == {
        f"dynamodb:{n}": TABLE
        for n in ("GetItem", "PutItem", "UpdateItem", "Query", "BatchGetItem")
    }
    assert {a: r for a, r in feedback.items() if not a.startswith("dynamodb:")} == {
        "secretsmanager:GetSecretValue": {"SigningSecret"},
        "events:PutEvents": {"ChangeBus"},
        "sqs:SendMessage": {"FeedbackDeadLetterQueue", "WebhookQueue"},
        "logs:CreateLogStream": {"FeedbackLogGroup"},
        "logs:PutLogEvents": {"FeedbackLogGroup"},
    }
    statement = next(
        s
        for logical, s in statements(translated)
        if logical == "FeedbackFunctionRole" and s.get("Sid") == "ReadAndWriteTable"
    )
    indexes = [r for r in _listed(statement["Resource"]) if "Fn::Sub" in r]
    assert indexes == [{"Fn::Sub": "${Table.Arn}/index/by-number"}]


def test_the_dispatcher_delivers_plays_keeps_the_table_and_nothing_else(
    translated: Template,
) -> None:
    """Plays befriend delivers (jobs/dispatch.py): people due read through the by-due
    index, claims and delivery states written, a play's mail and text sent, a task put on
    the bus, the run's pieces on its own queue. No scan, no other queue, no batch write."""
    dispatch = grants(translated, "DispatchFunctionRole")
    table = {a: r for a, r in dispatch.items() if a.startswith("dynamodb:")}
    assert table == {
        f"dynamodb:{n}": TABLE for n in (*TRANSACTION, "GetItem", "Query", "BatchGetItem")
    }
    assert {a: r for a, r in dispatch.items() if not a.startswith("dynamodb:")} == {
        "ses:SendRawEmail": {"SesIdentity", "SesConfigurationSet"},
        "sns:Publish": set(),
        "secretsmanager:GetSecretValue": {"SigningSecret"},
        "events:PutEvents": {"ChangeBus"},
        "logs:CreateLogStream": {"DispatchLogGroup"},
        "logs:PutLogEvents": {"DispatchLogGroup"},
        **{
            f"sqs:{n}": {"DispatchQueue"}
            for n in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")
        },
        # Its pieces, and what its claims make for subscribers.
        "sqs:SendMessage": {"DispatchQueue", "WebhookQueue"},
    }
    statement = next(
        s
        for logical, s in statements(translated)
        if logical == "DispatchFunctionRole" and s.get("Sid") == "ReadAndWriteTable"
    )
    indexes = [r for r in _listed(statement["Resource"]) if "Fn::Sub" in r]
    assert indexes == [{"Fn::Sub": "${Table.Arn}/index/by-due"}]


def test_the_webhook_function_reads_subscriptions_parks_and_nothing_else(
    translated: Template,
) -> None:
    """Webhooks out (jobs/webhooks.py): the subscriptions read with one Query, a delivery
    that failed every try parked with one put, its own queue taken and retries put on it.
    It changes no person: no other table call, no bus, no mail, no text; its POSTs to
    subscribers are outbound HTTPS, which no grant governs."""
    hooks = grants(translated, "WebhookFunctionRole")
    assert hooks == {
        "dynamodb:Query": TABLE,
        "dynamodb:PutItem": TABLE,
        "secretsmanager:GetSecretValue": {"SigningSecret"},
        **{
            f"sqs:{n}": {"WebhookQueue"}
            for n in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "SendMessage")
        },
        "logs:CreateLogStream": {"WebhookLogGroup"},
        "logs:PutLogEvents": {"WebhookLogGroup"},
    }
    # The table itself only: no index.
    statement = next(
        s
        for logical, s in statements(translated)
        if logical == "WebhookFunctionRole" and s.get("Sid") == "ReadSubscriptionsParkDeliveries"
    )
    assert _listed(statement["Resource"]) == [{"Fn::GetAtt": ["Table", "Arn"]}]


def test_every_role_of_a_function_that_writes_changes_may_queue_webhook_events(
    translated: Template,
) -> None:
    writers = {"FunctionRole", "MailFunctionRole", "FeedbackFunctionRole", "DispatchFunctionRole"}
    for role in writers:
        assert "WebhookQueue" in grants(translated, role)["sqs:SendMessage"], role
