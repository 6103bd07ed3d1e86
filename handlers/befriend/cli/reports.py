"""The marketer reports in a terminal or one HTML file, and their counters' check."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from befriend.core.reports import Report
    from befriend.reports.recount import Difference


from befriend.cli.base import (
    load_playbook_file,
    main,
    open_store,
    people_bar,
    playbook_option,
    table_options,
)

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

    NAME is one of stages, transitions, permissions, unsubscribes, interests, influence
    and plays. The figures are those of `GET /api/reports/NAME` for the same period.
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


@reports.command("check")
@playbook_option
@table_options
def check_reports(
    playbook_file: Path | None, table: str, endpoint_url: str | None, region: str
) -> None:
    """Recount every person and compare with the counters; exit 1 on any difference.

    Reads every person (a scan): an operator's check, not something to run every minute.
    Changes written while it runs are not differences: each counter family is compared as
    of a moment no write moved it (a further pass reads only the people who changed).
    Exit 2 when writes kept moving a family through every pass, so it could not be checked.
    """
    from befriend.reports import recount

    pb = load_playbook_file(playbook_file)
    store = open_store(table, endpoint_url, region)
    with people_bar() as bar:
        result = recount.check(store, pb, datetime.now(UTC), bar.update)
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
@playbook_option
@table_options
def rebuild_reports(
    playbook_file: Path | None, table: str, endpoint_url: str | None, region: str
) -> None:
    """Recount every person and correct the counters of now to the recount.

    Safe while writes go on: each counter gets the difference between the recount and
    what it held at the same moment added to it, so a change written meanwhile keeps its
    own part. Exit 2 when writes kept moving a family, which is then left as it was.
    """
    from befriend.reports import recount

    pb = load_playbook_file(playbook_file)
    store = open_store(table, endpoint_url, region)
    with people_bar() as bar:
        result = recount.rebuild(store, pb, datetime.now(UTC), bar.update)
    click.echo(f"people counted: {result.people}")
    if result.corrected:
        click.echo(f"\n{len(result.corrected)} counter(s) corrected:")
        _differences(("counter", "was", "now"), result.corrected)
        click.echo()
    if result.unsettled:
        _unsettled(result.unsettled, recount.PASSES)
        sys.exit(2)
    click.echo(
        f"ok: counters rebuilt from {result.people} people, "
        f"{len(result.corrected)} corrected; `befriend reports check` confirms them"
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
