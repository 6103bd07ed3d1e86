"""The SAM template translates offline into plain CloudFormation, and the translation has
the shape the issue asks for: one arm64 function on Python 3.12 or newer behind a throttled
HTTP API whose CORS allows the site's own origin only, and a mail worker the mail queue
feeds in batches."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from befriend.jobs.scheduled import JOBS
from befriend.store.table import DUE_SHARDS
from tests.infra.conftest import (
    FUNCTIONS,
    FixedManagedPolicies,
    Template,
    read_template,
    translate,
)


def test_the_translation_is_plain_cloudformation(translated: Template) -> None:
    kinds = Counter(r["Type"] for r in translated["Resources"].values())
    assert "Transform" not in translated
    assert not [k for k in kinds if k.startswith("AWS::Serverless::")]
    assert kinds == {
        "AWS::DynamoDB::Table": 1,
        "AWS::SecretsManager::Secret": 2,  # the signing secret, and the origin header
        "AWS::Events::EventBus": 1,
        "AWS::Logs::LogGroup": 7,
        # the API's (and the schedules'), the mail worker's, feedback's, the dispatcher's,
        # the webhook deliveries'
        "AWS::IAM::Role": 5,
        # The API, the scheduled jobs, the mail worker, the work queue, what comes back, the
        # dispatcher of plays befriend delivers, webhooks out
        "AWS::Lambda::Function": 7,
        "AWS::Lambda::Permission": 6,  # API Gateway, each schedule, each feedback topic
        # the mail, work, dispatch and webhook queues to their functions
        "AWS::Lambda::EventSourceMapping": 4,
        "AWS::Lambda::EventInvokeConfig": 1,  # feedback: two more tries, then parked
        # Mail jobs, pieces of work and of the dispatcher's runs, webhook deliveries, and
        # those parked after failing; failed feedback
        "AWS::SQS::Queue": 9,
        "AWS::Events::Rule": 3,  # the consent sweep, the event redrive, the dispatcher
        "AWS::ApiGatewayV2::Api": 1,
        "AWS::ApiGatewayV2::Stage": 1,
        "AWS::S3::Bucket": 2,  # the site; audience exports
        "AWS::S3::BucketPolicy": 2,
        "AWS::CloudFront::OriginAccessControl": 1,
        "AWS::CloudFront::ResponseHeadersPolicy": 3,  # the API's, the site's, the dashboard's
        "AWS::CloudFront::CachePolicy": 1,
        "AWS::CloudFront::OriginRequestPolicy": 1,
        "AWS::CloudFront::Function": 1,
        "AWS::CloudFront::Distribution": 1,
        "AWS::WAFv2::WebACL": 1,  # made only in us-east-1 (a condition)
        "AWS::SNS::Topic": 3,  # the alarms; SES events and texts received (feedback)
        "AWS::SNS::TopicPolicy": 2,  # SES and SMS may publish to their topics
        "AWS::SNS::Subscription": 3,
        "AWS::SES::ConfigurationSetEventDestination": 1,  # bounces, complaints: to the topic
        # Marketers' accounts: the pool, its three groups, the hosted sign-in's domain, the
        # dashboard's app client, and a company's OIDC or SAML sign-in (a condition each)
        "AWS::Cognito::UserPool": 1,
        "AWS::Cognito::UserPoolGroup": 3,
        "AWS::Cognito::UserPoolDomain": 1,
        "AWS::Cognito::UserPoolClient": 1,
        "AWS::Cognito::UserPoolIdentityProvider": 2,
        "AWS::CloudWatch::Alarm": 16,
    }


def test_translating_asks_aws_for_nothing() -> None:
    """No managed policy is named, so the translator never even asks the stub loader."""
    loader = FixedManagedPolicies()
    assert translate(read_template(), policies=loader)["Resources"]
    assert loader.asked == 0
    for function in FUNCTIONS:
        assert "Policies" not in read_template()["Resources"][function]["Properties"]


def test_the_api_function_is_arm64_on_python_312_or_newer(translated: Template) -> None:
    function = translated["Resources"]["Function"]["Properties"]
    runtime = function["Runtime"]
    assert runtime.startswith("python3.")
    assert int(runtime.removeprefix("python3.")) >= 12
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "befriend.lambda_app.handler"
    assert function["Code"] == {"S3Bucket": "artifacts", "S3Key": "befriend-lambda.zip"}
    assert function["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    assert function["MemorySize"] == {"Ref": "FunctionMemory"}
    assert function["Timeout"] == {"Ref": "FunctionTimeout"}
    assert function["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}


def test_the_api_sends_every_api_path_to_the_function(translated: Template) -> None:
    body = translated["Resources"]["HttpApi"]["Properties"]["Body"]
    assert list(body["paths"]) == ["/api/{proxy+}"]
    route = body["paths"]["/api/{proxy+}"]["x-amazon-apigateway-any-method"]
    integration = route["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws_proxy"
    assert integration["payloadFormatVersion"] == "2.0"
    assert "${Function.Arn}" in integration["uri"]["Fn::Sub"]
    permission = translated["Resources"]["FunctionApiPermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "Function"}
    assert permission["Principal"] == "apigateway.amazonaws.com"


def test_the_api_is_throttled_by_parameters(translated: Template) -> None:
    stage = translated["Resources"]["HttpApiApiGatewayDefaultStage"]["Properties"]
    assert stage["StageName"] == "$default"
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }


def test_cors_allows_the_sites_own_origin_and_no_other(translated: Template) -> None:
    cors = translated["Resources"]["HttpApi"]["Properties"]["Body"]["x-amazon-apigateway-cors"]
    assert cors["allowOrigins"] == [{"Fn::Sub": "https://${SiteDomain}"}]
    assert "allowCredentials" not in cors
    assert "*" not in cors["allowMethods"] + cors["allowHeaders"]
    function = translated["Resources"]["Function"]["Properties"]
    site = function["Environment"]["Variables"]["BEFRIEND_SITE_URL"]
    assert site == {"Fn::Sub": "https://${SiteDomain}"}  # mail links go to the same origin


def test_the_scheduled_jobs_run_the_same_code_with_the_same_settings(
    translated: Template,
) -> None:
    api = translated["Resources"]["Function"]["Properties"]
    jobs = translated["Resources"]["ScheduledFunction"]["Properties"]
    for same in ("Code", "Runtime", "Architectures", "Role", "Environment", "MemorySize"):
        assert jobs[same] == api[same], same
    assert jobs["Handler"] == "befriend.lambda_app.scheduled"
    assert jobs["Timeout"] == 900  # the sweep reads every person
    assert jobs["ReservedConcurrentExecutions"] == 1
    rules = {
        name: r["Properties"]
        for name, r in translated["Resources"].items()
        if r["Type"] == "AWS::Events::Rule"
    }
    runs = {
        json.loads(rule["Targets"][0]["Input"])["befriend"]: rule["ScheduleExpression"]
        for rule in rules.values()
    }
    assert runs == {
        "sweep": "cron(30 3 * * ? *)",
        "redrive": "rate(15 minutes)",
        "dispatch": "rate(5 minutes)",
    }
    assert set(runs) == set(JOBS)
    for rule in rules.values():
        # The dispatcher sends mail and texts: the same code, with a role of its own.
        runner = "DispatchFunction" if "dispatch" in rule["Targets"][0]["Input"] else None
        assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [runner or "ScheduledFunction", "Arn"]}
    dispatch = translated["Resources"]["DispatchFunction"]["Properties"]
    for same in ("Code", "Runtime", "Architectures", "MemorySize"):
        assert dispatch[same] == jobs[same], same
    # Its schedule's event and its queue's pieces come to one entry.
    assert dispatch["Handler"] == "befriend.lambda_app.dispatching"
    # A piece per shard at once, and the schedule's start beside them.
    assert dispatch["ReservedConcurrentExecutions"] == DUE_SHARDS + 1
    # A piece hands on a minute before its time is up (fanout.MARGIN).
    assert dispatch["Timeout"] < 300


def mapping_of(translated: Template, function: str) -> dict[str, Any]:
    [mapping] = [
        r["Properties"]
        for r in translated["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["FunctionName"] == {"Ref": function}
    ]
    found: dict[str, Any] = mapping
    return found


def test_the_sweeps_pieces_run_the_same_code_fed_by_the_work_queue(translated: Template) -> None:
    api = translated["Resources"]["Function"]["Properties"]
    work = translated["Resources"]["WorkFunction"]["Properties"]
    for same in ("Code", "Runtime", "Architectures", "MemorySize", "Role"):
        assert work[same] == api[same], same
    assert work["Handler"] == "befriend.lambda_app.pieces"
    assert work["Timeout"] == 300  # a piece hands on a minute before it runs out
    assert work["Environment"]["Variables"]["BEFRIEND_WORK_QUEUE"] == {"Ref": "WorkQueue"}
    assert mapping_of(translated, "WorkFunction") == {
        "EventSourceArn": {"Fn::GetAtt": ["WorkQueue", "Arn"]},
        "FunctionName": {"Ref": "WorkFunction"},
        "BatchSize": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": 8},
    }
    queue = translated["Resources"]["WorkQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * work["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]
    }


def test_the_mail_worker_runs_the_same_code_fed_by_the_queue(translated: Template) -> None:
    api = translated["Resources"]["Function"]["Properties"]
    worker = translated["Resources"]["MailFunction"]["Properties"]
    for same in ("Code", "Runtime", "Architectures", "MemorySize"):
        assert worker[same] == api[same], same
    assert worker["Handler"] == "befriend.lambda_app.mail_jobs"
    assert worker["Role"] == {"Fn::GetAtt": ["MailFunctionRole", "Arn"]}
    assert worker["Timeout"] == 30
    # Capped by the mapping's MaximumConcurrency instead: a throttled SQS invocation would
    # count as a delivery and could park good jobs in the dead-letter queue.
    assert "ReservedConcurrentExecutions" not in worker
    mapping = mapping_of(translated, "MailFunction")
    assert mapping == {
        "EventSourceArn": {"Fn::GetAtt": ["MailQueue", "Arn"]},
        "FunctionName": {"Ref": "MailFunction"},
        "BatchSize": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "MailConcurrency"}},
    }


def test_webhooks_are_delivered_by_their_own_function_fed_by_their_queue(
    translated: Template,
) -> None:
    """The same code as the API, with a role of its own; the queue's messages in batches,
    only the failed ones coming back; every function that writes a change is told where
    to queue what it makes for subscribers."""
    api = translated["Resources"]["Function"]["Properties"]
    hooks = translated["Resources"]["WebhookFunction"]["Properties"]
    for same in ("Code", "Runtime", "Architectures", "MemorySize"):
        assert hooks[same] == api[same], same
    assert hooks["Handler"] == "befriend.lambda_app.webhooks"
    assert hooks["Role"] == {"Fn::GetAtt": ["WebhookFunctionRole", "Arn"]}
    # A batch's tries run at once, each at most 3 s to connect and 5 s to answer.
    assert 30 <= hooks["Timeout"] <= 300
    assert mapping_of(translated, "WebhookFunction") == {
        "EventSourceArn": {"Fn::GetAtt": ["WebhookQueue", "Arn"]},
        "FunctionName": {"Ref": "WebhookFunction"},
        "BatchSize": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": 10},
    }
    queue = translated["Resources"]["WebhookQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * hooks["Timeout"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    for function in FUNCTIONS:
        variables = translated["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["BEFRIEND_WEBHOOK_QUEUE"] == {"Ref": "WebhookQueue"}, function
