"""`befriend build-site`: the static pages, rendered from `templates/site/` and the playbook.

Every template under `templates/site/` whose name and folders do not start with `_` becomes
a page at the same path (`privacy/index.html` -> `<out>/privacy/index.html`); `_` marks
layouts and partials. Files in `templates/site/assets/` are copied with a content hash in
their name (`app.css` -> `assets/app.3f9a2c1b.css`), and pages name them through
`asset("app.css")`, so a changed file gets a new address and browsers may cache forever.
A JavaScript module that imports another asset (`from "./api.js"`) has that import
rewritten to the hashed name before its own hash is taken, so a change to `api.js` gives
every module that imports it a new name too.

The output is a function of its input only (no clock, sorted walks), so a build of the same
templates and playbook is byte for byte the same, and the committed `site/` can be checked
against a fresh build. The mail and API templates are never reached: the loader is rooted at
`templates/site/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from babel.lists import format_list
from babel.messages.pofile import read_po
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from befriend.core.playbook import HOW_OFTEN, Channel, Playbook, Purpose
from befriend.i18n.catalogs import LOCALES, translations
from befriend.i18n.languages import DEFAULT, SHIPPED, Language, known

ASSETS = "assets"
# Written into every built folder, with the list of files that build wrote: cleaning removes
# only files an earlier build listed (a CNAME or .well-known/security.txt added by hand
# stays), and a folder without it is refused, so `--out` pointed at the wrong place never
# deletes anything.
MARKER = ".befriend-site"
_MARKER_TEXT = (
    "Built by `befriend build-site`; each build rewrites the files listed below.\n"
    "Files not listed are left alone.\n"
)
_LISTED = "  "
# Only these kinds of file are assets; editor and OS leftovers (`.DS_Store`, `app.css~`,
# `#app.css#`, `_draft.js`) never reach the site.
ASSET_SUFFIXES = frozenset(
    {
        ".css",
        ".js",
        ".mjs",
        ".svg",
        ".png",
        ".jpg",
        ".jpeg",
        ".webp",
        ".gif",
        ".ico",
        ".woff2",
        ".woff",
    }
)


class SiteError(ValueError):
    """The site cannot be built; the message says why and what to do."""


# `import … from "./x.js"`, `export … from "./x.js"`, `import "./x.js"` and `import("./x.js")`
# of a module in the same assets folder.
_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])\./([A-Za-z0-9_-]+\.js)\2""")


@dataclass(frozen=True)
class ChannelChoices:
    """One channel's fieldset on the sign-up form: the purposes it is offered for."""

    channel: Channel
    purposes: tuple[Purpose, ...]


def hashed_name(path: PurePosixPath, content: bytes) -> PurePosixPath:
    """`app.css` -> `app.<first 8 hex of its SHA-256>.css`."""
    digest = hashlib.sha256(content).hexdigest()[:8]
    return path.with_name(f"{path.stem}.{digest}{path.suffix}")


def _hashed_assets(folder: Path) -> dict[PurePosixPath, tuple[PurePosixPath, bytes]]:
    """Every asset: its hashed name and content, module imports rewritten to hashed names."""
    done: dict[PurePosixPath, tuple[PurePosixPath, bytes]] = {}
    names = [name for name in _files(folder) if _is_asset(name)]

    def resolve(name: PurePosixPath, chain: tuple[PurePosixPath, ...]) -> None:
        if name in done:
            return
        if name in chain:
            cycle = " -> ".join(n.as_posix() for n in (*chain, name))
            raise SiteError(f"assets import each other in a cycle: {cycle}")
        content = (folder / name).read_bytes()
        if name.suffix == ".js":
            text = content.decode("utf-8")

            def rewrite(match: re.Match[str]) -> str:
                target = name.parent / match.group(3)
                if target not in names:
                    raise SiteError(f"{name}: imports ./{match.group(3)}, which is not in {folder}")
                resolve(target, (*chain, name))
                quote = match.group(2)
                return f"{match.group(1)}{quote}./{done[target][0].name}{quote}"

            content = _IMPORT.sub(rewrite, text).encode("utf-8")
        done[name] = (hashed_name(name, content), content)

    for name in names:
        resolve(name, ())
    return done


def _is_asset(path: PurePosixPath) -> bool:
    """A real asset, not an editor backup, OS leftover or `_`-marked draft."""
    return (
        path.suffix.lower() in ASSET_SUFFIXES
        and not path.name.endswith("~")
        and not any(part.startswith((".", "_", "#")) for part in path.parts)
    )


