"""The `befriend` command group and what its commands share: the table options, the
playbook option, opening the store and a progress bar.

Commands that need AWS open the table with `open_store`; which table, and where, is
decided in `access` (the endpoint given, AWS, or the running `befriend serve`), and the
group turns failures to reach it into one message each."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

from befriend.cli.access import AccessGroup, resolve

if TYPE_CHECKING:
    from befriend.core.playbook import Playbook
    from befriend.store import Store


@click.group(cls=AccessGroup)
def main() -> None:
    """befriend: a preference center and consent ledger."""


def open_store(table: str, endpoint_url: str | None, region: str) -> Store:
    """The table the operator names (or the running `befriend serve`'s, see `access`); a
    loopback (moto) endpoint needs no real credentials."""
    from befriend.store import Store

    target = resolve(table, endpoint_url, region)
    local_credentials(target.endpoint_url)
    from befriend.config import SettingsError, counter_shards

    try:
        shards = counter_shards()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    return Store(
        target.table, endpoint_url=target.endpoint_url, region=target.region, counter_shards=shards
    )


def local_credentials(endpoint_url: str | None) -> None:
    """moto on loopback takes any credentials, but boto3 will not sign without some."""
    if endpoint_url and urlsplit(endpoint_url).hostname in ("127.0.0.1", "localhost", "::1"):
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "local")


# befriend.credentials.keys.ROLES, spelled out so that parsing options does not import boto3.
KEY_ROLES = ("reader", "ingest", "admin")
Command = TypeVar("Command", bound=Callable[..., None])
DYNAMODB_ENDPOINT = "DynamoDB endpoint, e.g. the moto endpoint `befriend serve` prints."


def table_options(command: Command) -> Command:
    """--table, --endpoint-url and --region, as `ledger verify` takes them."""
    table = click.option("--table", envvar="BEFRIEND_TABLE", default="befriend", show_default=True)
    return table(aws_options(DYNAMODB_ENDPOINT)(command))


def aws_options(endpoint_help: str) -> Callable[[Command], Command]:
    """--endpoint-url (what it reaches said by `endpoint_help`) and --region."""
    region = click.option(
        "--region", envvar="AWS_DEFAULT_REGION", default="eu-west-1", show_default=True
    )
    endpoint = click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help=endpoint_help)
    return lambda command: endpoint(region(command))


def folder_option(name: str, default: str, help: str) -> Callable[[Command], Command]:
    """An option naming a folder, `default` (relative to where the command runs) if not given."""
    return click.option(
        name,
        default=Path(default),
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=help,
    )


def stamp(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def playbook_option(command: Command) -> Command:
    """--playbook, as `consent sweep` takes it: labels and stages come from the playbook."""
    return click.option(
        "--playbook",
        "playbook_file",
        envvar="BEFRIEND_PLAYBOOK",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The playbook in force, as the API reads it (default: the packaged one).",
    )(command)


def load_playbook_file(path: Path | None) -> Playbook:
    from befriend.config import PACKAGE
    from befriend.core.errors import PlaybookError
    from befriend.core.playbook import load_playbook

    try:
        return load_playbook((path or PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    except (OSError, PlaybookError) as exc:
        raise click.BadParameter(str(exc), param_hint="'--playbook'") from exc


def people_bar() -> Any:
    """A progress bar on stderr counting people read: there is no cheap count to aim at."""
    return click.progressbar(length=0, label="people read", show_pos=True, file=sys.stderr)
