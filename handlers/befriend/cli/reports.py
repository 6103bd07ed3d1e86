"""The marketer reports in a terminal or one HTML file, and their counters' check."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from befriend.core.playbook import Playbook
    from befriend.core.reports import Report
    from befriend.reports.recount import CheckResult, Difference, RebuildResult
    from befriend.store import Store
    from befriend.web.services import Services


from befriend.cli.base import (
    Command,
    load_playbook_file,
    main,
    open_store,
    people_bar,
    playbook_option,
    table_options,
)

REPORT_FORMATS = ("table", "json", "csv")
RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")


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
@playbook_option
@table_options
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

    NAME is one of stages, transitions, permissions, unsubscribes, interests, influence,
    plays, delivery, sources and megaphone. The figures are those of
    `GET /api/reports/NAME` for the same period.
    """
    import json

    from befriend.core.errors import InvalidInput
    from befriend.core.reports import REPORTS, Period
    from befriend.reports import recount
    from befriend.reports.text import report_csv, table_text

    if name is not None and name not in REPORTS:
        raise click.BadParameter(
            f"no report {name!r}; the reports are: {', '.join(REPORTS)}", param_hint="'NAME'"
        )
    now = datetime.now(UTC)
    try:
        period = Period.parse(first, last, now.date())
    except InvalidInput as exc:
        raise click.UsageError(f"bad period: {exc}") from exc
    pb = load_playbook_file(playbook_file)
    store = open_store(table, endpoint_url, region)
    if name is None:
        reports = recount.read_all(store, pb, period, now.date())
    else:
        reports = [recount.read_report(store, pb, name, period, now.date())]

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
    from befriend.reports.charts import svg
    from befriend.reports.text import html_page

    page = html_page(reports, now, svg, organisation)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise click.FileError(str(path), exc.strerror or str(exc)) from exc
    click.echo(f"ok: {len(reports)} report(s) with charts written to {path}", err=True)


@main.group()
def reports() -> None:
    """The report counters: recount every person to check them, or rebuild them."""


def recount_options(command: Command) -> Command:
    """--resume, --workers and --segments, as check and rebuild take them."""
    resume = click.option(
        "--resume",
        "run_id",
        metavar="RUN_ID",
        help="Go on with a run that stopped (a crash, Ctrl-C) from its pieces' checkpoints, "
        "counting no one twice; a finished run's result is shown again.",
    )
    workers = click.option(
        "--workers",
        type=click.IntRange(1, 64),
        default=4,
        show_default=True,
        help="Pieces of the scan read at the same time.",
    )
    segments = click.option(
        "--segments",
        type=click.IntRange(1, 1000),
        default=8,
        show_default=True,
        help="Parts of the parallel scan (a new run; a resumed one keeps its own).",
    )
    return resume(workers(segments(command)))


