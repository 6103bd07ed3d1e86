"""A plain-text summary of a loaded playbook, as `befriend playbook check` prints it.

Pure: it takes a validated `Playbook` and returns text, so it is testable without click.
"""

from __future__ import annotations

from collections.abc import Sequence

from befriend.core.playbook import SCORES, SITE, Channel, Play, Playbook, Purpose
from befriend.core.rules import ALWAYS

INDENT = "  "


def summary(playbook: Playbook) -> str:
    """Every section of the playbook as aligned plain text, ending with a newline."""
    sections = [
        _heading(playbook),
        _channels(playbook),
        _purposes(playbook),
        _events(playbook),
        _stages(playbook),
        _circles(playbook),
        _plays(playbook),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _heading(playbook: Playbook) -> list[str]:
    org, policy = playbook.organisation, playbook.policy
    return _table(
        [
            ["organisation", f"{org.name} ({org.jurisdiction}, language {org.language})"],
            ["sender", org.sender],
            ["contact", org.contact],
            ["policy", f"version {policy.version}, at {policy.url}"],
            [
                "languages",
                ", ".join(f"{code} (policy {v})" for code, v in playbook.policy_versions.items()),
            ],
            ["topics", ", ".join(playbook.topics)],
            ["limit", f"a person may allow at most {playbook.max_per_week} contacts a week"],
            [
                "reports",
                f"loyal from a loyalty score of {playbook.reports.loyal_from:g}, influential "
                f"from an influence score of {playbook.reports.influential_from:g}",
            ],
        ],
        indent="",
    )


def _channels(playbook: Playbook) -> list[str]:
    rows = [[c.id, c.label, c.kind, _quiet(c), _cap(c)] for c in playbook.channels.values()]
    return [f"channels ({len(rows)})", *_table(rows)]


def _quiet(channel: Channel) -> str:
    hours = channel.quiet_hours
    if hours is None:
        return "no quiet hours"
    return f"quiet {hours.start:%H:%M}–{hours.end:%H:%M}"


def _cap(channel: Channel) -> str:
    return "no weekly cap" if channel.max_per_week is None else f"≤ {channel.max_per_week} a week"


def _purposes(playbook: Playbook) -> list[str]:
    everything = tuple(playbook.channels)
    rows = [
        [
            p.id,
            p.label,
            "all channels" if p.channels == everything else ", ".join(p.channels),
            "GPC opt-out" if p.gpc_opt_out else "",
            _renewal(p),
        ]
        for p in playbook.purposes.values()
    ]
    return [f"purposes ({len(rows)})", *_table(rows)]


def _renewal(purpose: Purpose) -> str:
    parts = []
    if purpose.refresh_after_days is not None:
        parts.append(f"ask again after {purpose.refresh_after_days} idle days")
    if purpose.lapse_after_days is not None:
        parts.append(f"lapses {purpose.lapse_after_days} days later")
    return ", ".join(parts)


def _events(playbook: Playbook) -> list[str]:
    if not playbook.events:
        return ["event types: none"]
    header = ["", *SCORES, "half-life"]
    rows = [
        [e.id, *(f"{e.weights.get(s, 0.0):g}" for s in SCORES), f"{e.half_life_days:g} days"]
        for e in playbook.events.values()
    ]
    lines = _table([header, *rows], align="<" + ">" * (len(SCORES) + 1))
    return [f"event types ({len(rows)}): weight of one event per score", *lines]


def _stages(playbook: Playbook) -> list[str]:
    if not playbook.stages:
        return ["stages: none"]
    rows = [[f"{n}.", s.id, s.label, s.rule.text] for n, s in enumerate(playbook.stages, start=1)]
    return [
        f"stages ({len(rows)}), in order; each stage also needs the rules of the stages before it",
        *_table(rows),
    ]


def _circles(playbook: Playbook) -> list[str]:
    if not playbook.circles:
        return ["circles: none"]
    rows = [[c.id, c.label, f"engagement ≥ {c.min_engagement:g}"] for c in playbook.circles]
    return [f"circles ({len(rows)}), by engagement", *_table(rows)]


def _plays(playbook: Playbook) -> list[str]:
    if not playbook.plays:
        return ["plays: none"]
    groups = [
        (
            stage.id,
            sorted(
                (p for p in playbook.plays.values() if stage.id in p.stages),
                key=lambda p: (-p.priority, p.id),
            ),
        )
        for stage in playbook.stages
    ]
    rows = [_play_row(p) for _, plays in groups for p in plays]
    widths = _widths(rows)
    lines = [f"plays ({len(playbook.plays)}), per stage, highest priority first"]
    for stage_id, plays in groups:
        lines.append(f"{INDENT}{stage_id}")
        if not plays:
            lines.append(f"{INDENT * 2}(no plays)")
        for play in plays:
            lines.append(_line(_play_row(play), widths, INDENT * 2))
            if play.asks is not None:
                lines.append(f"{INDENT * 3}asking: “{play.says}”")
    return lines


def _play_row(play: Play) -> list[str]:
    route = "on the page" if play.channel == SITE else f"{play.channel} × {play.purpose}"
    notes = []
    if play.asks is not None:
        notes.append(f"asks for {play.asks[0]} × {play.asks[1]}")
    if play.circles:
        notes.append("circles " + ", ".join(play.circles))
    if play.when is not ALWAYS:
        notes.append(f"when {play.when.text}")
    return [
        play.id,
        play.kind,
        route,
        ", ".join(play.interests) if play.interests else "any interest",
        f"priority {play.priority}",
        f"cooldown {play.cooldown_days} days",
        "; ".join(notes),
    ]


def _table(rows: Sequence[Sequence[str]], *, indent: str = INDENT, align: str = "") -> list[str]:
    widths = _widths(rows)
    return [_line(row, widths, indent, align) for row in rows]


def _widths(rows: Sequence[Sequence[str]]) -> list[int]:
    count = max((len(row) for row in rows), default=0)
    return [max((len(row[i]) for row in rows if i < len(row)), default=0) for i in range(count)]


def _line(row: Sequence[str], widths: Sequence[int], indent: str, align: str = "") -> str:
    """Cells padded to their column's width (`align` gives "<" or ">" per column)."""
    cells = []
    for i, cell in enumerate(row):
        if not widths[i]:
            continue  # a column empty in every row takes no room
        if align[i : i + 1] == ">":
            cells.append(cell.rjust(widths[i]))
        else:
            cells.append(cell.ljust(widths[i]))
    return (indent + "  ".join(cells)).rstrip()
