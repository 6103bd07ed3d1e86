"""Reports for marketers: which there are, and each one as JSON, CSV or an SVG chart.

Reports read the counters only, never people, so a report costs the same whoever is
counted. They still carry business figures: every answer is `Cache-Control: no-store`.

Each answers in the language of the dashboard's page (`web/language.py` `page_language`:
`?lang=`, the page's path, `Accept-Language`, the default): the core says its words
through that language's catalog and the playbook's labels are that language's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING

from flask import Response, request

from befriend.core.errors import InvalidInput
from befriend.core.words import N_, Joined, Phrase
from befriend.i18n.catalogs import translations
from befriend.web.answers import json_answer
from befriend.web.language import in_language, page_language
from befriend.web.marketer.audit import record
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.problems import Problem, bad_parameter
from befriend.web.services import services

if TYPE_CHECKING:
    from befriend.core.reports import Report, Section

FORMATS = ("json", "csv", "svg")
NO_STORE = {"Cache-Control": "no-store"}
# A chart needs its own inline style sheet and nothing else: no script, and no loads at
# all, so nothing in it could send anything anywhere.
SVG_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'; sandbox"
)


@bp.get("/reports")
@requires("reader")
def list_reports() -> Response:
    # The reports' code (the core's tables, the recount, the spreadsheet) is imported by
    # the routes that use it, not at the API's cold start, which a visitor waits for.
    from befriend.core.reports import catalogue

    code = page_language()
    reports = [
        {**entry, "url": f"/api/reports/{entry['id']}"} for entry in catalogue(translations(code))
    ]
    return json_answer({"reports": reports}, headers={**NO_STORE, **in_language(code)})


@bp.get("/reports/<name>")
@requires("reader")
def report(name: str) -> Response:
    """One report over `from`..`to` (the last four weeks by default), as `format`.

    `section` narrows it to one of its sections; an SVG chart draws one section only, the
    first unless `section` names another."""
    from befriend.core.reports import REPORTS, Period
    from befriend.reports.recount import read_report

    if name not in REPORTS:
        raise Problem(
            404,
            "unknown-report",
            N_("There is no such report"),
            N_("Reports: %(reports)s"),
            {"reports": _names()},
        )
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise bad_parameter("format", N_("must be json, csv or svg"))
    s = services()
    today = s.clock().astimezone(UTC).date()
    try:
        period = Period.parse(request.args.get("from"), request.args.get("to"), today)
    except InvalidInput as exc:
        wrong = tuple(
            Phrase(
                "%(field)s %(message)s", {"field": e.field, "message": Phrase(e.template, e.values)}
            )
            for e in exc.errors
        )
        raise Problem(
            400,
            "invalid-parameter",
            N_("The period is not valid"),
            "%(errors)s.",
            {"errors": Joined(wrong)},
            errors=exc.errors,
        ) from exc
    code = page_language()
    words = translations(code)
    built = read_report(s.store, s.playbook.in_language(code), name, period, today, words)
    asked = request.args.get("section")
    chosen = built.section(asked)
    if chosen is None:
        ids = ", ".join(x.id for x in built.sections)
        raise bad_parameter(
            "section", N_("must be one of the report's sections: %(sections)s"), sections=ids
        )
    sections = built.sections if asked is None else (chosen,)
    if fmt != "svg":  # a chart draws what its JSON already gave out
        record("reports.read", subject=f"{built.id} {built.first}..{built.last}")
    stem = f"befriend-{built.id}-{built.first.isoformat()}-{built.last.isoformat()}"

    if fmt == "csv":
        return Response(
            sections_csv(sections),
            mimetype="text/csv",
            headers={
                **NO_STORE,
                **in_language(code),
                "Content-Disposition": f'attachment; filename="{stem}.csv"',
            },
        )
    if fmt == "svg":
        from befriend.reports.charts import svg  # pygal loads only when a chart is drawn

        return Response(
            svg(built, chosen, words),
            mimetype="image/svg+xml",
            headers={
                **NO_STORE,
                **in_language(code),
                "Content-Security-Policy": SVG_POLICY,
                "Content-Disposition": f'inline; filename="{stem}-{chosen.id}.svg"',
            },
        )
    return json_answer(
        _narrowed(built, sections).as_json(), headers={**NO_STORE, **in_language(code)}
    )


def sections_csv(sections: Sequence[Section]) -> str:
    """Sections as one spreadsheet-safe CSV: one section is its header row and rows; with
    several, each block starts with a row holding the section's title, and an empty line
    comes between blocks."""
    from befriend.reports.spreadsheet import csv_text

    if len(sections) == 1:
        return csv_text(sections[0].columns, sections[0].rows)
    return "\r\n".join(
        csv_text((section.title,), ()) + csv_text(section.columns, section.rows)
        for section in sections
    )


def _narrowed(built: Report, sections: tuple[Section, ...]) -> Report:
    from befriend.core.reports import Report

    if sections == built.sections:
        return built
    return Report(
        built.id, built.title, built.description, built.first, built.last, sections, built.notes
    )


def _names() -> str:
    from befriend.core.reports import REPORTS

    return ", ".join(REPORTS)
