"""What a command that needs AWS reaches, and one clear message for each way it cannot.

`resolve` picks the target before anything is read: the `--endpoint-url` given; else AWS,
when boto3 finds credentials; else the `befriend serve` running on this machine
(`serve_record`); else the command stops, saying what to pass. `AccessGroup` turns the
credential and connection failures botocore raises later, mid-command, into one message
each, for every command at once.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import click
from click.core import ParameterSource

from befriend.cli import serve_record

TARGET = "befriend.target"  # the resolved Target, in the click context's shared meta

DYNAMODB_OPERATIONS = frozenset(
    {
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "DescribeTable",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "UpdateItem",
    }
)
# AWS does not accept who the credentials say they are.
REFUSED_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
    }
)
DENIED = frozenset({"AccessDeniedException", "AccessDenied"})

HOW_TO_REACH = """Either:
  - for a local server, start `befriend serve` (commands on this machine then use it), or
    pass --endpoint-url (or AWS_ENDPOINT_URL) with the "moto endpoint" it prints;
  - for a deployed stack, give AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY) and its --table (or BEFRIEND_TABLE) and --region (or
    AWS_DEFAULT_REGION)."""


class AccessError(click.ClickException):
    """AWS (or the local server) cannot be reached as asked: exit 2, like a usage error,
    so that it is never taken for a command's own "found a problem" exit 1."""

    exit_code = 2


@dataclass(frozen=True)
class Target:
    table: str
    endpoint_url: str | None  # None: AWS itself
    region: str
    served: serve_record.ServeRecord | None = None  # found by its record, not given

    def where(self) -> str:
        if self.served is not None:
            return f"the local server of `befriend serve` at {self.endpoint_url}"
        if self.endpoint_url:
            return self.endpoint_url
        return f"AWS region {self.region}"


def resolve(table: str, endpoint_url: str | None, region: str) -> Target:
    """The table to open, and where; see the module's description."""
    ctx = click.get_current_context(silent=True)
    if endpoint_url:
        target = Target(table, endpoint_url, region)
    elif has_credentials():
        target = Target(table, None, region)
    else:
        found = serve_record.find()
        if found is None:
            raise AccessError(
                "no AWS credentials, no --endpoint-url, and no `befriend serve` running on "
                "this machine.\n" + HOW_TO_REACH
            )
        # The server's own table and region, unless the operator named others.
        target = Target(
            table if _given(ctx, "table") else found.table,
            found.endpoint,
            region if _given(ctx, "region") else found.region,
            served=found,
        )
        click.echo(
            f"using the local server started by `befriend serve` at {found.endpoint} "
            f"(table {target.table})",
            err=True,
        )
        # Every client of this command (events, secrets) goes there too, not to AWS.
        os.environ["AWS_ENDPOINT_URL"] = found.endpoint
    if ctx is not None:
        ctx.meta[TARGET] = target
    return target


def has_credentials() -> bool:
    """Whether boto3 finds credentials (environment, profile, SSO, container, instance)."""
    import boto3

    return boto3.Session().get_credentials() is not None


def _given(ctx: click.Context | None, name: str) -> bool:
    """Whether the operator set option `name` (on the command line or by its variable)."""
    if ctx is None:
        return False
    return ctx.get_parameter_source(name) in (
        ParameterSource.COMMANDLINE,
        ParameterSource.ENVIRONMENT,
        ParameterSource.PROMPT,
    )


def explain(exc: BaseException, target: Target | None) -> str | None:
    """The message for a failure to reach AWS or the table, or None for any other error."""
    if "botocore.exceptions" not in sys.modules:
        return None  # nothing reached for AWS
    from botocore import exceptions as aws

    if isinstance(exc, aws.NoCredentialsError):
        return "no AWS credentials found.\n" + HOW_TO_REACH
    if isinstance(exc, aws.PartialCredentialsError):
        return (
            f"incomplete AWS credentials: {exc}. Set both AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE."
        )
    if isinstance(exc, aws.SSOError | aws.TokenRetrievalError | aws.CredentialRetrievalError):
        return (
            f"could not load the AWS credentials: {exc}\nRenew them (for SSO: "
            "`aws sso login`), or check AWS_PROFILE."
        )
    if isinstance(exc, aws.ProfileNotFound):
        return f"{exc}: set AWS_PROFILE to a profile of your AWS config, or unset it."
    if isinstance(exc, aws.NoRegionError):
        return "no AWS region: pass --region (or set AWS_DEFAULT_REGION)."
    if isinstance(exc, aws.ConnectionError | aws.HTTPClientError):
        return _unreachable(exc, target)
    if isinstance(exc, aws.ClientError):
        return _refused(exc, target)
    return None


def _unreachable(exc: Any, target: Target | None) -> str:
    url = exc.kwargs.get("endpoint_url") or (target.endpoint_url if target else None)
    at = f" at {url}" if url else ""
    if target is not None and target.served is not None:
        hint = "has `befriend serve` stopped? Start it again, or pass --endpoint-url."
    elif target is not None and target.endpoint_url:
        hint = (
            "is the server running? `befriend serve` prints its moto endpoint "
            "(it changes with every start)."
        )
    else:
        hint = "check the network and --region, or pass --endpoint-url for a local server."
    return f"cannot reach the AWS endpoint{at} ({type(exc).__name__}): {hint}"


def _refused(exc: Any, target: Target | None) -> str | None:
    error = exc.response.get("Error", {})
    code, said = error.get("Code", ""), error.get("Message", "")
    operation = getattr(exc, "operation_name", "") or ""
    if code == "ResourceNotFoundException" and operation in DYNAMODB_OPERATIONS:
        if target is None:
            return f"no such DynamoDB table ({operation}: {said})."
        message = f"no table {target.table!r} at {target.where()}: "
        if target.served is not None:
            message += f"its table is {target.served.table!r}; leave out --table to use it."
        elif target.endpoint_url:
            message += "check --table (or BEFRIEND_TABLE); `befriend serve` makes `befriend`."
        else:
            message += (
                "pass the deployed stack's table (its TableName output) with --table "
                "(or BEFRIEND_TABLE), and its region with --region (or AWS_DEFAULT_REGION)."
            )
            local = serve_record.find()
            if local is not None:
                message += (
                    f" A `befriend serve` runs on this machine: --endpoint-url "
                    f"{local.endpoint} reaches it."
                )
        return message
    if code in REFUSED_CREDENTIALS:
        return (
            f"AWS refused the credentials ({code}: {said}). They are wrong or expired: "
            "renew them (e.g. `aws sso login`), or check AWS_PROFILE, AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN."
        )
    if code in DENIED:
        return (
            f"these AWS credentials may not call {operation or 'this'} ({code}: {said}): "
            "use credentials of the account and role that run the stack."
        )
    return None


class AccessGroup(click.Group):
    """The `befriend` group: failures to reach AWS end in one message, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = explain(exc, ctx.meta.get(TARGET))
            if message is None:
                raise
            raise AccessError(message) from exc
