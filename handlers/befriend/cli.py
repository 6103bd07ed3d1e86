"""The `befriend` command."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

if TYPE_CHECKING:
    from befriend.core.playbook import Playbook
    from befriend.core.reports import Report
    from befriend.reporting import Difference
    from befriend.store import Store

from befriend.core.errors import LedgerBroken


@click.group()
def main() -> None:
    """befriend: a preference center and consent ledger."""


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (loopback keeps it private to this machine).",
)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="Start with an empty table.")
@click.option(
    "--demo-people",
    default=40,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="How many demo people to seed.",
)
def serve(host: str, port: int, no_demo: bool, demo_people: int) -> None:
    """Run the API locally against moto, with a local outbox for mail."""
    from befriend.local import serve as run

    run(host, port, demo=0 if no_demo else demo_people)


@main.command("build-site")
@click.option(
    "--out",
    default=Path("site"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to build into; files an earlier build left there are removed.",
)
@click.option(
    "--playbook",
    "playbook_file",
    envvar="BEFRIEND_PLAYBOOK",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The playbook the pages describe (default: the packaged one).",
)
@click.option(
    "--templates",
    envvar="BEFRIEND_TEMPLATES",
    type=click.Path(file_okay=False, path_type=Path),
    help="Templates folder holding site/ (default: the one in this checkout).",
)
def build_site(out: Path, playbook_file: Path | None, templates: Path | None) -> None:
    """Render the static pages (templates/site/) from the playbook into OUT."""
    from jinja2 import TemplateError

    from befriend.config import PACKAGE, default_templates
    from befriend.core.errors import PlaybookError
    from befriend.core.playbook import load_playbook
    from befriend.sitegen import SiteError, build_site

    path = playbook_file or PACKAGE / "playbook.toml"
    try:
        loaded = load_playbook(path.read_text(encoding="utf-8"))
        written = build_site(loaded, templates or default_templates(), out)
    except (OSError, PlaybookError, SiteError, TemplateError) as exc:
        click.echo(f"build-site error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"ok: {len(written)} files in {out} (policy {loaded.policy.version})")


@main.command("seed-demo")
@click.option("--people", default=40, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--first",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Number of the first demo person (to add more to an earlier seed).",
)
@click.option("--table", envvar="BEFRIEND_TABLE", default="befriend", show_default=True)
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="DynamoDB endpoint (e.g. moto).")
@click.option("--region", envvar="AWS_DEFAULT_REGION", default="eu-west-1", show_default=True)
def seed_demo(people: int, first: int, table: str, endpoint_url: str | None, region: str) -> None:
    """Create demo people with plausible histories over the past months, in every stage."""
    import secrets

    from befriend.config import PACKAGE
    from befriend.core.playbook import load_playbook
    from befriend.demo import seed

    store = _store(table, endpoint_url, region)
    playbook = load_playbook((PACKAGE / "playbook.toml").read_text())
    # Evidence hashes of demo people are keyed with a throwaway secret: they are not real.
    with click.progressbar(length=people, label="demo people") as bar:
        ids = seed(
            store,
            playbook,
            secrets.token_urlsafe(32),
            datetime.now(UTC),
            people=people,
            progress=bar.update,
            first=first,
        )
    click.echo(f"ok: {len(ids)} demo people created in table {table}")


def _store(table: str, endpoint_url: str | None, region: str) -> Store:
    """The table the operator names; a loopback (moto) endpoint needs no real credentials."""
    from befriend.store import Store

    if endpoint_url and urlsplit(endpoint_url).hostname in ("127.0.0.1", "localhost", "::1"):
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "local")
    return Store(table, endpoint_url=endpoint_url, region=region)


@main.group()
def ledger() -> None:
    """The consent ledger."""


@ledger.command()
@click.option("--person", "person_id", help="Check one person only.")
@click.option("--table", envvar="BEFRIEND_TABLE", default="befriend", show_default=True)
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    help="DynamoDB endpoint, e.g. the moto endpoint `befriend serve` prints.",
)
@click.option("--region", envvar="AWS_DEFAULT_REGION", default="eu-west-1", show_default=True)
def verify(person_id: str | None, table: str, endpoint_url: str | None, region: str) -> None:
    """Check every hash chain; exit 1 naming the first bad entry."""
    from befriend.audit import verify_ledgers

    store = _store(table, endpoint_url, region)
    try:
        people, entries = verify_ledgers(store, [person_id] if person_id else None)
    except LedgerBroken as exc:
        click.echo(f"ledger broken: {exc}", err=True)
        sys.exit(1)
    click.echo(f"ok: {people} people, {entries} ledger entries, every chain verifies")


@main.group()
def playbook() -> None:
    """The playbook: channels, purposes, stages and plays."""


@playbook.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
def check(file: Path | None) -> None:
    """Validate a playbook FILE (default: the packaged one) and summarise it.

    Exits 2 with `playbook error: …`, naming the dotted key at fault, when it is wrong.
    """
    from befriend.config import PACKAGE
    from befriend.core.errors import PlaybookError
    from befriend.core.playbook import load_playbook
    from befriend.playbook_summary import summary

    path = PACKAGE / "playbook.toml" if file is None else file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        click.echo(f"playbook error: {path}: cannot read it ({reason})", err=True)
        sys.exit(2)
    try:
        loaded = load_playbook(text)
    except PlaybookError as exc:
        click.echo(f"playbook error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"ok: {path}")
    click.echo()
    click.echo(summary(loaded), nl=False)


@main.group()
def consent() -> None:
    """Scheduled consent work."""


@consent.command()
@click.option("--table", envvar="BEFRIEND_TABLE", default="befriend", show_default=True)
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="DynamoDB endpoint (e.g. moto).")
@click.option("--region", envvar="AWS_DEFAULT_REGION", default="eu-west-1", show_default=True)
@click.option(
    "--playbook",
    "playbook_file",
    envvar="BEFRIEND_PLAYBOOK",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The playbook in force, as the API reads it (default: the packaged one).",
)
@click.option(
    "--event-bus",
    envvar="BEFRIEND_EVENT_BUS",
    help="EventBridge bus for the changes the sweep makes.",
)
def sweep(
    table: str,
    endpoint_url: str | None,
    region: str,
    playbook_file: Path | None,
    event_bus: str | None,
) -> None:
    """Record lapsed permissions (source `expiry`) and stage moves that time has made."""
    from datetime import UTC, datetime

    from befriend.config import PACKAGE
    from befriend.core.playbook import load_playbook
    from befriend.notify import Notifier
    from befriend.sweeps import sweep_lapses

    store = _store(table, endpoint_url, region)
    playbook = load_playbook((playbook_file or PACKAGE / "playbook.toml").read_text())
    notifier = Notifier(event_bus, region=region) if event_bus else None
    with click.progressbar(length=0, label="people checked", show_pos=True) as bar:
        report = sweep_lapses(
            store, playbook, datetime.now(UTC), progress=bar.update, notifier=notifier
        )
    click.echo(
        f"ok: {report.people} people checked, {report.lapsed} permission(s) lapsed, "
        f"{report.moved} stage move(s) recorded"
        + (f", {report.failed} skipped after errors (see the log)" if report.failed else "")
    )
    if report.failed:
        sys.exit(1)


# befriend.keys.ROLES, spelled out so that parsing options does not import boto3.
KEY_ROLES = ("reader", "ingest", "admin")
Command = TypeVar("Command", bound=Callable[..., None])


def _table_options(command: Command) -> Command:
    """--table, --endpoint-url and --region, as `ledger verify` takes them."""
    command = click.option(
        "--region", envvar="AWS_DEFAULT_REGION", default="eu-west-1", show_default=True
    )(command)
    command = click.option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="DynamoDB endpoint, e.g. the moto endpoint `befriend serve` prints.",
    )(command)
    table = click.option("--table", envvar="BEFRIEND_TABLE", default="befriend", show_default=True)
    return table(command)


def _stamp(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@main.group()
def keys() -> None:
    """API keys for marketers and their systems: reader, ingest or admin."""


@keys.command("create")
@click.option("--role", type=click.Choice(KEY_ROLES), required=True, help="What the key may do.")
@click.option("--name", required=True, help='Who or what uses the key, e.g. "CRM sync".')
@_table_options
def create_key(role: str, name: str, table: str, endpoint_url: str | None, region: str) -> None:
    """Make a key and print it. It is shown this once: only its hash is stored."""
    from befriend.keys import Keys

    try:
        plain, key = Keys(_store(table, endpoint_url, region)).create(name, role, datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from exc
    click.echo(f"id:   {key.id}")
    click.echo(f"name: {key.name}")
    click.echo(f"role: {key.role}")
    click.echo(f"key:  {plain}")
    click.echo("Keep the key somewhere safe now: it cannot be shown again.", err=True)


@keys.command("list")
@_table_options
def list_keys(table: str, endpoint_url: str | None, region: str) -> None:
    """Every key, oldest first: id, name, role, when it was made and revoked."""
    from befriend.keys import Keys

    found = Keys(_store(table, endpoint_url, region)).all()
    if not found:
        click.echo("no keys yet; `befriend keys create` makes one")
        return
    rows = [("id", "name", "role", "created", "revoked")]
    rows += [(k.id, k.name, k.role, _stamp(k.created_at), _stamp(k.revoked_at)) for k in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo(line.rstrip())


@keys.command("revoke")
@click.argument("key_id")
@_table_options
def revoke_key(key_id: str, table: str, endpoint_url: str | None, region: str) -> None:
    """Revoke the key with KEY_ID (as `keys list` shows it); it stops working at once."""
    from befriend.keys import Keys

    key = Keys(_store(table, endpoint_url, region)).revoke(key_id, datetime.now(UTC))
    if key is None:
        click.echo(
            f"no key: no single key has the id {key_id!r}; `befriend keys list` shows them",
            err=True,
        )
        sys.exit(1)
    click.echo(f"revoked: {key.id} ({key.name}, {key.role}) at {_stamp(key.revoked_at)}")


def _playbook_option(command: Command) -> Command:
    """--playbook, as `consent sweep` takes it: labels and stages come from the playbook."""
    return click.option(
        "--playbook",
        "playbook_file",
        envvar="BEFRIEND_PLAYBOOK",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The playbook in force, as the API reads it (default: the packaged one).",
    )(command)


def _load_playbook(path: Path | None) -> Playbook:
    from befriend.config import PACKAGE
    from befriend.core.errors import PlaybookError
    from befriend.core.playbook import load_playbook

    try:
        return load_playbook((path or PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    except (OSError, PlaybookError) as exc:
        raise click.BadParameter(str(exc), param_hint="'--playbook'") from exc


REPORT_FORMATS = ("table", "json", "csv")


@main.command()
@click.argument("name", required=False)
@click.option(
    "--from", "first", metavar="YYYY-MM-DD", help="First day (default: four weeks up to --to)."
)
@click.option("--to", "last", metavar="YYYY-MM-DD", help="Last day (default: today, in UTC).")
@click.option(
    "--format",
    "output",
    type=click.Choice(REPORT_FORMATS),
    help="What to print: aligned tables, the API's JSON, or CSV "
    "(default: table, or nothing when --html is given).",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every report asked for to one self-contained HTML file, charts included.",
)
@_playbook_option
@_table_options
def report(
    name: str | None,
    first: str | None,
    last: str | None,
    output: str | None,
    html_file: Path | None,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Print the report NAME (default: every report) for a period, from the counters.

    NAME is one of stages, transitions, permissions, unsubscribes, interests, influence
    and plays. The figures are those of `GET /api/reports/NAME` for the same period.
    """
    import json

    from befriend import reporting
    from befriend.core.errors import InvalidInput
    from befriend.core.reports import REPORTS, Period
    from befriend.report_text import report_csv, table_text

    if name is not None and name not in REPORTS:
        raise click.BadParameter(
            f"no report {name!r}; the reports are: {', '.join(REPORTS)}", param_hint="'NAME'"
        )
    now = datetime.now(UTC)
    try:
        period = Period.parse(first, last, now.date())
    except InvalidInput as exc:
        raise click.UsageError(f"bad period: {exc}") from exc
    pb = _load_playbook(playbook_file)
    store = _store(table, endpoint_url, region)
    if name is None:
        reports = reporting.read_all(store, pb, period, now.date())
    else:
        reports = [reporting.read_report(store, pb, name, period, now.date())]

    if html_file is not None:
        _write_html(html_file, reports, now, pb.organisation.name)
    shown = output or (None if html_file is not None else "table")
    if shown == "json":
        body = reports[0].as_json() if name else [r.as_json() for r in reports]
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    elif shown == "csv":
        click.echo(report_csv(reports), nl=False)
    elif shown == "table":
        click.echo(table_text(reports))


