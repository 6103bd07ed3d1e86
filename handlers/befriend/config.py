"""Settings, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent


def default_templates() -> Path:
    """Templates ship inside the Lambda package; in a checkout they live at the top level."""
    packaged = PACKAGE / "templates"
    return packaged if packaged.is_dir() else PACKAGE.parent.parent / "templates"


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    table: str
    secret: str = field(repr=False)  # signs tokens and keys the evidence hashes: never shown
    site_url: str
    region: str = "eu-west-1"
    playbook_path: Path = PACKAGE / "playbook.toml"
    templates: Path = field(default_factory=default_templates)
    ses_configuration_set: str | None = None
    event_bus: str | None = None
    local: bool = False  # enables /dev/outbox; never set in AWS
    mails_per_hour: int = 3  # per mailbox, a sliding hour
    # Sign-ups and link requests per client address (IPv6: per /64) and clock hour.
    client_requests_per_hour: int = 20
    # The SQS queue of mail jobs (its URL); locally a queue named after the table is made.
    mail_queue: str | None = None
    # The SQS queue long jobs fan out over (jobs/fanout.py): in AWS the scheduled sweep
    # puts a piece per shard on it; unset, the sweep runs in one go (locally, the CLI).
    work_queue: str | None = None
    # The dispatcher's own SQS queue (jobs/dispatch.py): in AWS its schedule puts a piece
    # per shard on it, taken by the one function allowed to send; unset, it runs in one go.
    dispatch_queue: str | None = None
    # The value CloudFront sends in X-Befriend-Origin: only a request carrying it is
    # believed about the viewer's address (CloudFront-Viewer-Address).
    origin_secret: str | None = field(default=None, repr=False)
    # The private bucket audience exports are written to; locally one named after the table.
    exports_bucket: str | None = None
    # How many items each report counter is spread over (store.counters): more spreads a
    # busy table's counter writes wider; a report reads one item per shard.
    counter_shards: int = 8
    # The SNS topics what comes back arrives on (jobs/feedback.py): SES events of the
    # configuration set, and texts sent to our number. A message from any other is refused.
    ses_events_topic: str | None = None
    sms_inbound_topic: str | None = None
    # The SQS queue webhook events wait in for delivery (bus/webhooks.py, its URL); locally
    # a queue named after the table is made; unset in AWS, no subscriber is told anything.
    webhook_queue: str | None = None
    # The Cognito user pool marketers sign in with and the dashboard's app client
    # (credentials/accounts.py); unset, the marketer API takes API keys only.
    user_pool: str | None = None
    user_pool_client: str | None = None
    # Where Cognito answers when not AWS itself (moto's server under `befriend serve`).
    cognito_endpoint: str | None = None
    # The pool's hosted sign-in (https://<prefix>.auth.<region>.amazoncognito.com), which
    # the dashboard sends marketers to; unset, it offers the API key alone (and, locally, a
    # user name and password).
    sign_in_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-1"
        secret = signing_secret(env, region)
        site = env.get("BEFRIEND_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
        if not site.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise SettingsError("BEFRIEND_SITE_URL must be an https:// URL (http only on loopback)")
        return cls(
            table=env.get("BEFRIEND_TABLE", "befriend"),
            secret=secret,
            site_url=site,
            region=region,
            playbook_path=Path(env.get("BEFRIEND_PLAYBOOK") or PACKAGE / "playbook.toml"),
            templates=Path(env.get("BEFRIEND_TEMPLATES") or default_templates()),
            ses_configuration_set=env.get("BEFRIEND_SES_CONFIGURATION_SET") or None,
            event_bus=env.get("BEFRIEND_EVENT_BUS") or None,
            local=env.get("BEFRIEND_LOCAL") == "1",
            client_requests_per_hour=_whole(env, "BEFRIEND_CLIENT_REQUESTS_PER_HOUR", 20),
            mail_queue=env.get("BEFRIEND_MAIL_QUEUE") or None,
            work_queue=env.get("BEFRIEND_WORK_QUEUE") or None,
            dispatch_queue=env.get("BEFRIEND_DISPATCH_QUEUE") or None,
            origin_secret=origin_secret(env, region),
            exports_bucket=env.get("BEFRIEND_EXPORTS_BUCKET") or None,
            counter_shards=counter_shards(env),
            ses_events_topic=env.get("BEFRIEND_SES_EVENTS_TOPIC") or None,
            sms_inbound_topic=env.get("BEFRIEND_SMS_INBOUND_TOPIC") or None,
            webhook_queue=env.get("BEFRIEND_WEBHOOK_QUEUE") or None,
            user_pool=env.get("BEFRIEND_USER_POOL") or None,
            user_pool_client=env.get("BEFRIEND_USER_POOL_CLIENT") or None,
            cognito_endpoint=env.get("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
            or env.get("AWS_ENDPOINT_URL")
            or None,
            sign_in_url=_https(env, "BEFRIEND_SIGN_IN_URL"),
        )


def _https(env: Mapping[str, str], name: str) -> str | None:
    text = env.get(name, "").strip().rstrip("/")
    if text and not text.startswith("https://"):
        raise SettingsError(f"{name} must be an https:// URL")
    return text or None


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1")
    return int(text)


def counter_shards(env: Mapping[str, str] | None = None) -> int:
    """BEFRIEND_COUNTER_SHARDS: from 1 to 100 (a family's gauges are read in one
    BatchGetItem); 8 when unset. Lowering it later is safe: readers still read every
    shard the table records as written."""
    env = os.environ if env is None else env
    shards = _whole(env, "BEFRIEND_COUNTER_SHARDS", 8)
    if shards > 100:
        raise SettingsError("BEFRIEND_COUNTER_SHARDS must be at most 100")
    return shards


def origin_secret(env: Mapping[str, str], region: str) -> str | None:
    """BEFRIEND_ORIGIN_SECRET, or the secret BEFRIEND_ORIGIN_SECRET_ARN names; None when
    the API is not behind CloudFront (then no viewer-address header is believed)."""
    value = env.get("BEFRIEND_ORIGIN_SECRET", "")
    arn = env.get("BEFRIEND_ORIGIN_SECRET_ARN", "")
    if not value and arn:
        value = read_secret(arn, region, variable="BEFRIEND_ORIGIN_SECRET_ARN")
    if value and len(value) < 32:
        raise SettingsError("the origin secret must be at least 32 characters")
    return value or None


def signing_secret(env: Mapping[str, str], region: str) -> str:
    """BEFRIEND_SECRET when set (local use); else the secret BEFRIEND_SECRET_ARN names.

    In AWS the secret lives in Secrets Manager and the function gets only its ARN. It is read
    here, when Settings are made: once per container, since lambda_app builds the app once.
    """
    secret = env.get("BEFRIEND_SECRET", "")
    arn = env.get("BEFRIEND_SECRET_ARN", "")
    if not secret and arn:
        secret = read_secret(arn, region)
        if len(secret) < 32:
            raise SettingsError(
                "BEFRIEND_SECRET_ARN names a secret shorter than 32 characters; "
                "store at least 32 random characters"
            )
    if len(secret) < 32:
        raise SettingsError(
            "BEFRIEND_SECRET must be set to at least 32 random characters "
            "(or BEFRIEND_SECRET_ARN to a secret in Secrets Manager)"
        )
    return secret


def read_secret(
    arn: str, region: str, client: Any = None, variable: str = "BEFRIEND_SECRET_ARN"
) -> str:
    """The value of the Secrets Manager secret ARN: its SecretString, used as it is.

    The format is a plain string (what GenerateSecretString makes without a template), not
    JSON: the whole string is the key. Error messages name the variable, never the value.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    if client is None:
        import boto3  # only here: a cold start without the ARN makes no Secrets Manager client

        parts = arn.split(":")
        in_arn = parts[3] if arn.startswith("arn:") and len(parts) > 6 else ""
        client = boto3.client("secretsmanager", region_name=in_arn or region)
    try:
        value = client.get_secret_value(SecretId=arn).get("SecretString")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "an error")
        raise SettingsError(f"{variable}: Secrets Manager answered {code}") from None
    except BotoCoreError as exc:
        raise SettingsError(f"{variable}: cannot read the secret ({type(exc).__name__})") from None
    if not isinstance(value, str):
        raise SettingsError(f"{variable}: the secret must be a string, not binary")
    if value.lstrip().startswith(("{", "[")):
        raise SettingsError(
            f"{variable}: the secret must be a plain string, not JSON "
            "(GenerateSecretString without SecretStringTemplate)"
        )
    return value
