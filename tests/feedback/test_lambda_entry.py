"""`befriend.lambda_app.feedback` as Lambda imports and invokes it: a fresh interpreter,
settings from the environment only, AWS's own sample SNS event (tests/events/)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import invoke_entry
from tests.feedback.conftest import documented

SAMPLE_TOPIC = documented("sns-lambda.json")["Records"][0]["Sns"]["TopicArn"]


def invoke(tmp_path: Path, ses: str | None = None, sms: str | None = None) -> dict[str, int]:
    answer, _ = invoke_entry(
        "feedback",
        documented("sns-lambda.json"),
        tmp_path,
        BEFRIEND_TABLE="befriend-feedback-entry",
        BEFRIEND_SES_EVENTS_TOPIC=ses,
        BEFRIEND_SMS_INBOUND_TOPIC=sms,
    )
    return dict(answer)


def test_a_message_from_a_topic_not_configured_is_refused(tmp_path: Path) -> None:
    assert invoke(tmp_path, ses="arn:aws:sns:eu-west-1:123456789012:other") == {"refused": 1}


def test_a_message_from_our_topic_that_is_not_an_inbound_text_is_left(tmp_path: Path) -> None:
    # The sample's message is "Hello from SNS!": not the JSON two-way SMS publishes.
    assert invoke(tmp_path, sms=SAMPLE_TOPIC) == {"malformed": 1}
