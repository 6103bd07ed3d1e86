"""Every benchmark in turn, then the targets they met and missed: what `make bench` runs.

    .venv/bin/python bench/all.py            (half an hour or so; rewrites docs/benchmarks.md)
    .venv/bin/python bench/all.py --quick    (a short trial of each; leaves the doc alone)

Each benchmark is a script of its own, runnable alone, whose docstring says what it
measures, what is real and what is synthetic; each rewrites its own section of
docs/benchmarks.md. This one runs them one after the other in one process (the engine
first, while nothing else has filled the heap; report scaling last, its 100,000 people the
most memory), then writes the "Targets" section: every target with its verdict, and
docs/scale.md from the figures they wrote.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

# `bench` is imported as a package of the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    address_timing,
    build_and_package,
    cold_start,
    cost,
    dispatch,
    doc,
    engine,
    gate,
    import_throughput,
    report_scaling,
    scale,
    sweep,
    warm,
    webhooks,
)

TITLE = "Targets"
Benchmark = Callable[[Sequence[str] | None], list[doc.Verdict]]
STEPS: tuple[tuple[str, Benchmark], ...] = (
    ("engine", engine.main),
    ("cold start", cold_start.main),
    ("warm overhead", warm.main),
    ("cost per action", cost.main),
    ("site build and package", build_and_package.main),
    ("address timing", address_timing.main),
    ("sweep reads", sweep.main),
    ("import throughput", import_throughput.main),
    ("send gate", gate.main),
    ("dispatcher throughput", dispatch.main),
    ("webhooks out", webhooks.main),
)


def scaling_verdicts() -> list[str]:
    """The verdict lines report_scaling wrote into its section."""
    text = doc.DOC.read_text(encoding="utf-8")
    found = re.search(rf"^## {report_scaling.TITLE}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    lines = found.group(1).splitlines() if found else []
    return [line for line in lines if line.startswith("- ") and "**" in line]


def main(argv: Sequence[str] | None = None) -> None:
    args = doc.options(__doc__, quick="a short trial of each").parse_args(argv)
    options = [*(["--quick"] if args.quick else []), *(["--no-doc"] if args.no_doc else [])]
    started = time.perf_counter()
    verdicts: list[tuple[str, doc.Verdict]] = []
    took: list[str] = []
    for name, run in STEPS:
        doc.say(f"=== {name}")
        began = time.perf_counter()
        verdicts += [(name, v) for v in run(options)]
        took.append(f"{name} {time.perf_counter() - began:.0f} s")
    doc.say("=== report scaling")
    began = time.perf_counter()
    report_scaling.main(options)
    took.append(f"report scaling {time.perf_counter() - began:.0f} s")
    total = time.perf_counter() - started
    trial = args.quick or args.no_doc

    lines = [
        f"Summary of the sections below, measured {date.today().isoformat()} by "
        f"`bench/all.py` (`make bench`) in {total / 60:.1f} minutes ({', '.join(took)}). "
        "Every figure is measured on this machine against moto; each section says against "
        "what baseline, and what moto does differently from DynamoDB where it matters.",
        "",
        *doc.table(
            ["benchmark", "target", "verdict", "figures"],
            [
                [name, v.target, f"**{'met' if v.met else 'not met'}**", v.figures]
                for name, v in verdicts
            ],
            right=4,
        ),
        *([] if trial else ["", "Report scaling, from its section:", "", *scaling_verdicts()]),
    ]
    doc.publish(TITLE, lines, trial=trial)
    if not trial:
        scale.main()  # docs/scale.md, from the figures just written


if __name__ == "__main__":
    main()
