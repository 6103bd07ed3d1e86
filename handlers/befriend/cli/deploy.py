"""Shipping to AWS: the Lambda package and the published site."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from befriend.cli.base import aws_options, folder_option, local_credentials, main


@main.command("package")
@folder_option("--out", "dist", "Folder to write befriend-lambda.zip into.")
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="A CPython 3.12 to compile the bytecode with (default: python3.12 on PATH).",
)
def package(out: Path, python: str | None) -> None:
    """Build the Lambda zip: befriend, the API's templates and the runtime dependencies.

    Dependencies are installed with pip for arm64 and Python 3.12, at the versions of this
    environment; boto3 and its dependencies are left to the Lambda runtime. With a Python
    3.12 to compile with, the zip carries its bytecode, which spares every cold start
    compiling what it imports; without one it holds sources only, and the command says so.
    Of Babel's locale data, only the playbook's languages' goes in. The budget is 7 MiB: a
    bigger zip is reported and the command exits 1.
    """
    from befriend.build.packaging import LIMIT, PackageError, build

    try:
        built = build(out, python=python)
    except (OSError, PackageError) as exc:
        click.echo(f"package error: {exc}", err=True)
        sys.exit(2)
    size = f"{built.size / 1_000_000:.1f} MB ({built.size} bytes)"
    if built.size > LIMIT:
        click.echo(f"too big: {built.path} is {size}, over the {LIMIT} byte limit", err=True)
        sys.exit(1)
    click.echo(f"ok: {built.path}, {built.files} files, {size}; limit {LIMIT} bytes")
    if built.bytecode is None:
        click.echo(f"{built.note}: sources only, compiled by every cold start")
    else:
        click.echo(built.note)


@main.command("publish-site")
@click.option("--bucket", required=True, help="The site's S3 bucket.")
@folder_option("--site", "site", "A folder `befriend build-site` built.")
@aws_options("S3 endpoint (e.g. moto).")
def publish_site(bucket: str, site: Path, endpoint_url: str | None, region: str) -> None:
    """Upload the built site to BUCKET, changing only what differs.

    Sets each file's Content-Type and Cache-Control (hashed assets: a year, immutable; pages
    and other files: no-cache), skips files whose bytes are already there, and removes
    objects the site no longer has. Refuses a folder that is not a befriend build.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from befriend.build.publish import PublishError, publish

    local_credentials(endpoint_url)
    client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
    try:
        done = publish(client, bucket, site, click.echo)
    except PublishError as exc:
        click.echo(f"publish error: {exc}", err=True)
        sys.exit(2)
    except (BotoCoreError, ClientError) as exc:
        click.echo(f"publish error: {bucket}: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"ok: s3://{bucket}: {len(done.upload)} uploaded, {len(done.unchanged)} unchanged, "
        f"{len(done.remove)} removed"
    )