def _write_html(path: Path, reports: list[Report], now: datetime, organisation: str) -> None:
    from befriend.charts import svg
    from befriend.report_text import html_page

    page = html_page(reports, now, svg, organisation)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise click.FileError(str(path), exc.strerror or str(exc)) from exc
    click.echo(f"ok: {len(reports)} report(s) with charts written to {path}", err=True)


@main.group()
def reports() -> None:
    """The report counters: recount every person to check them, or rebuild them."""


@reports.command("check")
@_playbook_option
@_table_options
def check_reports(
    playbook_file: Path | None, table: str, endpoint_url: str | None, region: str
) -> None:
    """Recount every person and compare with the counters; exit 1 on any difference.

    Reads every person (a scan): an operator's check, not something to run every minute.
    """
    from befriend import reporting

    pb = _load_playbook(playbook_file)
    store = _store(table, endpoint_url, region)
    with _people_bar() as bar:
        result = reporting.check(store, pb, datetime.now(UTC), bar.update)
    click.echo(f"people counted: {result.people}")
    if result.gauges:
        click.echo(f"\n{len(result.gauges)} counter(s) differ from the recount:")
        _differences(("counter", "kept", "counted"), result.gauges)
    if result.series:
        click.echo(f"\n{len(result.series)} stage(s) whose day-by-day changes do not add up:")
        _differences(("stage", "sum of days", "people now"), result.series)
    if result.rules_changed:
        click.echo(
            "\nthe playbook's plays, events or report bars changed since the counters were "
            "counted: play audiences and quadrants must be recounted"
        )
    if result.ok:
        click.echo("ok: every counter agrees with a recount of the people")
        return
    click.echo(
        f"\nmismatch: {len(result.gauges)} counter(s) and {len(result.series)} stage series "
        "differ; `befriend reports rebuild`, run when no writes are happening, sets them right"
    )
    sys.exit(1)