def _files(root: Path) -> list[PurePosixPath]:
    """Every file under `root`, relative and sorted, so walks are the same on every machine."""
    if not root.is_dir():
        return []
    found = [PurePosixPath(p.relative_to(root).as_posix()) for p in root.rglob("*") if p.is_file()]
    return sorted(found)


def _is_page(path: PurePosixPath) -> bool:
    return (
        path.suffix == ".html"
        and path.parts[0] != ASSETS
        and not any(part.startswith(("_", ".")) for part in path.parts)
    )


def paragraphs(text: str) -> list[str]:
    """Plain text as paragraphs: blank lines separate them, single line breaks do not."""
    blocks = [" ".join(block.split()) for block in text.strip().split("\n\n")]
    return [block for block in blocks if block]


def page_context(playbook: Playbook) -> dict[str, Any]:
    """What the page templates read from the playbook."""
    grid = playbook.grid()
    choices = [
        ChannelChoices(
            channel,
            tuple(playbook.purposes[p] for c, p in grid if c == channel.id),
        )
        for channel in playbook.channels.values()
    ]
    return {
        "organisation": playbook.organisation,
        "policy": playbook.policy,
        "policy_paragraphs": paragraphs(playbook.policy.text),
        "channels": list(playbook.channels.values()),
        "purposes": list(playbook.purposes.values()),
        "topics": list(playbook.topics.items()),
        "choices": [c for c in choices if c.purposes],
        "gpc_purposes": [p for p in playbook.purposes.values() if p.gpc_opt_out],
        "capped_channels": [c for c in playbook.channels.values() if c.max_per_week],
        "quiet_channels": [c for c in playbook.channels.values() if c.quiet_hours],
        "max_per_week": playbook.max_per_week,
        "social_channels": [c for c in playbook.channels.values() if c.kind == "social"],
        "found_us": list(playbook.survey.found_us.items()) if playbook.survey else [],
        "how_often": [(key, label) for key, (label, _) in HOW_OFTEN.items()],
    }


def _marker_text(out_dir: Path, written: list[Path]) -> bytes:
    listed = sorted(path.relative_to(out_dir).as_posix() for path in written)
    return (_MARKER_TEXT + "".join(f"{_LISTED}{name}\n" for name in listed)).encode("utf-8")


def _listed(out_dir: Path) -> list[str]:
    """The files the last build listed in its marker; none when there is no marker."""
    marker = out_dir / MARKER
    if not marker.is_file():
        return []
    lines = marker.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line[len(_LISTED) :] for line in lines if line.startswith(_LISTED) and line.strip()]


def _inside(out_dir: Path, path: Path) -> Path:
    """`path`, checked to stay inside `out_dir` once resolved, with no symlink on the way."""
    root = out_dir.resolve()
    current = out_dir
    for part in path.relative_to(out_dir).parts:
        current = current / part
        if current.is_symlink():
            raise SiteError(f"{current}: is a symbolic link; the site folder may not hold links")
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise SiteError(f"{path}: resolves outside {out_dir}")
    return path


def _clean(out_dir: Path, previous: list[str], keep: set[Path]) -> None:
    """Remove the files the previous build listed that this one did not write, then the
    folders that leaves empty. Files nobody listed (added by a person) stay."""
    for name in previous:
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            continue  # a marker edited by hand: never follow it out of the folder
        path = out_dir / relative
        if path in keep or not (path.is_file() or path.is_symlink()):
            continue
        _inside(out_dir, path.parent)
        path.unlink()
        folder = path.parent
        while folder != out_dir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_bytes() != content:
        path.write_bytes(content)


