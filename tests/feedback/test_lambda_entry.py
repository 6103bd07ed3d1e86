"""`befriend.lambda_app.feedback` as Lambda imports and invokes it: a fresh interpreter,
settings from the environment only, AWS's own sample SNS event (tests/events/)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_lambda
from tests.feedback.conftest import EVENTS, documented

INVOKE = """
import json, sys
from befriend import lambda_app
event = json.loads(open(sys.argv[1]).read())
print(json.dumps(lambda_app.feedback(event, None)))
"""
SAMPLE_TOPIC = documented("sns-lambda.json")["Records"][0]["Sns"]["TopicArn"]


def invoke(tmp_path: Path, ses: str | None = None, sms: str | None = None) -> dict[str, int]:
    done = run_lambda(
        INVOKE,
        str(EVENTS / "sns-lambda.json"),
        cwd=tmp_path,
        BEFRIEND_TABLE="befriend-feedback-entry",
        BEFRIEND_SES_EVENTS_TOPIC=ses,
        BEFRIEND_SMS_INBOUND_TOPIC=sms,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_a_message_from_a_topic_not_configured_is_refused(tmp_path: Path) -> None:
    assert invoke(tmp_path, ses="arn:aws:sns:eu-west-1:123456789012:other") == {"refused": 1}


def test_a_message_from_our_topic_that_is_not_an_inbound_text_is_left(tmp_path: Path) -> None:
    # The sample's message is "Hello from SNS!": not the JSON two-way SMS publishes.
    assert invoke(tmp_path, sms=SAMPLE_TOPIC) == {"malformed": 1}