@reports.command("rebuild")
@_playbook_option
@_table_options
def rebuild_reports(
    playbook_file: Path | None, table: str, endpoint_url: str | None, region: str
) -> None:
    """Recount every person and replace the counters of now with the recount.

    Run it when no writes are happening: a change written while it runs can be lost from
    the counters. Then run `befriend reports check`.
    """
    from befriend import reporting

    pb = _load_playbook(playbook_file)
    store = _store(table, endpoint_url, region)
    click.echo(
        "Rebuilding: run this when no writes are happening; a change written meanwhile can "
        "be lost from the counters.",
        err=True,
    )
    with _people_bar() as bar:
        result = reporting.rebuild(store, pb, datetime.now(UTC), bar.update)
    click.echo(f"people counted: {result.people}")
    if result.corrected:
        click.echo(f"\n{len(result.corrected)} counter(s) corrected:")
        _differences(("counter", "was", "now"), result.corrected)
        click.echo()
    click.echo(
        f"ok: counters rebuilt from {result.people} people, "
        f"{len(result.corrected)} corrected; `befriend reports check` confirms them"
    )


def _people_bar() -> Any:
    """A progress bar on stderr counting people read: there is no cheap count to aim at."""
    return click.progressbar(length=0, label="people read", show_pos=True, file=sys.stderr)


