"""The marketer's reports: the list, and each report as JSON, CSV or an SVG chart."""

from __future__ import annotations

from typing import Any

from befriend.core.contract import answers
from befriend.core.reports import MAX_DAYS, REPORTS
from befriend.web.openapi.blocks import CONTENT_LANGUAGE, LANG, Schema, answer, json_body
from befriend.web.openapi.components import ref
from befriend.web.openapi.marketer import marketer_operation

NO_STORE: Schema = {
    "required": True,
    "description": "Reports carry business figures: never cached",
    "schema": {"const": "no-store"},
}


def _report_paths() -> dict[str, Any]:
    def op(operation_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> Schema:
        return marketer_operation(operation_id, summary, "reader", responses, **extra)

    day = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    return {
        "/api/reports": {
            "get": op(
                "listReports",
                "The reports there are",
                {
                    "200": json_body(
                        ref(answers.ReportList),
                        "Every report, with where to read it",
                        headers={"Cache-Control": NO_STORE, "Content-Language": CONTENT_LANGUAGE},
                    )
                },
                parameters=[LANG],
            )
        },
        "/api/reports/{name}": {
            "get": op(
                "getReport",
                "A report as JSON, CSV or an SVG chart",
                {
                    "200": {
                        "description": "The report, or the section asked for",
                        "headers": {
                            "Cache-Control": NO_STORE,
                            "Content-Language": CONTENT_LANGUAGE,
                            "Content-Disposition": {
                                "description": "With format=csv an attachment "
                                "befriend-<report>-<from>-<to>.csv; with format=svg inline",
                                "schema": {
                                    "type": "string",
                                    "pattern": '^(attachment|inline); filename="befriend-',
                                },
                            },
                            "Content-Security-Policy": {
                                "description": "With format=svg: no script and no loads; the "
                                "chart's own inline styles only",
                                "schema": {"type": "string", "pattern": "default-src 'none'"},
                            },
                        },
                        "content": {
                            "application/json": {"schema": ref(answers.Report)},
                            "text/csv": {
                                "schema": {
                                    "type": "string",
                                    "minLength": 1,
                                    "description": "One section: its header row, then its "
                                    "rows. Several: for each, a row with its title, the header "
                                    "row and the rows, with an empty line between sections. A "
                                    "text cell starting with =, +, -, @, tab or CR gets a "
                                    "leading apostrophe, so no spreadsheet runs it as a "
                                    "formula; numbers stay numbers.",
                                }
                            },
                            "image/svg+xml": {
                                "schema": {
                                    "type": "string",
                                    "pattern": "^<svg ",
                                    "description": "One section as a chart, with a <title> and "
                                    "<desc>; no script and no external reference.",
                                }
                            },
                        },
                    },
                    "400": answer("Problem"),
                    "404": answer("Problem"),
                },
                parameters=[
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": list(REPORTS)},
                    },
                    {
                        "name": "from",
                        "in": "query",
                        "required": False,
                        "description": "The first day (default: 27 days before `to`), not "
                        f"before 2000-01-01; a period covers at most {MAX_DAYS} days",
                        "schema": day,
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "required": False,
                        "description": "The last day, included (default and latest: today, UTC)",
                        "schema": day,
                    },
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["json", "csv", "svg"], "default": "json"},
                    },
                    {
                        "name": "section",
                        "in": "query",
                        "required": False,
                        "description": "Only this section (its `id`). An SVG chart draws one "
                        "section: this one, or else the first",
                        "schema": {"type": "string", "minLength": 1},
                    },
                    LANG,
                ],
            )
        },
    }
