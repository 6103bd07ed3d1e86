"""Running befriend on this machine: `serve`, `build-site`, `seed-demo`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from befriend.cli.base import folder_option, main, open_store, table_options


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (loopback keeps it private to this machine).",
)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="Start with an empty table.")
@click.option(
    "--demo-people",
    default=40,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="How many demo people to seed.",
)
def serve(host: str, port: int, no_demo: bool, demo_people: int) -> None:
    """Run the API locally against moto, with a local outbox for mail.

    Settings are read from the environment as in AWS (BEFRIEND_COUNTER_SHARDS among them);
    the site URL is this server's, the secret a throwaway one unless BEFRIEND_SECRET is set."""
    from befriend.config import SettingsError, counter_shards
    from befriend.local.server import serve as run

    try:  # before moto starts and the demo is seeded, so a bad value is said at once
        counter_shards()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    run(host, port, demo=0 if no_demo else demo_people)


@main.command("build-site")
@folder_option(
    "--out", "site", "Folder to build into; files an earlier build left there are removed."
)
@click.option(
    "--playbook",
    "playbook_file",
    envvar="BEFRIEND_PLAYBOOK",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The playbook the pages describe (default: the packaged one).",
)
@click.option(
    "--templates",
    envvar="BEFRIEND_TEMPLATES",
    type=click.Path(file_okay=False, path_type=Path),
    help="Templates folder holding site/ (default: the one in this checkout).",
)
def build_site(out: Path, playbook_file: Path | None, templates: Path | None) -> None:
    """Render the static pages (templates/site/) from the playbook into OUT."""
    from jinja2 import TemplateError

    from befriend.build.sitegen import SiteError, build_site
    from befriend.config import PACKAGE, default_templates
    from befriend.core.errors import PlaybookError
    from befriend.core.playbook import load_playbook

    path = playbook_file or PACKAGE / "playbook.toml"
    try:
        loaded = load_playbook(path.read_text(encoding="utf-8"))
        written = build_site(loaded, templates or default_templates(), out)
    except (OSError, PlaybookError, SiteError, TemplateError) as exc:
        click.echo(f"build-site error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"ok: {len(written)} files in {out} (policy {loaded.policy.version})")


@main.command("seed-demo")
@click.option("--people", default=40, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--first",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Number of the first demo person (to add more to an earlier seed).",
)
@click.option(
    "--invited",
    type=click.IntRange(0, 100_000),
    help="How many more came through one another's invite links (a third of --people if "
    "not given; 0 for none).",
)
@table_options
def seed_demo(
    people: int,
    first: int,
    invited: int | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Create demo people with plausible histories over the past months, in every stage,
    and more who came through one another's invite links."""
    import secrets

    from befriend.config import PACKAGE
    from befriend.core.playbook import load_playbook
    from befriend.local.demo import seed

    store = open_store(table, endpoint_url, region)
    playbook = load_playbook((PACKAGE / "playbook.toml").read_text())
    # Evidence hashes of demo people are keyed with a throwaway secret: they are not real.
    with click.progressbar(length=people, label="demo people") as bar:
        ids = seed(
            store,
            playbook,
            secrets.token_urlsafe(32),
            datetime.now(UTC),
            people=people,
            progress=bar.update,
            first=first,
            invited=invited,
        )
    chained = people // 3 if invited is None else invited
    click.echo(
        f"ok: {len(ids)} demo people created in table {table}, and {chained} more who came "
        "through invite links"
    )
