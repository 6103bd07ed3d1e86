"""The translated template, created in moto's CloudFormation, and the app run against
what the stack made, found through the stack's outputs.

moto has no SAM transform (the template is translated offline first), and no
CloudFormation support for API Gateway v2, CloudFront, WAF, CloudWatch alarms, S3 bucket
policies, SNS subscriptions or Secrets Manager secrets. Those are dropped before
`create_stack`, and so is whatever needs one of them; the test names each and fails if
the list changes, or if a type it relies on was not created. The signing and origin
secrets are stood in for: the test makes them with the template's own generation
settings, as CloudFormation would, and passes their ARNs where the template refers to them.
"""

from __future__ import annotations

import ast
import copy
import io
import json
import uuid
import zipfile
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from moto.cloudformation.parsing import get_model_map
from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
from moto.ses.models import ses_backends

from befriend.build.publish import publish
from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.core.playbook import Playbook
from befriend.credentials.keys import Keys
from befriend.mailing.worker import lambda_batch
from befriend.store import Store
from befriend.web.app import create_app
from tests.conftest import REGION, ROOT, START, signup_body, sqs_event, token_in
from tests.infra.conftest import FUNCTIONS, PACKAGE_KEY, Template, references, translate

SITE_DOMAIN = "prefs.example.org"

# What moto's CloudFormation makes of this template. A change in the template or in moto
# that moves a type from one list to the other fails here, to be looked at.
CREATED = {
    "AWS::DynamoDB::Table",
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::IAM::Role",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
}
NOT_SUPPORTED_BY_MOTO = {
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::Function",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::OriginRequestPolicy",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    # What comes back (the feedback function): SES's and SMS's right to publish to their
    # topics, the configuration set's event destination, and the function's retries.
    "AWS::SNS::TopicPolicy",
    "AWS::SES::ConfigurationSetEventDestination",
    "AWS::Lambda::EventInvokeConfig",
    # Conditional on us-east-1, and moto has no WAF in CloudFormation in any region.
    "AWS::WAFv2::WebACL",
    # Marketers' accounts: the pool's groups, hosted domain and company sign-ins.
    "AWS::Cognito::UserPoolGroup",
    "AWS::Cognito::UserPoolDomain",
    "AWS::Cognito::UserPoolIdentityProvider",
}
STOOD_IN = {
    "SigningSecret": "AWS::SecretsManager::Secret",
    "OriginSecret": "AWS::SecretsManager::Secret",
    # moto has no Cognito in CloudFormation; the function needs the pool and its client.
    "UserPool": "AWS::Cognito::UserPool",
    "DashboardClient": "AWS::Cognito::UserPoolClient",
}
# Supported by moto, but they need a resource moto cannot make.
NEEDS_A_DROPPED_RESOURCE = {"FunctionApiPermission": "HttpApi"}
OUTPUTS_NOT_MADE = {"ApiUrl", "DistributionDomain", "EdgeWebAclArn"}


def for_moto(
    template: Template, supported: set[str], stand_ins: dict[str, str]
) -> tuple[Template, dict[str, str]]:
    """The template without what moto cannot create, and why each resource was dropped."""
    out = copy.deepcopy(template)
    resources = out["Resources"]
    dropped: dict[str, str] = {}
    for logical, resource in list(resources.items()):
        if logical in stand_ins:
            dropped[logical] = f"{resource['Type']}: stood in for by the test"
        elif resource["Type"] not in supported:
            dropped[logical] = f"{resource['Type']}: no CloudFormation support in moto"
        else:
            continue
        del resources[logical]
    out = _put_in(out, stand_ins)
    resources = out["Resources"]
    while True:
        needy = {
            logical: sorted(references(resource) & dropped.keys())
            for logical, resource in resources.items()
        }
        needy = {k: v for k, v in needy.items() if v}
        if not needy:
            break
        for logical, needs in needy.items():
            dropped[logical] = f"{resources[logical]['Type']}: needs {', '.join(needs)}"
            del resources[logical]
    out["Outputs"] = {k: v for k, v in out["Outputs"].items() if not references(v) & dropped.keys()}
    return out, dropped


