"""The token-signing secret: from Secrets Manager in AWS, from BEFRIEND_SECRET locally.

In AWS the function gets only BEFRIEND_SECRET_ARN; the secret itself (a plain string, as
GenerateSecretString makes it) is read once per container and never shown.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from befriend.config import Settings, SettingsError
from tests.conftest import REGION, ROOT, run_lambda

VALUE = "Zq8vT3nWc5LrB1yXk7HdM2pGf9JsA4eU6oRiN0tVbQwYxCzE3aKmD5hLg8jFu2Ps"


@pytest.fixture(scope="module")
def secretsmanager(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def secret_arn(secretsmanager: Any) -> Iterator[str]:
    made = secretsmanager.create_secret(
        Name=f"befriend-signing-{uuid.uuid4().hex[:8]}", SecretString=VALUE
    )
    yield made["ARN"]
    secretsmanager.delete_secret(SecretId=made["ARN"], ForceDeleteWithoutRecovery=True)


def env_with(**values: str) -> dict[str, str]:
    return {"AWS_REGION": REGION, **values}


def test_the_secret_named_by_the_arn_signs_the_tokens(secret_arn: str) -> None:
    settings = Settings.from_env(env_with(BEFRIEND_SECRET_ARN=secret_arn))

    assert settings.secret == VALUE


def test_a_local_secret_is_used_without_asking_secrets_manager(secretsmanager: Any) -> None:
    nowhere = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:never-made-AbCdEf"
    local = "local-secret-that-is-long-enough-0123456789"

    settings = Settings.from_env(env_with(BEFRIEND_SECRET=local, BEFRIEND_SECRET_ARN=nowhere))

    assert settings.secret == local


def test_a_missing_secret_is_named_by_its_variable(secretsmanager: Any) -> None:
    nowhere = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:never-made-AbCdEf"

    with pytest.raises(SettingsError, match=r"BEFRIEND_SECRET_ARN.*ResourceNotFoundException"):
        Settings.from_env(env_with(BEFRIEND_SECRET_ARN=nowhere))


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (json.dumps({"secret": VALUE}), "plain string, not JSON"),
        ("too-short-to-sign-with", "shorter than 32 characters"),
    ],
)
def test_a_secret_in_the_wrong_shape_is_refused_without_showing_it(
    secretsmanager: Any, stored: str, reason: str
) -> None:
    arn = secretsmanager.create_secret(
        Name=f"befriend-signing-{uuid.uuid4().hex[:8]}", SecretString=stored
    )["ARN"]

    with pytest.raises(SettingsError, match=reason) as refused:
        Settings.from_env(env_with(BEFRIEND_SECRET_ARN=arn))

    assert stored not in str(refused.value)
    assert VALUE not in str(refused.value)


def test_no_secret_at_all_says_which_variables_to_set() -> None:
    with pytest.raises(SettingsError, match=r"BEFRIEND_SECRET .*BEFRIEND_SECRET_ARN"):
        Settings.from_env(env_with())


def test_settings_never_show_the_secret(secret_arn: str) -> None:
    settings = Settings.from_env(env_with(BEFRIEND_SECRET_ARN=secret_arn))

    assert VALUE not in repr(settings)
    assert VALUE not in str(settings)


def test_without_an_arn_settings_load_no_aws_library() -> None:
    script = """
import json, sys
from befriend.config import Settings
Settings.from_env({"BEFRIEND_SECRET": "local-secret-that-is-long-enough-0123456789"})
print(json.dumps(sorted(m for m in ("boto3", "botocore") if m in sys.modules)))
"""
    done = run_lambda(script)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


# The Lambda entry, as a container runs it: import once, then answer many requests. Every
# Secrets Manager call made by boto3 in the process is counted from its default session.
LAMBDA_CONTAINER = """
import json, sys, types
import boto3

calls = []
boto3.setup_default_session()
boto3.DEFAULT_SESSION.events.register(
    "before-call", lambda model, **_: calls.append(model.name)
)
from befriend import lambda_app

event = json.loads(open(sys.argv[1]).read())
context = types.SimpleNamespace(
    aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678",
    function_name="befriend-api",
    get_remaining_time_in_millis=lambda: 30_000,
)
statuses = [lambda_app.handler(event, context)["statusCode"] for _ in range(3)]
print(json.dumps({
    "statuses": statuses,
    "calls": calls,
    "matches": lambda_app.settings.secret == sys.argv[2],
}))
"""


def test_a_lambda_container_reads_the_secret_once(moto_server: str) -> None:
    served = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_server)
    arn = served.create_secret(Name=f"befriend-signing-{uuid.uuid4().hex[:8]}", SecretString=VALUE)[
        "ARN"
    ]
    event = ROOT / "tests/events/http-api-v2-health.json"

    done = run_lambda(
        LAMBDA_CONTAINER,
        *(str(event), VALUE),
        endpoint=moto_server,
        timeout=120,
        BEFRIEND_SECRET=None,
        BEFRIEND_SECRET_ARN=arn,
        BEFRIEND_SITE_URL="https://prefs.example",
    )

    assert done.returncode == 0, done.stderr
    assert VALUE not in done.stdout + done.stderr, "the secret was printed or logged"
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer == {"statuses": [200, 200, 200], "calls": ["GetSecretValue"], "matches": True}


def test_the_counter_shards_are_a_setting_from_1_to_100() -> None:
    secret = "s" * 32
    assert Settings.from_env({"BEFRIEND_SECRET": secret}).counter_shards == 8
    many = {"BEFRIEND_SECRET": secret, "BEFRIEND_COUNTER_SHARDS": "32"}
    assert Settings.from_env(many).counter_shards == 32
    for wrong in ("0", "101", "eight", "-3"):
        with pytest.raises(SettingsError, match="BEFRIEND_COUNTER_SHARDS"):
            Settings.from_env({"BEFRIEND_SECRET": secret, "BEFRIEND_COUNTER_SHARDS": wrong})