def _differences(headings: tuple[str, str, str], found: list[Difference]) -> None:
    rows = [headings, *((d.counter, str(d.kept), str(d.counted)) for d in found)]
    widths = [max(len(row[n]) for row in rows) for n in range(3)]
    for row in rows:
        label, kept, counted = row
        click.echo(
            f"  {label.ljust(widths[0])}  {kept.rjust(widths[1])}  {counted.rjust(widths[2])}"
        )


# --- deploying: the Lambda package and the site's bucket ---


@main.command("package")
@click.option(
    "--out",
    default=Path("dist"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write befriend-lambda.zip into.",
)
def package(out: Path) -> None:
    """Build the Lambda zip: befriend, the API's templates and the runtime dependencies.

    Dependencies are installed with pip for arm64 and Python 3.12, at the versions of this
    environment; boto3 and its dependencies are left to the Lambda runtime. The target is
    under 5 MB: a bigger zip is reported and the command exits 1.
    """
    from befriend.packaging import LIMIT, PackageError, build

    try:
        built = build(out)
    except (OSError, PackageError) as exc:
        click.echo(f"package error: {exc}", err=True)
        sys.exit(2)
    size = f"{built.size / 1_000_000:.1f} MB ({built.size} bytes)"
    if built.size > LIMIT:
        click.echo(f"too big: {built.path} is {size}, over the {LIMIT} byte limit", err=True)
        sys.exit(1)
    click.echo(f"ok: {built.path}, {built.files} files, {size}; limit {LIMIT} bytes")


@main.command("publish-site")
@click.option("--bucket", required=True, help="The site's S3 bucket.")
@click.option(
    "--site",
    default=Path("site"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder `befriend build-site` built.",
)
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="S3 endpoint (e.g. moto).")
@click.option("--region", envvar="AWS_DEFAULT_REGION", default="eu-west-1", show_default=True)
def publish_site(bucket: str, site: Path, endpoint_url: str | None, region: str) -> None:
    """Upload the built site to BUCKET, changing only what differs.

    Sets each file's Content-Type and Cache-Control (hashed assets: a year, immutable; pages
    and other files: no-cache), skips files whose bytes are already there, and removes
    objects the site no longer has. Refuses a folder that is not a befriend build.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from befriend.publish import PublishError, publish

    if endpoint_url and urlsplit(endpoint_url).hostname in ("127.0.0.1", "localhost", "::1"):
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "local")  # moto on loopback needs no real credentials
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


# --- import and export of people (befriend.people_io) ---

IMPORT_HELP = """Bring in existing contacts from the CSV file FILE, naming where they came from.

\b
FILE is UTF-8 CSV with a header line; only `email` is required:
  email                   the address (checked as a sign-up checks it)
  name                    the person's name
  interests               topic ids, separated by ";" (e.g. cycling;gardening)
  permissions             channel:purpose pairs, separated by ";" (e.g. email:newsletter)
  consent_at              when they gave those permissions: ISO 8601 date or date-time
  consent_source          where they gave them (e.g. "shop checkout form")
  consent_policy_version  the policy version they agreed to
  consent_wording         the words they agreed to
Other columns are ignored (and named), so an export can be imported elsewhere.

\b
A row with consent evidence (consent_at and consent_source, with the policy version or
the wording) keeps its permissions, each recorded in the person's ledger with source
`import`, the file's SOURCE and the evidence, and given as of consent_at (consent older
than a purpose's refresh period is asked about again at once). A row without evidence is
imported with no permission at all, so the person can be asked once. Erased (suppressed)
addresses are never imported; an address already here is skipped, so importing the same
file again changes nothing. Rows that cannot be imported are listed with the reason
(bad email, unknown channel, purpose or interest, duplicate, bad date, suppressed) and
the command exits 1; the other rows are imported.

The suppression hashes are keyed with the deployment's secret: set BEFRIEND_SECRET, or
BEFRIEND_SECRET_ARN to the Secrets Manager secret, as the API has it.
"""


@main.command("import", help=IMPORT_HELP)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--source",
    "file_source",
    required=True,
    help='Where these contacts come from, kept in each ledger entry (e.g. "shop 2025").',
)
@_playbook_option
@_table_options
def import_people(
    file: Path,
    file_source: str,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    from befriend.config import SettingsError, signing_secret
    from befriend.people_io import ImportFileError, import_people, read_import_file
    from befriend.pseudonyms import Pseudonyms

    try:
        secret = signing_secret(os.environ, region)
    except SettingsError as exc:
        raise click.UsageError(f"{exc}: the API's secret keys the suppression hashes") from exc
    name = " ".join(file_source.split())
    if not name or len(name) > 200:
        raise click.BadParameter("give a short name (1 to 200 characters)", param_hint="--source")
    pb = _load_playbook(playbook_file)
    try:
        rows = read_import_file(file)
    except ImportFileError as exc:
        click.echo(f"import error: {exc}", err=True)
        sys.exit(2)
    store = _store(table, endpoint_url, region)
    with click.progressbar(length=len(rows), label="rows", show_pos=True, file=sys.stderr) as bar:
        report = import_people(
            store, pb, Pseudonyms(secret), rows, name, datetime.now(UTC), bar.update
        )
    if report.ignored_columns:
        click.echo(f"ignored columns: {', '.join(report.ignored_columns)}")
    without = report.imported - report.with_permissions
    click.echo(
        f"{report.rows} row(s) read: {report.imported} imported "
        f"({report.with_permissions} with permissions from consent evidence, {without} "
        f"without permission), {report.exists} already here (skipped), "
        f"{len(report.rejected)} rejected"
    )
    if report.dropped:
        click.echo(
            f"{report.dropped} row(s) listed permissions without consent evidence: "
            "imported with no permission"
        )
    if report.rejected:
        click.echo("\nrejected rows:")
        for rejected in report.rejected:
            click.echo(f"  line {rejected.line}: {rejected.reason}")
        sys.exit(1)
    click.echo(f"ok: {file} imported into table {table}")


@main.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(("csv", "jsonl")), default="csv", show_default=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (made readable by its owner only); default: standard output.",
)
@_playbook_option
@_table_options
def export_people(
    fmt: str,
    out: Path | None,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Export every confirmed person: stage, circle, interests and each permission.

    \b
    csv: one row a person, safe to open in a spreadsheet; interests separated by ";",
         and for each channel:purpose its state, since when and how (its source).
    jsonl: one JSON object a person, per line, permissions with their policy version.

    Reads every person (a scan) and writes them page by page: an operator's command.
    """
    from befriend.people_io import export_chunks

    pb = _load_playbook(playbook_file)
    store = _store(table, endpoint_url, region)
    exported = 0

    def counted(n: int) -> None:
        nonlocal exported
        exported += n
        bar.update(n)

    with _people_bar() as bar:
        chunks = export_chunks(store.every_person(datetime.now(UTC)), pb, fmt, counted)
        if out is None:
            for chunk in chunks:
                click.echo(chunk, nl=False)
        else:
            try:
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with open(fd, "w", encoding="utf-8", newline="") as handle:
                    for chunk in chunks:
                        handle.write(chunk)
            except OSError as exc:
                raise click.FileError(str(out), exc.strerror or str(exc)) from exc
    click.echo(f"ok: {exported} people exported as {fmt}" + (f" to {out}" if out else ""), err=True)