def _put_in(node: Any, values: dict[str, str]) -> Any:
    """Replace Ref and ${...} of stood-in resources with their physical ids."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in values:
            return values[node["Ref"]]
        if "Fn::GetAtt" in node and str(node["Fn::GetAtt"][0]) in values:
            raise AssertionError(f"no attribute of a stood-in resource: {node}")
        if isinstance(node.get("Fn::Sub"), str):
            text = node["Fn::Sub"]
            for name, value in values.items():
                text = text.replace("${" + name + "}", value)
            return {"Fn::Sub": text}
        return {k: _put_in(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_put_in(v, values) for v in node]
    return node


def _package() -> bytes:
    """A stand-in for `befriend package`: moto stores the code but never runs it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((ROOT / "handlers" / "befriend").glob("*.py")):
            archive.write(path, f"befriend/{path.name}")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def stack(aws: None, sam: Template) -> dict[str, Any]:
    """Create the stack once for this module; returns its outputs, resources and drops."""
    suffix = uuid.uuid4().hex[:8]
    name = f"befriend-{suffix}"
    s3 = boto3.client("s3", region_name=REGION)
    artifacts = f"befriend-artifacts-{suffix}"
    s3.create_bucket(Bucket=artifacts, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=artifacts, Key=PACKAGE_KEY, Body=_package())

    # What an operator makes before deploying: a verified SES identity, a configuration set
    # and the certificate. Then what CloudFormation would make of the secret.
    account = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
    ses = boto3.client("ses", region_name=REGION)
    identity = "befriend.example"
    ses.verify_domain_identity(Domain=identity)
    configuration_set = f"befriend-{suffix}"
    ses.create_configuration_set(ConfigurationSet={"Name": configuration_set})
    secrets = boto3.client("secretsmanager", region_name=REGION)
    stand_ins = {}
    for logical, kind in STOOD_IN.items():
        if kind.startswith("AWS::Cognito::"):
            continue
        generate = sam["Resources"][logical]["Properties"]["GenerateSecretString"]
        value = secrets.get_random_password(**generate)["RandomPassword"]
        made = secrets.create_secret(Name=f"{name}-{logical}", SecretString=value)
        stand_ins[logical] = made["ARN"]

    # The pool and the dashboard's client, made as the template says.
    idp = boto3.client("cognito-idp", region_name=REGION)
    pool = sam["Resources"]["UserPool"]["Properties"]
    made_pool = idp.create_user_pool(
        PoolName=f"{name}-marketers",
        Policies=pool["Policies"],
        AdminCreateUserConfig=pool["AdminCreateUserConfig"],
        MfaConfiguration=pool["MfaConfiguration"],
    )["UserPool"]["Id"]
    stand_ins["UserPool"] = made_pool
    stand_ins["DashboardClient"] = idp.create_user_pool_client(
        UserPoolId=made_pool, ClientName="dashboard"
    )["UserPoolClient"]["ClientId"]

    translated = translate(sam, package_bucket=artifacts)
    supported = set(get_model_map())
    template, dropped = for_moto(translated, supported, stand_ins)

    cloudformation = boto3.client("cloudformation", region_name=REGION)
    parameters = {
        "SiteDomain": SITE_DOMAIN,
        "CertificateArn": f"arn:aws:acm:us-east-1:{account}:certificate/{uuid.uuid4()}",
        "SesIdentity": identity,
        "SesConfigurationSet": configuration_set,
    }
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    made = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    # moto runs a function an enabled SQS mapping points at in Docker, on the sender's
    # thread, at every SendMessage. The mapping is made as the template says (read back
    # below), then paused: here the tests take the jobs from the queue themselves.
    mapping = next(r for r in made if r["ResourceType"] == "AWS::Lambda::EventSourceMapping")
    boto3.client("lambda", region_name=REGION).update_event_source_mapping(
        UUID=mapping["PhysicalResourceId"], Enabled=False
    )
    return {
        "name": name,
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]},
        "resources": {r["LogicalResourceId"]: r for r in made},
        "dropped": dropped,
        "translated": translated,
        "parameters": parameters,
    }


