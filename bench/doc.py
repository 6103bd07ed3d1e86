"""What the benchmarks share: docs/benchmarks.md, where each writes its own section, the
line that says which machine measured the figures, how they report a target, and the
options and the ending every benchmark has (`options`, `publish`)."""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
# The order of the sections in the doc; a section written for the first time goes before
# the first of those that follow it, so the doc reads in this order whichever ran first.
ORDER = (
    "Targets",
    "Cold start",
    "Cost per action",
    "Warm overhead",
    "Engine",
    "Report scaling",
    "Sweep reads",
    "Import throughput",
    "Send gate",
    "Dispatcher throughput",
    "Webhooks out",
    "Site build and package",
    "Sign-up and link timing by address class",
    "Load",
    "Fuzzing",
)


@dataclass(frozen=True)
class Verdict:
    """One target of the issue: met or not, and the figures that say so."""

    target: str
    met: bool
    figures: str
    words: ClassVar[tuple[str, str]] = ("met", "not met")

    @property
    def word(self) -> str:
        return self.words[not self.met]

    def line(self) -> str:
        return f"- {self.target}: **{self.word}**: {self.figures}."


def machine(script: str, seconds: float | None = None, moto: str = "in process") -> str:
    """The first line of a section: when, by what, on which machine."""
    took = f"; {seconds:.0f} s in all" if seconds is not None else ""
    return (
        f"Measured {date.today().isoformat()} by `bench/{script}` (`make bench`): "
        f"Python {platform.python_version()}, {os.cpu_count()} CPU(s), moto "
        f"{version('moto')} {moto}{took}."
    )


def options(
    docstring: str | None, quick: str | None = "a short trial", runs: tuple[int, str] | None = None
) -> argparse.ArgumentParser:
    """The options every benchmark takes, described by its docstring's first paragraph:
    --no-doc, and --quick (`quick` says what it shortens) unless `quick` is None; --runs
    where `runs` gives its default and what is run. A benchmark adds its own."""
    summary = " ".join((docstring or "").split("\n\n")[0].split())
    parser = argparse.ArgumentParser(description=summary)
    if runs is not None:
        parser.add_argument("--runs", type=int, default=runs[0], help=runs[1])
    if quick is not None:
        parser.add_argument("--quick", action="store_true", help=f"{quick}; leaves the doc alone")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave the doc alone")
    return parser


def publish(title: str, lines: Sequence[str], *, trial: bool) -> None:
    """Print a benchmark's section; write it into docs/benchmarks.md unless it was a trial
    (figures from a shortened run would replace those of a full one)."""
    print("\n".join(["", f"## {title}", "", *lines]))
    if not trial:
        write_section(title, lines)
        say(f"written to {DOC.relative_to(ROOT)}")


def write_section(title: str, lines: Sequence[str]) -> None:
    """Replace the `## title` section of docs/benchmarks.md (or add it in its place)."""
    heading = f"## {title}"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    body = "\n".join([heading, "", *lines]).rstrip() + "\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body + "\n", text)
    else:
        later = ORDER[ORDER.index(title) + 1 :] if title in ORDER else ()
        found = [
            m.start() for t in later for m in re.finditer(rf"^## {re.escape(t)}\n", text, re.M)
        ]
        if found:
            at = min(found)
            text = text[:at] + body + "\n" + text[at:]
        else:
            text = text.rstrip() + "\n\n" + body
    DOC.write_text(text.rstrip() + "\n", encoding="utf-8")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> str:
    """The middle half of the values, in ms: how noisy the median is."""
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return f"{q[0] * 1000:.0f}–{q[2] * 1000:.0f}"


def table(head: Sequence[str], rows: Sequence[Sequence[object]], right: int = 1) -> list[str]:
    """A Markdown table; every column from `right` on is aligned right (figures)."""
    align = ["---" if i < right else "---:" for i in range(len(head))]
    return [
        "| " + " | ".join(head) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(str(c) for c in row) + " |" for row in rows),
    ]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
