"""`befriend build-site`: the committed site/ is a fresh build, byte for byte, every time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from befriend.build.sitegen import MARKER, SiteError, build_site
from befriend.core.playbook import Playbook
from tests.conftest import ROOT, TEMPLATES, cli_env, run_befriend
from tests.site.test_pages import PAGES

COMMITTED = ROOT / "site"


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_committed_site_is_a_fresh_build_of_the_default_playbook(built: Path) -> None:
    fresh, committed = tree(built), tree(COMMITTED)
    stale = sorted(set(fresh) ^ set(committed))
    differ = sorted(name for name in set(fresh) & set(committed) if fresh[name] != committed[name])
    assert not stale and not differ, (
        f"site/ is out of date (files only on one side: {stale}; files that differ: {differ}). "
        "Run `befriend build-site` and commit site/."
    )


def test_two_builds_are_byte_for_byte_the_same(tmp_path: Path, playbook: Playbook) -> None:
    first = build_site(playbook, TEMPLATES, tmp_path / "a")
    second = build_site(playbook, TEMPLATES, tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == [
        p.relative_to(tmp_path / "b") for p in second
    ]
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert first == sorted(first)


def test_pages_and_hashed_assets_land_where_they_belong(built: Path) -> None:
    names = set(tree(built))
    for page in PAGES:
        assert page in names
    [css] = [n for n in names if n.startswith("assets/") and n.endswith(".css")]
    assert css.startswith("assets/app.") and css.endswith(".css")
    assert f'href="/{css}"' in (built / "index.html").read_text()


def copy_templates(tmp_path: Path) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES / "site", copy / "site")
    return copy


def test_a_changed_asset_gets_a_new_name(tmp_path: Path, playbook: Playbook) -> None:
    templates = copy_templates(tmp_path)
    before = build_site(playbook, templates, tmp_path / "out")
    css = templates / "site/assets/app.css"
    css.write_text(css.read_text() + "\n.new { color: inherit; }\n")
    after = build_site(playbook, templates, tmp_path / "out")
    old = [p.name for p in before if p.suffix == ".css"]
    new = [p.name for p in after if p.suffix == ".css"]
    assert old != new
    css_files = [p.name for p in (tmp_path / "out/assets").glob("*.css")]
    assert css_files == new  # the old one is gone
    assert f"/assets/{new[0]}" in (tmp_path / "out/index.html").read_text()


def test_a_changed_module_renames_the_modules_that_import_it(
    tmp_path: Path, playbook: Playbook
) -> None:
    templates = copy_templates(tmp_path)
    before = {p.name for p in build_site(playbook, templates, tmp_path / "out")}
    api = templates / "site/assets/api.js"
    api.write_text(api.read_text() + "\nexport const CHANGED = true;\n")
    after = {p.name for p in build_site(playbook, templates, tmp_path / "out")}
    for module in ("api", "confirm", "preferences", "data", "marketers"):
        [old] = [n for n in before if n.startswith(f"{module}.") and n.endswith(".js")]
        [new] = [n for n in after if n.startswith(f"{module}.") and n.endswith(".js")]
        assert old != new, module
    [api_name] = [n for n in after if n.startswith("api.")]
    [prefs] = (tmp_path / "out/assets").glob("preferences.*.js")
    assert f'from "./{api_name}"' in prefs.read_text()
    assert f"/assets/{prefs.name}" in (tmp_path / "out/preferences/index.html").read_text()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.js": 'import { x } from "./nope.js";\n'}, r"imports \./nope\.js"),
        (
            {"a.js": 'import "./b.js";\n', "b.js": 'export * from "./a.js";\n'},
            r"cycle: a\.js -> b\.js -> a\.js",
        ),
    ],
)
def test_broken_module_imports_are_build_errors(
    tmp_path: Path, playbook: Playbook, files: dict[str, str], message: str
) -> None:
    templates = copy_templates(tmp_path)
    for name, text in files.items():
        (templates / "site/assets" / name).write_text(text)
    with pytest.raises(SiteError, match=message):
        build_site(playbook, templates, tmp_path / "out")


def test_partials_and_other_template_folders_are_not_rendered(
    tmp_path: Path, playbook: Playbook
) -> None:
    templates = copy_templates(tmp_path)
    (templates / "site/_parts").mkdir()
    (templates / "site/_parts/box.html").write_text("<p>part</p>\n")
    (templates / "site/about").mkdir()
    (templates / "site/about/_aside.html").write_text("<p>aside</p>\n")
    (templates / "mail").mkdir()
    (templates / "mail/confirm.html").write_text("{{ never_rendered }}")
    written = build_site(playbook, templates, tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    assert not any(part.startswith("_") for n in names for part in n.split("/"))
    assert not any(n.startswith(("mail/", "api/", "dev/")) for n in names)
    assert "about/_aside.html" not in names
    assert (ROOT / "templates/site/_layout.html").is_file()
    assert not (COMMITTED / "_layout.html").exists()


def test_stale_files_are_removed_and_foreign_folders_refused(
    tmp_path: Path, playbook: Playbook
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "site/old").mkdir()
    (templates / "site/old/index.html").write_text("{% extends '_layout.html' %}")
    out = tmp_path / "out"
    build_site(playbook, templates, out)
    assert (out / "old/index.html").is_file()
    assert "old/index.html" in (out / MARKER).read_text()
    # A page the templates no longer have is gone with its folder on the next build.
    shutil.rmtree(templates / "site/old")
    build_site(playbook, templates, out)
    assert not (out / "old").exists()

    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(SiteError, match="not made by"):
        build_site(playbook, TEMPLATES, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert not (foreign / MARKER).exists()


def test_an_unknown_asset_is_a_build_error(tmp_path: Path, playbook: Playbook) -> None:
    templates = copy_templates(tmp_path)
    (templates / "site/broken.html").write_text("{{ asset('nope.css') }}")
    with pytest.raises(SiteError, match=r"nope\.css"):
        build_site(playbook, templates, tmp_path / "out")


def test_the_command_builds_from_another_playbook(tmp_path: Path) -> None:
    text = (ROOT / "handlers/befriend/playbook.toml").read_text()
    other = tmp_path / "playbook.toml"
    other.write_text(text.replace('version = "2026-11-01"', 'version = "2027-01-15"'))
    env = {**cli_env(), "BEFRIEND_PLAYBOOK": str(other)}
    done = run_befriend("build-site", "--out", str(tmp_path / "out"), env=env)
    assert done.returncode == 0, done.stderr
    assert "policy 2027-01-15" in done.stdout
    index = (tmp_path / "out/index.html").read_text()
    assert 'name="policy_version" value="2027-01-15"' in index

    refused = run_befriend("build-site", "--out", str(tmp_path), env=env)
    assert refused.returncode == 2
    assert "build-site error:" in refused.stderr


def test_files_a_person_added_to_the_site_folder_stay(tmp_path: Path, playbook: Playbook) -> None:
    out = tmp_path / "out"
    build_site(playbook, TEMPLATES, out)
    (out / "CNAME").write_text("befriend.example\n")
    (out / ".well-known").mkdir()
    (out / ".well-known/security.txt").write_text("Contact: mailto:security@example.org\n")
    (out / "assets/extra.txt").write_text("mine")
    build_site(playbook, TEMPLATES, out)
    assert (out / "CNAME").read_text() == "befriend.example\n"
    assert (out / ".well-known/security.txt").is_file()
    assert (out / "assets/extra.txt").read_text() == "mine"
    listed = (out / MARKER).read_text()
    assert "CNAME" not in listed and "security.txt" not in listed


def test_a_marker_edited_to_point_outside_deletes_nothing_there(
    tmp_path: Path, playbook: Playbook
) -> None:
    out = tmp_path / "out"
    build_site(playbook, TEMPLATES, out)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    with (out / MARKER).open("a") as marker:
        marker.write(f"  ../victim.txt\n  {victim}\n")
    build_site(playbook, TEMPLATES, out)
    assert victim.read_text() == "keep me"


def test_symbolic_links_in_the_site_folder_are_refused(tmp_path: Path, playbook: Playbook) -> None:
    out = tmp_path / "out"
    build_site(playbook, TEMPLATES, out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(out / "privacy")
    (out / "privacy").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(SiteError, match="symbolic link"):
        build_site(playbook, TEMPLATES, out)
    assert not any(elsewhere.iterdir())

    linked = tmp_path / "linked"
    linked.symlink_to(out, target_is_directory=True)
    with pytest.raises(SiteError, match="symbolic link"):
        build_site(playbook, TEMPLATES, linked)


def test_editor_and_os_leftovers_in_assets_never_reach_the_site(
    tmp_path: Path, playbook: Playbook
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    assets = templates / "site/assets"
    for junk in (".DS_Store", "app.css~", "_draft.js", ".app.css.swp", "#app.css#", "notes.txt"):
        (assets / junk).write_text("junk")
    written = build_site(playbook, templates, tmp_path / "out")
    names = {p.name for p in written if p.parent.name == "assets"}
    assert names and all(name.endswith((".css", ".js")) for name in names), names
    assert not any(name.startswith(("_draft", ".", "#", "notes")) for name in names), names
