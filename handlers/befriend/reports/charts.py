"""A report section as an SVG chart, drawn with pygal.

The SVG stands alone: no script, no external style sheet or font, and no link anywhere, so
it is safe to serve from the API, to save, or to put in a page. It starts with a `<title>`
and a `<desc>` for screen readers, and the same section always draws the same bytes.

pygal is imported only when a chart is drawn: the API's Lambda never loads it until a
chart is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from befriend.core.reports import COUNT, PERCENT, Cell, Report, Section
from befriend.core.words import ENGLISH, N_, Words, say

WIDTH = 800
HEIGHT = 420
NO_DATA = N_("No data")
MAX_DAY_LABELS = 8
# Okabe-Ito hues, darkened where needed so each has at least 3:1 contrast on white.
COLOURS = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#8C6D00",
    "#6A3D9A",
    "#595959",
    "#000000",
)
FONTS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def svg(report: Report, section: Section, words: Words = ENGLISH) -> str:
    """`section` of `report` as a chart: a bar, stacked bar, horizontal bar or line chart.
    The report's own words are already in its language; `words` says the chart's few."""
    import pygal
    from pygal.etree import etree
    from pygal.style import Style

    labels, series = plotted(section)
    horizontal = section.chart == "hbar" or (
        section.chart != "line" and _crowded(labels, WIDTH - 120)
    )
    if horizontal:  # pygal draws the first label at the bottom
        labels = labels[::-1]
        series = [(name, values[::-1]) for name, values in series]
    if not any(v for _, values in series for v in values):
        series = []  # all zero or empty: say so rather than draw nothing
    chart_id = f"chart-{report.id}-{section.id}"
    style = Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1f1f1f",
        foreground_strong="#000000",
        foreground_subtle="#595959",
        opacity="1",
        opacity_hover=".85",
        transition="none",
        colors=COLOURS,
        font_family=FONTS,
        title_font_size=20,
        label_font_size=14,
        major_label_font_size=14,
        legend_font_size=14,
        value_font_size=13,
        value_label_font_size=13,
        tooltip_font_size=14,
        no_data_font_size=24,
    )
    if section.chart == "line":
        kind = pygal.Line
    elif section.chart == "stacked":
        kind = pygal.HorizontalStackedBar if horizontal else pygal.StackedBar
    else:
        kind = pygal.HorizontalBar if horizontal else pygal.Bar
    options: dict[str, Any] = {
        "style": style,
        "width": WIDTH,
        "height": _height(horizontal, len(labels), len(series), section.chart == "stacked"),
        "title": section.title,
        "js": [],
        # Stacked segments get an edge, to tell them apart where two colours are close.
        "css": [
            "file://style.css",
            "file://graph.css",
            f"inline:#{chart_id} .bar .rect {{ stroke: #ffffff; stroke-width: 1px; }}",
        ],
        "disable_xml_declaration": True,
        "no_data_text": words.gettext(NO_DATA),
        "legend_at_bottom": True,
        "legend_at_bottom_columns": min(4, max(1, len(series))),
        "show_legend": len(series) > 1,
        "truncate_legend": -1,
        "truncate_label": -1,
        "print_values": section.chart != "line" and len(series) == 1,
        "print_values_position": "top",
        "formatter": _printed,
        "show_y_guides": True,  # along the value axis, also when it runs across
        "show_x_guides": False,
        "stroke_style": {"width": 2.5},
        "margin": 16,
        "spacing": 12,
    }
    ticks = _ticks(series, stacked=section.chart == "stacked", room=options["print_values"])
    if ticks:
        options["y_labels"] = ticks
    if not series:
        options.update(show_y_labels=False, show_x_guides=False, show_y_guides=False)
    if section.chart == "line":
        options.update(_day_labels(len(labels)))
    chart = kind(**options)
    chart.uuid = f"{report.id}-{section.id}"  # deterministic ids; pygal draws a random one
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)

    def accessible(root: Any) -> Any:
        return _accessible(etree, root, chart_id, report, section, words)

    chart.add_xml_filter(accessible)
    return str(chart.render(is_unicode=True))


def plotted(section: Section) -> tuple[list[str], list[tuple[str, list[float | None]]]]:
    """The x labels and the series a chart of `section` shows: one series per numeric
    column. Text columns, totals (a row keyed `all`, a column of kind `total`) and
    percentages next to counts are left out, so nothing is counted twice and one axis has
    one unit. An empty cell is no value."""
    keys = section.keys or tuple("" for _ in section.rows)
    rows = [row for key, row in zip(keys, section.rows, strict=False) if key != "all"]
    labels = ["" if row[0] is None else str(row[0]) for row in rows]
    kinds = section.column_kinds
    numeric = [
        n
        for n in range(1, len(section.columns))
        if kinds[n] in (COUNT, PERCENT) and _numeric([row[n] for row in rows])
    ]
    counts = [n for n in numeric if kinds[n] == COUNT]
    columns = counts or numeric
    series = [(section.columns[n], [_value(row[n]) for row in rows]) for n in columns]
    return labels, series


def _printed(value: float | None) -> str:
    """A value printed on its bar: whole numbers without a point, nothing for zero."""
    return "" if not value else f"{value:g}"


def _numeric(cells: Sequence[Cell]) -> bool:
    values = [c for c in cells if c is not None]
    return bool(values) and all(
        isinstance(c, int | float) and not isinstance(c, bool) for c in values
    )


def _value(cell: Cell) -> float | None:
    if isinstance(cell, bool) or not isinstance(cell, int | float):
        return None
    return cell


def _crowded(labels: Sequence[str], width: int) -> bool:
    """Whether the labels would overlap side by side (about 8 px a character at 14 px)."""
    return bool(labels) and len(labels) * (max(len(x) for x in labels) * 8 + 8) > width


def _height(horizontal: bool, labels: int, series: int, stacked: bool) -> int:
    if not horizontal:
        return HEIGHT
    # A readable bar for every label (and series, side by side), within reason.
    bars = 1 if stacked else max(1, series)
    return max(HEIGHT, min(2400, 180 + labels * (bars * 16 + 14)))


def _ticks(
    series: list[tuple[str, list[float | None]]], *, stacked: bool, room: bool
) -> list[float]:
    """Whole-number axis labels from zero (counts are whole: no tick at 0.5 people), with
    `room` past the longest bar for its printed value."""
    values = [v for _, vs in series for v in vs if v is not None]
    if not values or any(not float(v).is_integer() for v in values):
        return []
    if stacked:
        rows = zip(*(vs for _, vs in series), strict=True)
        top = max(sum(v for v in row if v is not None and v > 0) for row in rows)
    else:
        top = max(values)
    bottom = min(0.0, min(values))
    step = _step((top - bottom) / 5)
    first = math.floor(bottom / step) * step
    last = math.ceil(max(top, 1) / step) * step
    if room and last == top:
        last += step
    return [float(first + n * step) for n in range(round((last - first) / step) + 1)]


def _step(rough: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at least `rough`."""
    scale = 1
    while True:
        for factor in (1, 2, 5):
            if factor * scale >= rough:
                return factor * scale
        scale *= 10


