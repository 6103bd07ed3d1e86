"""What the commands of a registry of things with a secret share (`befriend keys`,
`webhooks`, `feedback-sources`): a new one printed with its secret, which is never shown
again; the registry listed as aligned columns; a missing one said on stderr, exit 1.

Where the table is and how it is reached (`befriend serve`, --endpoint-url, AWS, and what
to pass when none answers) is `open_store`'s, as for every command."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

import click


def keep_safe(secret: str) -> str:
    """The warning printed after a secret: it is shown this once."""
    return f"Keep the {secret} somewhere safe now: it cannot be shown again."


def shown_once(fields: Sequence[tuple[str, str]], *notes: str) -> None:
    """Print a new one's fields as `label: value`, the values aligned (on stdout, for a
    script to read), then `notes` on stderr: where the secret goes, that it is shown once."""
    width = max(len(label) for label, _ in fields) + 1
    for label, value in fields:
        click.echo(f"{label + ':':<{width}} {value}")
    for note in notes:
        click.echo(note, err=True)


def columns(head: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> None:
    """`rows` under `head`, each column as wide as its widest cell; `empty` when none."""
    if not rows:
        click.echo(empty)
        return
    lines = [head, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def missing(said: str) -> NoReturn:
    """No such one: say so on stderr (with where to find them) and exit 1."""
    click.echo(said, err=True)
    sys.exit(1)
