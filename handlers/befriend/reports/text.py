"""Reports as people read them outside the API: a terminal table, CSV, and one HTML page.

Each renders the same `Report` the API answers with, so a figure is the same in every
format. The HTML page stands alone: inline CSS, charts as inline SVG, no script and no
address outside the page, every text escaped.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html.parser import HTMLParser

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from befriend.core.reports import Cell, Report, Section
from befriend.reports.spreadsheet import csv_text

MISSING = "–"  # a figure that has no meaning here, e.g. a rate out of nothing
WIDTH = 100
Charts = Callable[[Report, Section], str]


def cell_text(value: Cell) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        # Rates are tenths, but a complaint rate is read against a bar of 0.1%: hundredths.
        return f"{value:.1f}" if round(value, 1) == value else f"{value:.2f}"
    return str(value)


def numeric_columns(section: Section) -> list[bool]:
    """Which columns hold figures (right-aligned): every cell a number or missing, and at
    least one a number. The first column always holds labels."""
    out = []
    for n in range(len(section.columns)):
        cells = [row[n] for row in section.rows]
        figures = [c for c in cells if c is not None]
        out.append(
            n > 0
            and bool(figures)
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in figures)
        )
    return out


# --- terminal ---


def table_text(reports: Sequence[Report], width: int = WIDTH) -> str:
    """Every report as plain text: a heading, then each section's table, then the notes."""
    return "\n\n".join(_report_text(report, width) for report in reports)


def _report_text(report: Report, width: int) -> str:
    heading = f"{report.title} ({report.first.isoformat()} to {report.last.isoformat()})"
    lines = [heading, "=" * len(heading), *textwrap.wrap(report.description, width)]
    for section in report.sections:
        lines += ["", section.title, "-" * len(section.title)]
        lines += textwrap.wrap(section.description, width)
        lines.append("")
        lines += _grid(section) if section.rows else ["(nothing in this period)"]
    if report.notes:
        lines.append("")
        for note in report.notes:
            lines += textwrap.wrap(note, width, initial_indent="* ", subsequent_indent="  ")
    return "\n".join(lines)


def _grid(section: Section) -> list[str]:
    figures = numeric_columns(section)
    rows = [list(section.columns), *([cell_text(c) for c in row] for row in section.rows)]
    widths = [max(len(row[n]) for row in rows) for n in range(len(section.columns))]

    def line(cells: Sequence[str]) -> str:
        placed = (
            text.rjust(w) if right else text.ljust(w)
            for text, w, right in zip(cells, widths, figures, strict=True)
        )
        return "  ".join(placed).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [line(rows[0]), rule, *(line(row) for row in rows[1:])]


# --- CSV ---


def report_csv(reports: Sequence[Report]) -> str:
    """Every section as a block: a title row, the headings, the rows; a blank line between
    blocks. A report's notes follow its sections as a block of their own. Text that a
    spreadsheet would run as a formula is defused (see `spreadsheet`)."""
    blocks = []
    for report in reports:
        period = f"{report.first.isoformat()} to {report.last.isoformat()}"
        for section in report.sections:
            title = csv_text([f"{report.title}: {section.title} ({period})"], [])
            blocks.append(title + csv_text(section.columns, section.rows))
        if report.notes:
            blocks.append(
                csv_text([f"{report.title}: notes ({period})"], [[n] for n in report.notes])
            )
    return "\r\n".join(blocks)


# --- HTML ---

PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ heading }}</title>
<style>
  :root { color: #1d1d1f; background: #fff; }
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         margin: 0 auto; padding: 1.5rem; max-width: 72rem; }
  header { border-bottom: 2px solid #d2d2d7; margin-bottom: 1.5rem; }
  h1 { font-size: 1.75rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.4rem; margin: 2.5rem 0 .25rem; border-top: 1px solid #d2d2d7;
       padding-top: 1.5rem; }
  h3 { font-size: 1.1rem; margin: 1.75rem 0 .25rem; }
  p { margin: .25rem 0 .75rem; max-width: 48rem; }
  .meta { color: #515154; font-size: .9rem; }
  nav ul { padding-left: 1.25rem; }
  a { color: #0b57d0; }
  figure { margin: 1rem 0; }
  figure svg { display: block; width: 100%; max-width: 56rem; height: auto; }
  .table { overflow-x: auto; }
  table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: .5rem 0 1rem; }
  th, td { padding: .3rem .75rem; border-bottom: 1px solid #e5e5ea; text-align: left;
           vertical-align: top; }
  thead th { border-bottom: 2px solid #aeaeb2; }
  .num { text-align: right; }
  .none { color: #6e6e73; }
  ul.notes { padding-left: 1.25rem; }
  @media print { h2 { break-before: page; } figure, table { break-inside: avoid; } }
</style>
</head>
<body>
<header>
  <h1>{{ heading }}</h1>
  <p class="meta">Generated {{ generated }}.
  {%- if reports|length > 1 %} {{ reports|length }} reports.{% endif %}</p>
</header>
{%- if reports|length > 1 %}
<nav aria-label="Reports">
  <ul>
  {%- for r in reports %}
    <li><a href="#{{ r.anchor }}">{{ r.report.title }}</a></li>
  {%- endfor %}
  </ul>
</nav>
{%- endif %}
<main>
{%- for r in reports %}
<article id="{{ r.anchor }}">
  <h2>{{ r.report.title }}</h2>
  <p class="meta">{{ r.period }}</p>
  <p>{{ r.report.description }}</p>
  {%- for s in r.sections %}
  <section id="{{ r.anchor }}-{{ s.section.id }}">
    <h3>{{ s.section.title }}</h3>
    <p>{{ s.section.description }}</p>
    {%- if s.section.rows %}
    {%- if s.chart %}
    <figure>{{ s.chart }}</figure>
    {%- endif %}
    <div class="table">
    <table>
      <thead><tr>
      {%- for heading in s.section.columns %}
        <th scope="col"{% if s.figures[loop.index0] %} class="num"{% endif %}>{{ heading }}</th>
      {%- endfor %}
      </tr></thead>
      <tbody>
      {%- for row in s.rows %}
        <tr>
        {%- for value, kind in row %}
          {%- if loop.first %}
          <th scope="row">{{ value }}</th>
          {%- else %}
          <td{% if kind %} class="{{ kind }}"{% endif %}>{{ value }}</td>
          {%- endif %}
        {%- endfor %}
        </tr>
      {%- endfor %}
      </tbody>
    </table>
    </div>
    {%- else %}
    <p class="none">Nothing in this period.</p>
    {%- endif %}
  </section>
  {%- endfor %}
  {%- if r.report.notes %}
  <ul class="notes">
  {%- for note in r.report.notes %}
    <li>{{ note }}</li>
  {%- endfor %}
  </ul>
  {%- endif %}
</article>
{%- endfor %}
</main>
</body>
</html>
"""

_ENV = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
# What a chart needs no prologue for inside HTML.
_PROLOGUE = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE)
# What a chart inside the page must never hold: something that runs, embeds or fetches.
_REFUSED_TAGS = frozenset({"script", "foreignobject", "iframe", "object", "embed", "image"})
_ADDRESS_ATTRIBUTES = frozenset({"href", "xlink:href", "src"})
_FETCHING_STYLE = re.compile(r"@import|url\(\s*[\"']?(?!#)", re.IGNORECASE)


class UnsafeChart(ValueError):
    """A chart came back with a script, an event handler, embedded content or a reference
    to something outside the page."""


class _ChartCheck(HTMLParser):
    """Walks a chart's tags and attributes (never its text, which may quote anything)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refused: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        if tag in _REFUSED_TAGS:
            self.refused.append(f"<{tag}>")
        for name, value in attrs:
            text = (value or "").strip()
            if name.startswith("on"):
                self.refused.append(f"the {name} handler")
            elif name in _ADDRESS_ATTRIBUTES and not text.startswith("#"):
                self.refused.append(f"{name}={text!r}")
            elif name == "style" and _FETCHING_STYLE.search(text):
                self.refused.append(f"style={text!r}")
            elif text.lower().startswith("javascript:"):
                self.refused.append(f"{name}={text!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        found = _FETCHING_STYLE.search(data) if self._in_style else None
        if found:
            self.refused.append(f"{found[0]!r} in a style sheet")


def html_page(
    reports: Sequence[Report], generated: datetime, charts: Charts, organisation: str = ""
) -> str:
    """One self-contained HTML page with every report: title, period, when it was made, and
    for each section its chart (inline SVG from `charts`) above its table."""
    heading = f"{organisation}: reports" if organisation else "Reports"
    if len(reports) == 1:
        heading = f"{heading}: {reports[0].title}"
    context = {
        "heading": heading,
        "generated": generated.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "reports": [
            {
                "report": report,
                "anchor": f"report-{report.id}",
                "period": f"{report.first.isoformat()} to {report.last.isoformat()}",
                "sections": [_section(report, section, charts) for section in report.sections],
            }
            for report in reports
        ],
    }
    return _ENV.from_string(PAGE).render(context)


def _section(report: Report, section: Section, charts: Charts) -> dict[str, object]:
    chart = _inline_svg(charts(report, section)) if section.rows else None
    figures = numeric_columns(section)

    def kind(n: int, value: Cell) -> str:
        return " ".join(k for k, on in (("num", figures[n]), ("none", value is None)) if on)

    return {
        "section": section,
        "figures": figures,
        "rows": [[(cell_text(c), kind(n, c)) for n, c in enumerate(row)] for row in section.rows],
        "chart": chart,
    }


def _inline_svg(svg: str) -> Markup:
    """The chart's SVG, without the XML prologue that only a standalone file needs. It is
    built from escaped text by `charts`, so it goes in as markup; anything that could run
    or fetch is refused rather than trusted."""
    body = _PROLOGUE.sub("", svg, count=1)
    check = _ChartCheck()
    check.feed(body)
    check.close()
    if check.refused:
        raise UnsafeChart(f"a chart holds {check.refused[0]}; it must stand alone")
    return Markup(body)  # noqa: S704 - checked above; built by `charts` from escaped text