def _day_labels(days: int) -> dict[str, Any]:
    """Label at most a handful of days, a week apart once a period is longer than two."""
    if days <= MAX_DAY_LABELS:
        return {"x_label_rotation": 0}
    every = math.ceil(days / MAX_DAY_LABELS)
    if days > 14:
        every = math.ceil(every / 7) * 7
    return {
        "x_labels_major_every": every,
        "show_minor_x_labels": False,
        "x_label_rotation": 0,
        "show_dots": days <= 31,
    }


def _accessible(
    etree: Any, root: Any, chart_id: str, report: Report, section: Section, words: Words
) -> Any:
    """Title and description first, for screen readers; no script, no comment (pygal's
    carry a date and links)."""
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag is etree.Comment or child.tag == "script":
                parent.remove(child)
    period = say(
        words,
        # Translators: the days a chart covers, as ISO dates: "2026-11-01 to 2026-11-28".
        N_("%(first)s to %(last)s"),
        {"first": report.first.isoformat(), "last": report.last.isoformat()},
    )
    title = root.find("title")
    if title is None:
        title = etree.Element("title")
    else:
        root.remove(title)
    title.text = f"{report.title}: {section.title}"
    title.set("id", f"{chart_id}-title")
    desc = etree.Element("desc")
    desc.text = f"{section.description} ({period})"
    desc.set("id", f"{chart_id}-desc")
    root.insert(0, title)
    root.insert(1, desc)
    root.set("role", "img")
    root.set("aria-labelledby", f"{chart_id}-title")
    root.set("aria-describedby", f"{chart_id}-desc")
    return root
