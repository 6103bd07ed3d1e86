"""What the template promises that moto cannot show: the table's recovery, TTL and
encryption, the secret generated at deploy, the private site bucket, one CloudFront origin
for pages and API with the API's own security headers, the mail queue that parks failing
jobs, and alarms on what goes wrong."""

from __future__ import annotations

import re
import tomllib
import uuid
from typing import Any

from befriend.store import Store
from befriend.web.app import SECURITY_HEADERS
from tests.conftest import ROOT
from tests.infra.conftest import FUNCTIONS, Template, references, resources_of


def test_the_table_keeps_data_safe(sam: Template, dynamodb: Any) -> None:
    table = sam["Resources"]["Table"]
    props = table["Properties"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    # The TTL attribute is the one the store's own table uses (moto applies no template TTL).
    ours = Store(f"befriend-{uuid.uuid4().hex[:12]}", client=dynamodb)
    ours.create_table()
    ttl = dynamodb.describe_time_to_live(TableName=ours.table)["TimeToLiveDescription"]
    assert props["TimeToLiveSpecification"] == {
        "AttributeName": ttl["AttributeName"],
        "Enabled": True,
    }


def test_the_signing_secret_is_generated_at_deploy_and_never_written_down(sam: Template) -> None:
    secret = sam["Resources"]["SigningSecret"]["Properties"]
    assert "SecretString" not in secret
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32  # what Settings requires
    variables = sam["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    assert "BEFRIEND_SECRET" not in variables
    assert variables["BEFRIEND_SECRET_ARN"] == {"Ref": "SigningSecret"}
    assert not [p for p in sam["Parameters"] if "secret" in p.lower()]


def test_every_setting_given_to_a_function_is_one_the_code_reads(sam: Template) -> None:
    config = (ROOT / "handlers/befriend/config.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"(BEFRIEND_[A-Z_]+)"', config))
    for function in FUNCTIONS:
        variables = sam["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert set(variables) <= read, f"{function} is given settings nobody reads: {read}"
        assert {"BEFRIEND_TABLE", "BEFRIEND_SITE_URL", "BEFRIEND_EVENT_BUS"} <= set(variables)


def test_ses_identity_and_configuration_set_are_parameters(sam: Template) -> None:
    parameters = sam["Parameters"]
    assert "Default" not in parameters["SesIdentity"]
    assert parameters["SesConfigurationSet"]["Default"] == ""
    variables = sam["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    assert variables["BEFRIEND_SES_CONFIGURATION_SET"] == {"Ref": "SesConfigurationSet"}


def test_the_site_bucket_is_private_versioned_and_encrypted(sam: Template) -> None:
    bucket = sam["Resources"]["SiteBucket"]
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "WebsiteConfiguration" not in props and "AccessControl" not in props
    # Only this distribution reads it, through origin access control.
    policy = sam["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"]
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allow] == [{"Service": "cloudfront.amazonaws.com"}]
    condition = allow[0]["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert "Distribution" in references(condition)


def test_failing_mail_jobs_are_parked_and_the_worker_returns_only_those(sam: Template) -> None:
    resources = sam["Resources"]
    queue = resources["MailQueue"]["Properties"]
    parked = resources["MailDeadLetterQueue"]["Properties"]
    worker = resources["MailFunction"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and parked["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["MailDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert parked["MessageRetentionPeriod"] == 14 * 24 * 3600
    # SQS keeps a job's first enqueue time when it parks it: the parked copy must outlive
    # the queue's own retention, or it could expire on arrival.
    assert parked["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]

    assert worker["Handler"] == "befriend.lambda_app.mail_jobs"
    assert worker["CodeUri"] == resources["Function"]["Properties"]["CodeUri"]
    [event] = worker["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["MailQueue", "Arn"]}
    assert event["Properties"]["BatchSize"] == 10
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"] == {
        "MaximumConcurrency": {"Ref": "MailConcurrency"}
    }
    # Its logs are kept like the others.
    assert worker["LoggingConfig"]["LogGroup"] == {"Ref": "MailLogGroup"}
    group = resources["MailLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-mail"}
    # The API is told where to put the jobs; the worker is told too (the app is built the
    # same way for each entry point) but may not put any (tests/infra/test_iam.py).
    for function in ("Function", "MailFunction"):
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert variables["BEFRIEND_MAIL_QUEUE"] == {"Ref": "MailQueue"}


def _alarms_by_metric(sam: Template) -> dict[str, dict[str, Any]]:
    """Single-metric alarms as "MetricName/watched resource"."""
    found = {}
    for alarm in resources_of(sam, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if "MetricName" in props:
            watched = references(props["Dimensions"][0]["Value"]).pop()
            found[f"{props['MetricName']}/{watched}"] = props
    return found


def test_parked_mail_and_a_failing_worker_raise_alarms(sam: Template) -> None:
    alarms = _alarms_by_metric(sam)
    parked = alarms["ApproximateNumberOfMessagesVisible/MailDeadLetterQueue"]
    assert parked["Namespace"] == "AWS/SQS"
    assert parked["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["MailDeadLetterQueue", "QueueName"]}}
    ]
    assert (parked["ComparisonOperator"], parked["Threshold"]) == ("GreaterThanThreshold", 0)
    errors = alarms["Errors/MailFunction"]
    assert errors["Namespace"] == "AWS/Lambda"
    assert (errors["ComparisonOperator"], errors["Threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
    )
    waiting = alarms["ApproximateAgeOfOldestMessage/MailQueue"]
    assert waiting["Threshold"] == 900
    for alarm in (parked, errors, waiting):
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["TreatMissingData"] == "notBreaching"


def _config(sam: Template) -> dict[str, Any]:
    config: dict[str, Any] = sam["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    return config


def test_pages_and_api_share_one_origin(sam: Template) -> None:
    config = _config(sam)
    origins = {o["Id"]: o for o in config["Origins"]}
    site, api = origins["site"], origins["api"]
    assert references(site["DomainName"]) == {"SiteBucket"}
    assert references(site["OriginAccessControlId"]) == {"SiteOriginAccessControl"}
    assert site["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    assert "HttpApi" in references(api["DomainName"])
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"

    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "site"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    [behaviour] = config["CacheBehaviors"]
    assert (behaviour["PathPattern"], behaviour["TargetOriginId"]) == ("/api/*", "api")
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert {"POST", "PATCH", "DELETE"} <= set(behaviour["AllowedMethods"])
    assert config["Aliases"] == [{"Ref": "SiteDomain"}]
    # Error pages would apply to the API too and hide its problem documents.
    assert "CustomErrorResponses" not in config


def _cloudfront_headers(policy: dict[str, Any]) -> dict[str, str]:
    """The headers a response-headers policy sets, by name, each required to override."""
    security = policy["SecurityHeadersConfig"]
    assert all(v["Override"] is True for v in security.values())
    headers = {
        "Content-Security-Policy": security["ContentSecurityPolicy"]["ContentSecurityPolicy"],
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": security["FrameOptions"]["FrameOption"],
        "Referrer-Policy": security["ReferrerPolicy"]["ReferrerPolicy"],
        "Strict-Transport-Security": "max-age="
        + str(security["StrictTransportSecurity"]["AccessControlMaxAgeSec"]),
    }
    for item in policy["CustomHeadersConfig"]["Items"]:
        assert item["Override"] is True
        headers[item["Header"]] = item["Value"]
    return headers


def test_every_answer_carries_the_apis_security_headers(sam: Template) -> None:
    policy = sam["Resources"]["SecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    headers = _cloudfront_headers(policy)
    # Cache-Control is each answer's own (publish-site sets it per object); HSTS is added,
    # as CloudFront only serves https.
    expected = {k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"}
    assert {k: v for k, v in headers.items() if k != "Strict-Transport-Security"} == expected
    config = _config(sam)
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeaders"}


def test_alarms_watch_errors_throttles_and_the_table(sam: Template) -> None:
    alarms = resources_of(sam, "AWS::CloudWatch::Alarm")
    watched = set()
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        stats = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        for metric in stats or [props]:
            watched.add((metric["Namespace"], metric["MetricName"]))
            dimensions = {references(d["Value"]).pop() for d in metric["Dimensions"][:1]}
            assert dimensions <= {
                "HttpApi",
                "Function",
                "ScheduledFunction",
                "MailFunction",
                "MailQueue",
                "MailDeadLetterQueue",
                "Table",
            }
    assert watched == {
        ("AWS/ApiGateway", "5xx"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/DynamoDB", "ReadThrottleEvents"),
        ("AWS/DynamoDB", "WriteThrottleEvents"),
        ("AWS/DynamoDB", "SystemErrors"),
    }


def test_the_outputs_name_what_operators_need(sam: Template) -> None:
    assert {
        "TableName",
        "SiteBucketName",
        "EventBusName",
        "DistributionDomain",
        "ApiUrl",
        "SecretArn",
        "MailQueueUrl",
        "MailDeadLetterQueueArn",
        "MailFunctionName",
    } <= set(sam["Outputs"])


def test_samconfig_deploys_this_template_with_only_the_iam_capability(sam: Template) -> None:
    config = tomllib.loads((ROOT / "infra/samconfig.toml").read_text(encoding="utf-8"))
    deploy = config["default"]["deploy"]["parameters"]
    assert config["default"]["global"]["parameters"]["stack_name"] == "befriend"
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert config["default"]["validate"]["parameters"]["lint"] is True
    # Nothing of one account: no region, profile, bucket or account id.
    lines = (ROOT / "infra/samconfig.toml").read_text(encoding="utf-8").splitlines()
    settings = [line for line in lines if line.strip() and not line.startswith("#")]
    assert not [s for s in settings if re.search(r"\b\d{12}\b|region|profile|s3_bucket", s)]
    # The required parameters are the ones without a default, as the comment says.
    required = {k for k, v in sam["Parameters"].items() if "Default" not in v}
    assert required == {"SiteDomain", "CertificateArn", "SesIdentity"}