@reports.command("check")
@recount_options
@playbook_option
@table_options
def check_reports(
    run_id: str | None,
    workers: int,
    segments: int,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Recount every person and compare with the counters; exit 1 on any difference.

    Reads every person (a parallel scan in checkpointed pieces, as the work queue runs
    them in AWS): an operator's check, not something to run every minute. Changes written
    while it runs are not differences: each counter family is compared as of a moment no
    write moved it; families that writes moved during the scan are settled by further
    passes that read only the people who changed. Exit 2 when writes kept moving a family
    through every pass, so it could not be checked.
    """
    from befriend.reports.recount import CheckResult

    result = _recount(
        "check", run_id, workers, segments, playbook_file, table, endpoint_url, region
    )
    assert isinstance(result, CheckResult)
    click.echo(f"people counted: {result.people} ({result.passes} pass(es))")
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
    if result.gauges or result.series or result.rules_changed:
        click.echo(
            f"\nmismatch: {len(result.gauges)} counter(s) and {len(result.series)} stage "
            "series differ; `befriend reports rebuild` sets them right"
        )
    if result.unsettled:
        _unsettled(result.unsettled, result.passes)
        sys.exit(1 if result.gauges or result.series or result.rules_changed else 2)
    sys.exit(1)


@reports.command("rebuild")
@recount_options
@playbook_option
@table_options
def rebuild_reports(
    run_id: str | None,
    workers: int,
    segments: int,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Recount every person and correct the counters of now to the recount.

    Safe while writes go on: each counter gets the difference between the recount and
    what it held at the same moment added to it, so a change written meanwhile keeps its
    own part; a resumed or repeated run adds nothing twice. Exit 2 when writes kept moving
    a family, which is then left as it was.
    """
    from befriend.reports.recount import RebuildResult

    result = _recount(
        "rebuild", run_id, workers, segments, playbook_file, table, endpoint_url, region
    )
    assert isinstance(result, RebuildResult)
    click.echo(f"people counted: {result.people}")
    if result.corrected:
        click.echo(f"\n{len(result.corrected)} counter(s) corrected:")
        _differences(("counter", "was", "now"), result.corrected)
        click.echo()
    if result.unsettled:
        _unsettled(result.unsettled, result.passes)
        sys.exit(2)
    click.echo(
        f"ok: counters rebuilt from {result.people} people, "
        f"{len(result.corrected)} corrected; `befriend reports check` confirms them"
    )


def _recount(
    mode: str,
    run_id: str | None,
    workers: int,
    segments: int,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> CheckResult | RebuildResult:
    """Run (or resume) a recount's pieces here, with a progress bar, then settle in
    process what writes kept moving. Says the run's id first, so a stopped run can be
    resumed."""
    from befriend.jobs import fanout, recount_job
    from befriend.mailing.pieces import new_run

    pb = load_playbook_file(playbook_file)
    store = open_store(table, endpoint_url, region)
    now = datetime.now(UTC)
    run = None
    if run_id is not None:
        if not RUN_ID.fullmatch(run_id):
            raise click.BadParameter(
                "a run id is letters, digits, '.', '_' and '-' (at most 100)",
                param_hint="--resume",
            )
        run = recount_job.run_of(store, run_id)
        if run is not None and run.about["mode"] != mode:
            raise click.UsageError(
                f"run {run_id} is a {run.about['mode']}: resume it with "
                f"`befriend reports {run.about['mode']} --resume {run_id}`"
            )
    if run is None:  # a new run, or one that stopped before its first step was done
        run = new_run(recount_job.KIND, now, recount_job.about(mode, segments), run_id)
    resumed = (
        run_id is not None
        and run.about.get("segments") is not None
        and (store.run_start(run.id) is not None)
    )
    click.echo(f"run: {run.id}" + (" (resumed)" if resumed else ""))
    services = _services(store, pb, region)
    with people_bar() as bar:
        fanout.run_here(
            services, run, workers, lambda tally: bar.update(recount_job.figures(tally))
        )
        return recount_job.complete(store, pb, run, datetime.now(UTC), bar.update)


def _services(store: Store, playbook: Playbook, region: str) -> Services:
    """What a fanned-out piece is given. A recount reads the table only: the mail, bus and
    token parts are there for the type's sake and never open a client (they are lazy), and
    their key is a throwaway that signs nothing."""
    import secrets

    from jinja2 import Environment

    from befriend.aws.files import Files
    from befriend.bus.notify import Notifier
    from befriend.clock import system_clock
    from befriend.config import Settings
    from befriend.credentials.pseudonyms import Pseudonyms
    from befriend.credentials.tokens import Tokens
    from befriend.mailing.queue import MailQueue
    from befriend.mailing.ses import Mailer
    from befriend.web.services import Services

    unused = secrets.token_hex(32)
    return Services(
        settings=Settings(table=store.table, secret=unused, site_url="http://localhost"),
        store=store,
        clock=system_clock,
        mailer=Mailer(
            playbook.organisation.sender,
            playbook.organisation.name,
            Environment(autoescape=True),
            region=region,
        ),
        playbook=playbook,
        tokens=Tokens(unused, system_clock),
        pseudonyms=Pseudonyms(unused),
        notifier=Notifier(None, region=region),
        queue=MailQueue(name=f"{store.table}-unused", region=region),
        work=None,
        exports=Files(f"{store.table}-unused", region=region),
    )


def _unsettled(families: list[str], passes: int) -> None:
    click.echo(
        f"\nnot settled: writes moved the {', '.join(families)} counters during each of "
        f"{passes} passes, so they were left alone; run it again when the table is quieter"
    )


def _differences(headings: tuple[str, str, str], found: list[Difference]) -> None:
    rows = [headings, *((d.counter, str(d.kept), str(d.counted)) for d in found)]
    widths = [max(len(row[n]) for row in rows) for n in range(3)]
    for row in rows:
        label, kept, counted = row
        click.echo(
            f"  {label.ljust(widths[0])}  {kept.rjust(widths[1])}  {counted.rjust(widths[2])}"
        )