def _environment(source: Path, language: Language, asset: Any) -> Environment:
    """Templates rendered in `language`: `_()` and `{% trans %}` read its catalog."""
    env = Environment(
        loader=FileSystemLoader(source),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    # A message's line breaks and indentation are the template's, not the translator's.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(language.code), newstyle=True)  # type: ignore[attr-defined]
    env.globals["asset"] = asset
    env.filters["asset"] = asset
    if language.code in SHIPPED:
        # "A, B and C" as the language writes it (CLDR's list patterns).
        code = language.code
        env.filters["and_list"] = lambda items: format_list(list(items), locale=code)
        env.filters["or_list"] = lambda items: format_list(list(items), style="or", locale=code)
    else:  # a pseudo-locale has no words of its own to join with
        env.filters["and_list"] = env.filters["or_list"] = lambda items: ", ".join(items)
    words = translations(language.code)
    # Quotation marks are the language's („…“, « … »): a message of their own.
    env.filters["quoted"] = lambda text: words.gettext("“%(text)s”") % {"text": text}
    env.filters["weekly_cap"] = lambda channel: f"{channel.label} {channel.max_per_week}"
    return env


def _script_messages(code: str) -> Markup | None:
    """The page's data block for its scripts (`assets/i18n.js`): each message of the
    `scripts` catalog and its translation, or the forms of a plural. None in the default
    language, whose scripts say their own words. `<`, `>` and `&` are escaped in the JSON,
    so no text can end the block."""
    if code == DEFAULT:
        return None
    found: dict[str, str | list[str]] = {}
    words = translations(code, "scripts")
    with (LOCALES / "scripts.pot").open("rb") as pot:
        template = read_po(pot)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, str):
            found[message.id] = words.gettext(message.id)
        else:
            one, other = message.id[0], message.id[1]
            found[one] = [words.ngettext(one, other, 1), words.ngettext(one, other, 2)]
    text = json.dumps(found, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    safe = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(safe)  # noqa: S704 - JSON with every character that could end the block escaped


def build_site(
    playbook: Playbook, templates_dir: Path, out_dir: Path, pseudo: tuple[str, ...] = ()
) -> list[Path]:
    """Render the site into `out_dir`, once for each of the playbook's languages (the
    default at the root, the others under `/<code>/`), and for tests in the pseudo-locales
    `pseudo` names too; return every file written, sorted.

    `out_dir` is cleaned of files an earlier build wrote (as its marker lists them) and this
    one did not; other files stay. A folder that exists, is not empty and was not made by a
    build is refused with `SiteError`, and so is a symbolic link anywhere on an output path."""
    source = templates_dir / "site"
    if not source.is_dir():
        raise SiteError(f"{source}: no site templates here")
    if out_dir.is_symlink():
        raise SiteError(f"{out_dir}: is a symbolic link; give the real folder")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise SiteError(f"{out_dir}: exists and is not a folder")
        if any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
            raise SiteError(
                f"{out_dir}: not empty and not made by `befriend build-site`; "
                "choose an empty or new folder"
            )
        for folder, dirs, files in os.walk(out_dir):
            for entry in (*dirs, *files):
                if (Path(folder) / entry).is_symlink():
                    raise SiteError(
                        f"{Path(folder) / entry}: is a symbolic link; "
                        "the site folder may not hold links"
                    )

    outputs: dict[Path, bytes] = {out_dir / MARKER: b""}
    urls: dict[str, str] = {}
    for name, (hashed_as, content) in _hashed_assets(source / ASSETS).items():
        hashed = PurePosixPath(ASSETS) / hashed_as
        urls[name.as_posix()] = f"/{hashed}"
        outputs[out_dir / hashed] = content

    def asset(name: str) -> str:
        try:
            return urls[name]
        except KeyError:
            raise SiteError(f"asset({name!r}): no such file in {source / ASSETS}") from None

    default = playbook.organisation.language
    languages = []
    for code in (*playbook.organisation.site_languages, *pseudo):
        found = known(code, pseudo=code in pseudo)
        if found is None or found.code != code:
            raise SiteError(
                f"organisation.languages: befriend has no translation for {code!r}; "
                f"it speaks {', '.join(SHIPPED)}"
            )
        languages.append(found)
    for language in languages:
        root = playbook.organisation.root(language.code)
        env = _environment(source, language, asset)
        # The playbook's own words in the page's language: labels, the policy and its
        # version (so the form's hidden `policy_version` names the text the person read).
        # A pseudo-locale has no playbook translation and shows the default's.
        context = page_context(playbook.in_language(language.code))
        messages = _script_messages(language.code)  # the same on every page of the language
        for page in filter(_is_page, _files(source)):
            at = "/" + page.as_posix().removesuffix("index.html")
            html = env.get_template(page.as_posix()).render(
                context,
                language=language,
                languages=languages if len(languages) > 1 else [],
                default_language=default,
                url=lambda to, root=root: root + to.lstrip("/"),
                url_in=lambda code, at=at: playbook.organisation.root(code) + at.lstrip("/"),
                script_messages=messages,
            )
            outputs[out_dir / root.strip("/") / page] = html.encode("utf-8")

    previous = _listed(out_dir)
    outputs[out_dir / MARKER] = _marker_text(out_dir, [p for p in outputs if p.name != MARKER])
    for path in outputs:
        _inside(out_dir, path)
    for path, content in outputs.items():
        _write(path, content)
    _clean(out_dir, previous, set(outputs))
    return sorted(outputs)
