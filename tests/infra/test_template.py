"""What the template promises that moto cannot show: the table's recovery, TTL and
encryption, the secrets generated at deploy, the private site bucket, one CloudFront origin
for pages and API with the API's own security headers, the origin header and the viewer's
address the API is given, the WAF's rate limit at the edge, the mail queue that parks
failing jobs, and alarms on what goes wrong."""

from __future__ import annotations

import json
import re
import tomllib
import uuid
from typing import Any

from flask import Flask
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from befriend.config import Settings
from befriend.store import Store
from befriend.web.app import SECURITY_HEADERS, SITE_HEADERS
from tests.conftest import ROOT, SECRET
from tests.infra.conftest import EDGE_TEMPLATE, FUNCTIONS, Template, references, resources_of


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
    # A secret's ARN names where it waits, never what it is.
    assert not [p for p in sam["Parameters"] if "secret" in p.lower() and not p.endswith("Arn")]


def test_every_setting_given_to_a_function_is_one_the_code_reads(sam: Template) -> None:
    config = (ROOT / "handlers/befriend/config.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"(BEFRIEND_[A-Z_]+)"', config))
    for function in FUNCTIONS:
        variables = sam["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert set(variables) <= read, f"{function} is given settings nobody reads: {read}"
        assert {"BEFRIEND_TABLE", "BEFRIEND_SITE_URL", "BEFRIEND_EVENT_BUS"} <= set(variables)


def test_the_per_client_limit_is_a_parameter_with_the_apps_default(sam: Template) -> None:
    parameter = sam["Parameters"]["ClientRequestsPerHour"]
    variables = sam["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    assert variables["BEFRIEND_CLIENT_REQUESTS_PER_HOUR"] == {"Ref": "ClientRequestsPerHour"}
    default = Settings.from_env({"BEFRIEND_SECRET": SECRET}).client_requests_per_hour
    assert parameter["Default"] == str(default) == "20"
    assert re.fullmatch(parameter["AllowedPattern"], "1")
    assert not re.fullmatch(parameter["AllowedPattern"], "0")


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


def _api_origin(sam: Template) -> dict[str, Any]:
    origins = {o["Id"]: o for o in _config(sam)["Origins"]}
    origin: dict[str, Any] = origins["api"]
    return origin


def _api_behaviour(sam: Template) -> dict[str, Any]:
    [behaviour] = [b for b in _config(sam)["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    found: dict[str, Any] = behaviour
    return found


ORIGIN_HEADER = "X-Befriend-Origin"


def test_cloudfront_proves_itself_to_the_api_with_a_generated_secret(sam: Template) -> None:
    """The origin header's value is the OriginSecret, resolved by CloudFormation at deploy:
    never in the template, a parameter or the environment; the API gets only its ARN."""
    secret = sam["Resources"]["OriginSecret"]["Properties"]
    assert "SecretString" not in secret
    generate = secret["GenerateSecretString"]
    # A plain string, as the app reads it (a template would make JSON).
    assert "SecretStringTemplate" not in generate and "GenerateStringKey" not in generate
    assert generate["PasswordLength"] >= 48
    assert generate["ExcludePunctuation"] is True  # a header value needs no quoting

    [header] = _api_origin(sam)["OriginCustomHeaders"]
    assert header["HeaderName"] == ORIGIN_HEADER
    condition, pinned, current = header["HeaderValue"]["Fn::If"]
    assert condition == "HasOriginHeaderVersion"
    assert current == {"Fn::Sub": "{{resolve:secretsmanager:${OriginSecret}}}"}
    assert pinned == {
        "Fn::Sub": "{{resolve:secretsmanager:${OriginSecret}:SecretString:::"
        "${OriginHeaderVersionId}}}"
    }
    # Only the API origin gets it; the bucket never sees the value.
    site = next(o for o in _config(sam)["Origins"] if o["Id"] == "site")
    assert "OriginCustomHeaders" not in site

    api = sam["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    assert api["BEFRIEND_ORIGIN_SECRET_ARN"] == {"Ref": "OriginSecret"}
    assert "BEFRIEND_ORIGIN_SECRET" not in api
    # The mail worker answers no request, so it neither gets the secret nor may read it.
    worker = sam["Resources"]["MailFunction"]["Properties"]["Environment"]["Variables"]
    assert "BEFRIEND_ORIGIN_SECRET_ARN" not in worker
    # The app checks the very header CloudFront sets.
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "handlers").rglob("*.py"))
    assert f'"{ORIGIN_HEADER}"' in code


def test_the_api_is_given_the_viewers_address_and_not_the_viewers_host(sam: Template) -> None:
    """The managed AllViewerExceptHostHeader policy forwards viewer headers only (it is
    `allExcept: [host]`), so not CloudFront-Viewer-Address: the template names its own."""
    behaviour = _api_behaviour(sam)
    assert behaviour["OriginRequestPolicyId"] == {"Ref": "ApiOriginRequestPolicy"}
    assert behaviour["CachePolicyId"] == {"Ref": "ApiCachePolicy"}
    policy = sam["Resources"]["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    headers = policy["HeadersConfig"]
    assert headers["HeaderBehavior"] == "whitelist"  # "all viewer headers" would pass Host
    named = {h.lower() for h in headers["Headers"]}
    assert "cloudfront-viewer-address" in named
    # API Gateway refuses a Host other than its own; the origin header is CloudFront's own.
    assert not named & {"host", ORIGIN_HEADER.lower(), "authorization"}
    assert policy["CookiesConfig"] == {"CookieBehavior": "none"}

    cache = sam["Resources"]["ApiCachePolicy"]["Properties"]["CachePolicyConfig"]
    # Nothing is kept unless an answer allows it, and then for one second at most.
    assert cache["MinTTL"] == cache["DefaultTTL"] == 0
    assert cache["MaxTTL"] <= 1
    key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    # Authorization is in the key, so no one can be answered from another's request.
    assert key["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    # Every answer of the API is no-store but the public playbook and OpenAPI documents.
    assert SECURITY_HEADERS["Cache-Control"] == "no-store"


# Request attributes of Flask that are read from a header.
HEADER_ATTRIBUTES = {
    "authorization": "Authorization",
    "mimetype": "Content-Type",
    "content_type": "Content-Type",
    "accept_mimetypes": "Accept",
    "accept_languages": "Accept-Language",
    "user_agent": "User-Agent",
    "if_match": "If-Match",
    "if_none_match": "If-None-Match",
}


def headers_the_app_reads() -> set[str]:
    """Every request header the handlers read, by name or through a Flask attribute; but
    the blueprints `create_app` registers in local mode alone, which AWS never serves."""
    found: set[str] = set()
    local_only = {"dev.py", "local_cognito.py"}
    for path in (ROOT / "handlers" / "befriend").rglob("*.py"):
        if path.parent.name == "web" and path.name in local_only:
            continue
        text = path.read_text(encoding="utf-8")
        constants = dict(re.findall(r'^([A-Z_]+) = "([^"]+)"', text, re.MULTILINE))
        for literal, constant in re.findall(
            r'request\.headers(?:\.get\(|\[)\s*(?:"([^"]+)"|([A-Z_]+))', text
        ):
            found.add(literal or constants[constant])
        for attribute in re.findall(r"request\.(\w+)", text):
            if attribute in HEADER_ATTRIBUTES:
                found.add(HEADER_ATTRIBUTES[attribute])
    return found


def test_every_header_the_api_reads_reaches_it(sam: Template) -> None:
    read = {h.lower() for h in headers_the_app_reads()}
    assert {"authorization", "content-type", "idempotency-key", "user-agent"} <= read
    policy = sam["Resources"]["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    cache = sam["Resources"]["ApiCachePolicy"]["Properties"]["CachePolicyConfig"]
    sent = {
        *policy["HeadersConfig"]["Headers"],
        *cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"],
        *(h["HeaderName"] for h in _api_origin(sam)["OriginCustomHeaders"]),
    }
    missing = read - {h.lower() for h in sent}
    assert not missing, f"the API reads headers CloudFront does not pass on: {missing}"


def _web_acl(template: Template) -> dict[str, Any]:
    [acl] = resources_of(template, "AWS::WAFv2::WebACL").values()
    return acl


def _statement_paths(statement: dict[str, Any]) -> tuple[str, set[str]]:
    """The method and the path prefixes a scope-down statement of the kind used here
    selects: AND(method is M, OR(path starts with P, ...)), paths decoded and normalised."""
    method_match, paths = statement["AndStatement"]["Statements"]
    method = method_match["ByteMatchStatement"]
    assert method["FieldToMatch"] == {"Method": {}}
    assert method["PositionalConstraint"] == "EXACTLY"
    prefixes = set()
    for match in paths["OrStatement"]["Statements"]:
        byte = match["ByteMatchStatement"]
        assert byte["FieldToMatch"] == {"UriPath": {}}
        assert byte["PositionalConstraint"] == "STARTS_WITH"
        kinds = [
            t["Type"] for t in sorted(byte["TextTransformations"], key=lambda t: t["Priority"])
        ]
        assert kinds == ["URL_DECODE", "NORMALIZE_PATH"]  # %73ignup and /api/./signup count
        prefixes.add(byte["SearchString"])
    return method["SearchString"], prefixes


def test_the_edge_limits_signup_and_link_posts_per_address(sam: Template, app: Flask) -> None:
    acl = _web_acl(sam)
    props = acl["Properties"]
    assert props["Scope"] == "CLOUDFRONT"
    assert props["DefaultAction"] == {"Allow": {}}
    [rule] = props["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"  # the viewer's own address, at the edge
    assert "ForwardedIPConfig" not in rate
    assert rate["Limit"] == {"Ref": "SignupRateLimit"}
    assert rate["EvaluationWindowSec"] == 300
    parameter = sam["Parameters"]["SignupRateLimit"]
    assert parameter["Default"] == 100 and parameter["MinValue"] >= 10

    method, prefixes = _statement_paths(rate["ScopeDownStatement"])
    assert (method, prefixes) == ("POST", {"/api/signup", "/api/link", "/api/confirm"})
    # Each prefix is a route of the app that takes a POST (sign-up, link, confirm and its
    # fresh link), so a renamed route cannot slip out of the limit unnoticed.
    posts = {r.rule for r in app.url_map.iter_rules() if "POST" in (r.methods or set())}
    for prefix in prefixes:
        assert [p for p in posts if p.startswith(prefix)], f"no POST route under {prefix}"

    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    assert response["ResponseHeaders"] == [{"Name": "Retry-After", "Value": "300"}]
    body = props["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    assert json.loads(body["Content"])["status"] == 429
    assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True


def test_the_web_acl_is_made_in_us_east_1_and_brought_from_there_elsewhere(
    sam: Template,
) -> None:
    """A CloudFront web ACL can only be made in us-east-1: the stack makes it there, and
    in any other region uses the one infra/edge.yaml made in us-east-1, the same ACL."""
    conditions = sam["Conditions"]
    assert conditions["InUsEast1"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    assert conditions["HasEdgeWebAcl"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "EdgeWebAclArn"}, ""]}]
    }
    assert conditions["MakesEdgeWebAcl"] == {
        "Fn::And": [{"Condition": "InUsEast1"}, {"Fn::Not": [{"Condition": "HasEdgeWebAcl"}]}]
    }
    assert _web_acl(sam)["Condition"] == "MakesEdgeWebAcl"
    assert _config(sam)["WebACLId"] == {
        "Fn::If": [
            "HasEdgeWebAcl",
            {"Ref": "EdgeWebAclArn"},
            {
                "Fn::If": [
                    "MakesEdgeWebAcl",
                    {"Fn::GetAtt": ["EdgeWebAcl", "Arn"]},
                    {"Ref": "AWS::NoValue"},
                ]
            },
        ]
    }
    pattern = sam["Parameters"]["EdgeWebAclArn"]["AllowedPattern"]
    edge_arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/befriend-edge/0a1b2c3d"
    assert re.fullmatch(pattern, edge_arn) and re.fullmatch(pattern, "")
    # A regional web ACL cannot protect a distribution.
    assert not re.fullmatch(pattern, edge_arn.replace("global", "regional"))
    assert not re.fullmatch(pattern, edge_arn.replace("us-east-1", "eu-west-1"))

    edge: Template = yaml_parse(EDGE_TEMPLATE.read_text(encoding="utf-8"))
    assert "Transform" not in edge
    ours = dict(_web_acl(sam)["Properties"])
    theirs = dict(_web_acl(edge)["Properties"])
    assert ours.pop("Name") != theirs.pop("Name")  # each stack names its own
    assert theirs == ours
    assert edge["Parameters"]["SignupRateLimit"] == sam["Parameters"]["SignupRateLimit"]
    assert edge["Outputs"]["WebAclArn"]["Value"] == {"Fn::GetAtt": ["EdgeWebAcl", "Arn"]}


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


def test_parked_webhook_messages_and_a_stalled_queue_raise_alarms(sam: Template) -> None:
    """An endpoint's failures are retried and parked in the table; the alarms are for what
    stops delivery altogether: messages the function could not handle five times, and a
    queue nobody takes from (a retry's hop waits at most 15 minutes)."""
    alarms = _alarms_by_metric(sam)
    parked = alarms["ApproximateNumberOfMessagesVisible/WebhookDeadLetterQueue"]
    assert (parked["ComparisonOperator"], parked["Threshold"]) == ("GreaterThanThreshold", 0)
    waiting = alarms["ApproximateAgeOfOldestMessage/WebhookQueue"]
    assert 900 < waiting["Threshold"] <= 3600
    for alarm in (parked, waiting):
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["TreatMissingData"] == "notBreaching"
    dead = sam["Resources"]["WebhookDeadLetterQueue"]["Properties"]
    queue = sam["Resources"]["WebhookQueue"]["Properties"]
    assert dead["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]


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
    behaviour, *dashboard = config["CacheBehaviors"]
    assert (behaviour["PathPattern"], behaviour["TargetOriginId"]) == ("/api/*", "api")
    # The marketers' page in every language: the site's objects, with the dashboard's headers.
    assert [(b["PathPattern"], b["TargetOriginId"]) for b in dashboard] == [
        ("/marketers/*", "site"),
        ("/*/marketers/*", "site"),
    ]
    for page in dashboard:
        same = ("ViewerProtocolPolicy", "CachePolicyId", "FunctionAssociations")
        assert {k: page[k] for k in same} == {k: config["DefaultCacheBehavior"][k] for k in same}
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert {"POST", "PATCH", "DELETE"} <= set(behaviour["AllowedMethods"])
    assert config["Aliases"] == [{"Ref": "SiteDomain"}]
    # Error pages would apply to the API too and hide its problem documents.
    assert "CustomErrorResponses" not in config


def _text(value: str | dict[str, Any]) -> str:
    """A policy's text, as written: a `!Sub` keeps its `${…}` names."""
    if isinstance(value, str):
        return value
    sub = value["Fn::Sub"]
    return str(sub if isinstance(sub, str) else sub[0])


def _cloudfront_headers(policy: dict[str, Any]) -> dict[str, str]:
    """The headers a response-headers policy sets, by name, each required to override."""
    security = policy["SecurityHeadersConfig"]
    assert all(v["Override"] is True for v in security.values())
    headers = {
        "Content-Security-Policy": _text(
            security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
        ),
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


def test_every_answer_carries_the_security_headers_befriend_serve_sends(sam: Template) -> None:
    config = _config(sam)
    api, *dashboard = config["CacheBehaviors"]
    # The dashboard's pages may also fetch from the hosted sign-in (its tokens), no other.
    csp = SITE_HEADERS["Content-Security-Policy"].replace(
        "connect-src 'self'", "connect-src 'self' https://${SignInHost}"
    )
    dashboard_headers = {**SITE_HEADERS, "Content-Security-Policy": csp}
    for behaviour, policy, sent in (
        (config["DefaultCacheBehavior"], "SiteHeaders", SITE_HEADERS),
        (api, "SecurityHeaders", SECURITY_HEADERS),
        *((page, "DashboardHeaders", dashboard_headers) for page in dashboard),
    ):
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": policy}
        found = sam["Resources"][policy]["Properties"]["ResponseHeadersPolicyConfig"]
        headers = _cloudfront_headers(found)
        # Cache-Control is each answer's own (publish-site sets it per object); HSTS is
        # added, as CloudFront only serves https.
        expected = {k: v for k, v in sent.items() if k != "Cache-Control"}
        assert {k: v for k, v in headers.items() if k != "Strict-Transport-Security"} == expected


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
                "FeedbackFunction",
                "DispatchFunction",
                "FeedbackDeadLetterQueue",
                "MailQueue",
                "MailDeadLetterQueue",
                "WorkDeadLetterQueue",
                "DispatchDeadLetterQueue",
                "WebhookQueue",
                "WebhookDeadLetterQueue",
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
        "OriginSecretArn",
        "MailQueueUrl",
        "MailDeadLetterQueueArn",
        "MailFunctionName",
        "EdgeWebAclArn",
        "WebhookQueueUrl",
        "WebhookDeadLetterQueueUrl",
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
