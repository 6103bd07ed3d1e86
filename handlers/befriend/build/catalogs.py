"""`make messages`: the translation catalogs, made with Babel from the sources.

For each domain (`i18n/catalogs.py` DOMAINS) the messages are extracted as the domain's map
says (`locales/<domain>.cfg`) into its template (`locales/<domain>.pot`), merged into each
shipped language's catalog (`locales/<code>/LC_MESSAGES/<domain>.po`, the file translators
edit; a new message arrives untranslated, a changed one fuzzy) and compiled (`.mo`, what
runs). Locations are left out of the files, so moving a line changes no catalog; output is
sorted, so the same sources always give the same files. Tests extract again and fail when
a committed file is stale (`extracted`, `compiled`), or a translation is missing
(`problems`)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from befriend.i18n.catalogs import DOMAINS, LOCALES, catalog_path
from befriend.i18n.languages import DEFAULT, SHIPPED

ROOT = LOCALES.parents[2]  # the repository: the maps' paths start there
PROJECT = "befriend"
# Comments for translators start so, in templates (`{#- Translators: … #}`) and scripts.
COMMENT_TAGS = ("Translators:", "TRANSLATORS:")
# The files' own header, in place of Babel's placeholders (author, organisation, year).
_HEADER = "# {what} of befriend's `{domain}` catalog, made by `make messages`.\n# {how}\n"


def _catalog(domain: str, code: str | None = None) -> Catalog:
    what = f"{SHIPPED[code].name} ({code}) translation" if code else "The template"
    how = (
        "Translate each msgstr; new and changed messages arrive here untranslated or fuzzy."
        if code
        else "Never edited by hand: the language catalogs are merged from it."
    )
    return Catalog(
        locale=code,
        domain=domain,
        project=PROJECT,
        version="",
        msgid_bugs_address="",
        last_translator="",
        language_team=code or "",
        charset="utf-8",
        fuzzy=False,
        header_comment=_HEADER.format(what=what, domain=domain, how=how),
    )


def extracted(domain: str, root: Path = ROOT) -> Catalog:
    """The domain's messages as the sources hold them now."""
    with (LOCALES / f"{domain}.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    catalog = _catalog(domain)
    for _, _lineno, message, comments, context in extract_from_dir(
        root,
        method_map,
        options_map,
        strip_comment_tags=True,
        comment_tags=("Translators:", "TRANSLATORS:"),
    ):
        catalog.add(message, None, [], auto_comments=comments, context=context)
    return catalog


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, no_location=True, omit_header=False, sort_output=True, width=96)
    return _plain_header(out.getvalue())


class _Plain(Catalog):
    """A catalog whose header names no date, author or tool version, so its compiled form
    changes only when a message does."""

    def _plain_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = Catalog.mime_headers.fget(self)  # type: ignore[attr-defined]
        return [
            (name, PROJECT if name == "Project-Id-Version" else value)
            for name, value in headers
            if name not in _DROPPED
        ]

    mime_headers = property(_plain_headers, Catalog.mime_headers.fset)  # type: ignore[attr-defined]


_DROPPED = {
    "POT-Creation-Date",
    "PO-Revision-Date",
    "Report-Msgid-Bugs-To",
    "Last-Translator",
    "Language-Team",
    "Generated-By",
}


def mo_bytes(catalog: Catalog) -> bytes:
    """The compiled catalog: its messages, and a header without dates."""
    plain = _Plain(locale=catalog.locale, domain=catalog.domain, project=PROJECT, version="")
    for message in catalog:
        if message.id:
            plain[message.id] = message
    out = io.BytesIO()
    write_mo(out, plain, use_fuzzy=False)
    return out.getvalue()


def _plain_header(text: bytes) -> bytes:
    """Babel's placeholder and changing header lines dropped (dates, author, team, its own
    version): a file changes only when a message does."""
    dropped = tuple(f'"{name}'.encode() for name in _DROPPED)
    lines = text.split(b"\n")
    kept = [line for line in lines if not line.startswith(dropped)]
    return b"\n".join(kept).replace(b"befriend VERSION", b"befriend")


def read(code: str, domain: str) -> Catalog:
    with catalog_path(code, domain, ".po").open("rb") as po:
        return read_po(po, locale=code, domain=domain)


def merged(template: Catalog, code: str, domain: str) -> Catalog:
    """The language's catalog with the template's messages: new ones empty, changed ones
    fuzzy (Babel's matching), gone ones dropped."""
    path = catalog_path(code, domain, ".po")
    catalog = _catalog(domain, code)
    if path.is_file():
        for message in read(code, domain):
            if message.id:
                catalog[message.id] = message
    catalog.update(template, update_creation_date=False)
    catalog.obsolete.clear()
    return catalog


def problems(code: str, domain: str, template: Catalog) -> list[str]:
    """What keeps the catalog from being complete: messages missing, untranslated or fuzzy,
    and placeholders a translation lost or invented. Empty when it is complete."""
    catalog = read(code, domain)
    found = []
    for message in template:
        if not message.id:
            continue
        have = catalog.get(message.id, message.context)
        name = message.id if isinstance(message.id, str) else message.id[0]
        forms = (
            have.string
            if have is not None and isinstance(have.string, tuple)
            else ([have.string] if have is not None else [])
        )
        if have is None or not all(forms):
            found.append(f"{code}/{domain}: not translated: {name!r}")
        elif have.fuzzy:
            found.append(f"{code}/{domain}: fuzzy (check and clear the flag): {name!r}")
        else:
            for error in have.check(catalog):
                found.append(f"{code}/{domain}: {name!r}: {error}")
    return found


def write_all(codes: tuple[str, ...] = ()) -> list[Path]:
    """Extract, merge and compile every domain for the languages `codes` (every shipped
    one when empty); return the files written."""
    written = []
    for domain in DOMAINS:
        template = extracted(domain)
        pot = LOCALES / f"{domain}.pot"
        written.append(_write(pot, po_bytes(template)))
        for code in codes or tuple(SHIPPED):
            if code == DEFAULT:
                continue
            catalog = merged(template, code, domain)
            written.append(_write(catalog_path(code, domain, ".po"), po_bytes(catalog)))
            written.append(_write(catalog_path(code, domain), mo_bytes(catalog)))
    return written


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_bytes() != content:
        path.write_bytes(content)
    return path


def main(argv: list[str]) -> int:
    """`python -m befriend.build.catalogs [code …]`: make the catalogs, then list what
    is missing from them; exit 1 when something is."""
    codes = tuple(argv) or tuple(code for code in SHIPPED if code != DEFAULT)
    unknown = [code for code in codes if code not in SHIPPED]
    if unknown:
        print(f"no such language: {', '.join(unknown)}; befriend ships {', '.join(SHIPPED)}")
        return 2
    for path in write_all(codes):
        print(path.relative_to(ROOT))
    missing = [
        problem
        for domain in DOMAINS
        for code in codes
        if code != DEFAULT
        for problem in problems(code, domain, extracted(domain))
    ]
    for problem in missing:
        print(problem, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