def test_moto_creates_what_it_supports_and_the_test_names_what_it_skipped(
    stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    dropped: dict[str, str] = stack["dropped"]
    with capsys.disabled():
        print("\nmoto could not create, so the stack test left out:")
        for logical, why in sorted(dropped.items()):
            print(f"  {logical}: {why}")

    translated = stack["translated"]["Resources"]
    made = {r["ResourceType"] for r in stack["resources"].values()}
    assert made == CREATED, "moto created other types than expected"
    skipped = {translated[k]["Type"] for k, why in dropped.items() if "no CloudFormation" in why}
    assert skipped == NOT_SUPPORTED_BY_MOTO
    assert {k: translated[k]["Type"] for k, v in dropped.items() if "stood in" in v} == STOOD_IN
    needing = {k: v.split("needs ")[1] for k, v in dropped.items() if "needs " in v}
    assert needing == NEEDS_A_DROPPED_RESOURCE
    # Every resource of the translated template is either made or named as left out.
    assert set(stack["resources"]) | set(dropped) == set(translated)
    # Nothing the app needs was left out.
    needs = (
        "Table",
        "SiteBucket",
        "ChangeBus",
        "FunctionRole",
        "Function",
        "ScheduledFunction",
        "MailQueue",
        "MailDeadLetterQueue",
        "MailFunctionRole",
        "MailFunction",
        "MailFunctionMailJobs",
        "WorkQueue",
        "WorkDeadLetterQueue",
        "WorkFunction",
        "WorkFunctionPieces",
        "SesEventsTopic",
        "SmsInboundTopic",
        "FeedbackFunction",
        "FeedbackDeadLetterQueue",
        "WebhookQueue",
        "WebhookDeadLetterQueue",
        "WebhookFunctionRole",
        "WebhookFunction",
        "WebhookFunctionDeliveries",
    )
    for needed in needs:
        assert needed in stack["resources"], f"{needed} was not created"
    assert set(stack["outputs"]) == {
        "SiteUrl",
        "TableName",
        "SiteBucketName",
        "EventBusName",
        "SecretArn",
        "OriginSecretArn",
        "FunctionName",
        "MailFunctionName",
        "MailQueueUrl",
        "WorkQueueUrl",
        "DispatchQueueUrl",
        "ExportsBucketName",
        "MailDeadLetterQueueUrl",
        "MailDeadLetterQueueArn",
        "AlarmTopicArn",
        "SesEventsTopicArn",
        "SmsInboundTopicArn",
        "FeedbackDeadLetterQueueUrl",
        "WebhookQueueUrl",
        "WebhookDeadLetterQueueUrl",
        "WebhookFunctionName",
        "UserPoolId",
        "UserPoolClientId",
        "SignInUrl",
    }
    assert not OUTPUTS_NOT_MADE & set(stack["outputs"])


def test_the_stack_made_the_table_the_store_makes(stack: dict[str, Any], dynamodb: Any) -> None:
    """Everything of the table that moto applies from a template matches `Store.create_table`.
    moto ignores a template's TTL, point-in-time recovery and encryption (it reads
    `SSESpecification.Enabled`, the API's name, not the template's `SSEEnabled`), so
    tests/infra/test_template.py reads those from the template."""
    ours = Store(f"befriend-{uuid.uuid4().hex[:12]}", client=dynamodb)
    ours.create_table()
    theirs = dynamodb.describe_table(TableName=stack["outputs"]["TableName"])["Table"]
    mine = dynamodb.describe_table(TableName=ours.table)["Table"]
    assert _shape(theirs) == _shape(mine)
    assert theirs["DeletionProtectionEnabled"] is True


def _shape(table: dict[str, Any]) -> dict[str, Any]:
    return {
        "attributes": sorted(
            (a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]
        ),
        "keys": table["KeySchema"],
        "indexes": sorted(
            (i["IndexName"], json.dumps(i["KeySchema"]), i["Projection"]["ProjectionType"])
            for i in table.get("GlobalSecondaryIndexes", [])
        ),
        "stream": table["StreamSpecification"],
        "billing": table["BillingModeSummary"]["BillingMode"],
    }


def _role_statements(stack: dict[str, Any], logical: str) -> dict[str, Any]:
    """The role's statements by Sid, as IAM (moto) holds them."""
    iam = boto3.client("iam", region_name=REGION)
    role = stack["resources"][logical]["PhysicalResourceId"]
    statements: dict[str, Any] = {}
    for policy_name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
        if isinstance(document, str):  # moto keeps a template's policy as Python's repr
            document = ast.literal_eval(document)
        statements |= {s["Sid"]: s for s in document["Statement"]}
    return statements


def _queue_arn(url: str) -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def test_the_roles_name_exactly_the_stacks_resources(stack: dict[str, Any]) -> None:
    outputs = stack["outputs"]
    table = boto3.client("dynamodb", region_name=REGION).describe_table(
        TableName=outputs["TableName"]
    )["Table"]["TableArn"]
    bus = boto3.client("events", region_name=REGION).describe_event_bus(
        Name=outputs["EventBusName"]
    )["Arn"]
    queue = _queue_arn(outputs["MailQueueUrl"])

    api = _role_statements(stack, "FunctionRole")
    assert api["ReadAndWriteTable"]["Resource"] == [
        table,
        f"{table}/index/by-stage",
        f"{table}/index/by-due",  # the scheduled sweep shares the API's role
    ]
    assert api["PutChangeEvents"]["Resource"] == bus
    assert api["ReadSigningSecret"]["Resource"] == outputs["SecretArn"]
    assert api["ReadOriginSecret"]["Resource"] == outputs["OriginSecretArn"]
    assert api["QueueMailJobs"]["Resource"] == queue
    assert "SendMail" not in api  # the API only queues mail
    hooks = _queue_arn(outputs["WebhookQueueUrl"])
    assert api["QueueWebhookEvents"]["Resource"] == hooks

    mail = _role_statements(stack, "MailFunctionRole")
    assert set(mail) == {
        "WriteOwnLogs",
        "TakeMailJobs",
        "ReadAndWriteTable",
        "ReadSigningSecret",
        "PutChangeEvents",
        "QueueWebhookEvents",
        "SendMail",
        "SendTexts",
    }
    assert mail["TakeMailJobs"]["Resource"] == queue
    assert mail["QueueWebhookEvents"]["Resource"] == hooks
    assert mail["ReadAndWriteTable"]["Resource"] == [table, f"{table}/index/by-stage"]
    assert mail["PutChangeEvents"]["Resource"] == bus
    assert mail["ReadSigningSecret"]["Resource"] == outputs["SecretArn"]
    assert [m.rsplit(":", 1)[1] for m in mail["SendMail"]["Resource"]] == [
        f"identity/{stack['parameters']['SesIdentity']}",
        f"configuration-set/{stack['parameters']['SesConfigurationSet']}",
    ]

    webhooks = _role_statements(stack, "WebhookFunctionRole")
    assert set(webhooks) == {
        "WriteOwnLogs",
        "ReadSubscriptionsParkDeliveries",
        "ReadSigningSecret",
        "TakeAndRetryDeliveries",
    }
    assert webhooks["ReadSubscriptionsParkDeliveries"]["Resource"] == table
    assert webhooks["TakeAndRetryDeliveries"]["Resource"] == hooks


def test_the_function_is_configured_from_the_stack(stack: dict[str, Any]) -> None:
    outputs = stack["outputs"]
    function = boto3.client("lambda", region_name=REGION).get_function(
        FunctionName=outputs["FunctionName"]
    )["Configuration"]
    assert function["Runtime"] == "python3.12"
    # moto ignores a template's Architectures; test_translate.py reads arm64 from the template.
    assert function["Handler"] == "befriend.lambda_app.handler"
    assert function["Role"].endswith("/" + stack["resources"]["FunctionRole"]["PhysicalResourceId"])
    assert function["Environment"]["Variables"] == {
        **worker_environment(stack),
        "BEFRIEND_ORIGIN_SECRET_ARN": outputs["OriginSecretArn"],
        "BEFRIEND_CLIENT_REQUESTS_PER_HOUR": "20",
        "BEFRIEND_WORK_QUEUE": outputs["WorkQueueUrl"],
        "BEFRIEND_EXPORTS_BUCKET": outputs["ExportsBucketName"],
        "BEFRIEND_USER_POOL": outputs["UserPoolId"],
        "BEFRIEND_USER_POOL_CLIENT": outputs["UserPoolClientId"],
        "BEFRIEND_SIGN_IN_URL": outputs["SignInUrl"],
    }


def worker_environment(stack: dict[str, Any]) -> dict[str, str]:
    """What the mail worker is given; the API function gets it too."""
    outputs = stack["outputs"]
    return {
        "BEFRIEND_TABLE": outputs["TableName"],
        "BEFRIEND_SITE_URL": f"https://{SITE_DOMAIN}",
        "BEFRIEND_EVENT_BUS": outputs["EventBusName"],
        "BEFRIEND_SES_CONFIGURATION_SET": stack["parameters"]["SesConfigurationSet"],
        "BEFRIEND_SECRET_ARN": outputs["SecretArn"],
        "BEFRIEND_MAIL_QUEUE": outputs["MailQueueUrl"],
        "BEFRIEND_WEBHOOK_QUEUE": outputs["WebhookQueueUrl"],
    }


def test_the_mail_worker_takes_the_stacks_queue_in_batches(stack: dict[str, Any]) -> None:
    """The worker, its queue and the dead-letter queue as moto made them from the template:
    the queue parks a job after five deliveries, the mapping hands over ten at a time and
    takes back only the jobs the worker reports failed."""
    outputs = stack["outputs"]
    lam = boto3.client("lambda", region_name=REGION)
    worker = lam.get_function(FunctionName=outputs["MailFunctionName"])["Configuration"]
    assert worker["Handler"] == "befriend.lambda_app.mail_jobs"
    assert worker["Timeout"] == 30
    assert worker["Role"].endswith(
        "/" + stack["resources"]["MailFunctionRole"]["PhysicalResourceId"]
    )
    # No origin header to check: it answers no request.
    assert worker["Environment"]["Variables"] == worker_environment(stack)

    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.get_queue_attributes(QueueUrl=outputs["MailQueueUrl"], AttributeNames=["All"])
    parked = sqs.get_queue_attributes(
        QueueUrl=outputs["MailDeadLetterQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    redrive = json.loads(queue["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == parked["QueueArn"] == outputs["MailDeadLetterQueueArn"]
    assert int(redrive["maxReceiveCount"]) == 5
    assert int(queue["Attributes"]["VisibilityTimeout"]) >= 6 * worker["Timeout"]
    assert int(parked["MessageRetentionPeriod"]) == 14 * 24 * 3600

    [mapping] = lam.list_event_source_mappings(FunctionName=outputs["MailFunctionName"])[
        "EventSourceMappings"
    ]
    assert mapping["EventSourceArn"] == queue["Attributes"]["QueueArn"]
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_each_function_builds_the_app_from_the_environment_the_stack_gave_it(
    stack: dict[str, Any], playbook: Playbook
) -> None:
    """lambda_app builds the app at import, whichever entry point is then called: each
    function's own environment must be enough for that, secrets read by ARN included."""
    lam = boto3.client("lambda", region_name=REGION)
    names = [stack["resources"][f]["PhysicalResourceId"] for f in FUNCTIONS]
    for name in names:
        env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        settings = Settings.from_env({**env, "AWS_REGION": REGION})
        assert create_app(settings, playbook=playbook).extensions["befriend"], name


def test_the_site_bucket_is_encrypted_and_takes_the_published_site(stack: dict[str, Any]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = stack["outputs"]["SiteBucketName"]
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    publish(s3, bucket, ROOT / "site")
    page = s3.get_object(Bucket=bucket, Key="index.html")
    assert page["Body"].read() == (ROOT / "site" / "index.html").read_bytes()
    assert page["ContentType"].startswith("text/html")


def test_the_app_runs_on_what_the_stack_made(stack: dict[str, Any], playbook: Playbook) -> None:
    """Sign up, confirm, change a permission and read the stages report, with the settings
    the function gets from the stack, the secret read from Secrets Manager, and the change
    events arriving on the stack's bus."""
    outputs = stack["outputs"]
    env = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=outputs["FunctionName"]
    )["Environment"]["Variables"]
    # As lambda_app does: settings from the function's environment, the secret read from
    # Secrets Manager by the ARN the stack gave it.
    settings = Settings.from_env({**env, "AWS_REGION": REGION})
    assert (settings.table, settings.event_bus) == (outputs["TableName"], outputs["EventBusName"])
    assert settings.ses_configuration_set == stack["parameters"]["SesConfigurationSet"]
    assert len(settings.secret) == 64 and settings.secret.isalnum()
    changes = _listen(outputs["EventBusName"])
    clock = SettableClock(START)
    # Store, mailer and notifier are the ones create_app makes from the settings, as in Lambda.
    client = create_app(settings, clock=clock, playbook=playbook).test_client()

    address = f"stack-{uuid.uuid4().hex[:8]}@example.org"
    signup = client.post(
        "/api/signup",
        json=signup_body(address, playbook, (("email", "newsletter"), ("email", "offers"))),
    )
    assert signup.status_code == 202, signup.get_data(as_text=True)
    # The mail function takes the job from the stack's queue, with its own environment.
    mail_env = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=outputs["MailFunctionName"]
    )["Environment"]["Variables"]
    worker = create_app(Settings.from_env({**mail_env, "AWS_REGION": REGION}), clock=clock)
    sqs = boto3.client("sqs", region_name=REGION)
    queued = sqs.receive_message(QueueUrl=outputs["MailQueueUrl"], MaxNumberOfMessages=10)
    event = sqs_event(*(m["Body"] for m in queued["Messages"]))
    answer = lambda_batch(worker.extensions["befriend"].mail_work, event)
    assert answer == {"batchItemFailures": []}
    mail = _mail_to(address)
    assert any(link.startswith(f"https://{SITE_DOMAIN}/confirm/#t=") for link in mail["links"])
    confirmed = client.post("/api/confirm", json={"token": token_in(mail, "confirm")})
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    manage = confirmed.get_json()["manage_token"]
    changed = client.patch(
        "/api/me/permissions",
        json={"changes": [{"channel": "email", "purpose": "offers", "granted": False}]},
        headers={"Authorization": f"Bearer {manage}"},
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)

    store = Store(settings.table, region=REGION)
    key, _ = Keys(store).create("stack test", "reader", clock())
    reader = {"Authorization": f"Bearer {key}"}
    stages = client.get("/api/reports/stages", headers=reader)
    assert stages.status_code == 200, stages.get_data(as_text=True)
    assert _cell(stages.get_json(), "now", "friend", "All circles") == 1
    assert _cell(stages.get_json(), "now", "all", "All circles") == 1
    permissions = client.get("/api/reports/permissions", headers=reader).get_json()
    assert _cell(permissions, "grid", "email:newsletter", "Granted") == 1
    assert _cell(permissions, "grid", "email:offers", "Granted") == 0
    assert _cell(permissions, "grid", "email:offers", "Withdrawn") == 1

    kinds = [(e["detail-type"], e["detail"].get("to")) for e in _received(*changes)]
    assert kinds.count(("Permission Changed", "granted")) == 2
    assert ("Permission Changed", "withdrawn") in kinds


def _cell(report: dict[str, Any], section: str, row: str, column: str) -> Any:
    found = next(s for s in report["sections"] if s["id"] == section)
    cells = next(r["cells"] for r in found["rows"] if r["key"] == row)
    return cells[found["columns"].index(column)]


def _mail_to(address: str) -> dict[str, Any]:
    """The one mail moto's SES captured for an address, with the links of its text part."""
    found = []
    for sent in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages:
        raw = getattr(sent, "raw_data", None)
        if raw is None:
            continue
        msg = message_from_bytes(
            raw.encode() if isinstance(raw, str) else raw, policy=policy.default
        )
        assert isinstance(msg, EmailMessage)
        if msg["To"] == address:
            body = msg.get_body(("plain",))
            text = body.get_content() if body else ""
            found.append({"links": [w for w in text.split() if w.startswith("https://")]})
    assert len(found) == 1
    return found[0]


def _listen(bus: str) -> tuple[Any, str]:
    """A queue that receives everything befriend puts on the bus."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName=f"{bus}-listener")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["befriend"]}))
    events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return sqs, queue


def _received(sqs: Any, queue: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return out
