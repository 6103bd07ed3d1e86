"""The language a mail or text speaks, the site's pages in that language, and plain text
laid out for reading.

A person's mail is in their saved language, else the playbook's default; a confirmation
in the language of the page the sign-up came from. Only languages the playbook lists are
spoken: another code (a language dropped from the playbook since) gets the default. Every
link a mail carries to the site goes to the page in the mail's language: the default's
pages are at the site's root, each other language's under `/<code>/`."""

from __future__ import annotations

import textwrap

from befriend.core.person import Person
from befriend.core.playbook import Playbook

# Plain text is read in any mail client, many of which do not wrap: lines of at most this
# many characters (RFC 5322 asks for 78), but a link is never broken.
TEXT_WIDTH = 76


def spoken(playbook: Playbook, code: str) -> str:
    """`code` if the playbook lists it, else the playbook's default language."""
    return code if code in playbook.organisation.site_languages else playbook.organisation.language


def language_of(person: Person, playbook: Playbook) -> str:
    """The language to write to `person` in: the one they saved, else the default."""
    return spoken(playbook, person.preferences.language)


def page_url(site_url: str, playbook: Playbook, language: str, path: str) -> str:
    """The site's page `path` (`/preferences/`) in `language`: at the root for the default
    language, under `/<code>/` for the others. A full URL (a policy kept elsewhere) is
    left as it is."""
    if "://" in path:
        return path
    root = playbook.organisation.root(spoken(playbook, language))
    return f"{site_url}{root}{path.lstrip('/')}"


def in_sentence(label: str, language: str) -> str:
    """A label (`Newsletter`, `Email`) in the middle of a sentence: lower case, but German
    keeps a noun's capital."""
    return label if language.split("-")[0] == "de" else label.lower()


def wrapped(text: str, width: int = TEXT_WIDTH) -> str:
    """`text` with every line longer than `width` wrapped at spaces; a translated
    paragraph is one line (its template's line breaks are not the translator's). A list
    item's next lines are indented under its text; a word longer than a line (a link)
    stays whole."""
    lines = []
    for line in text.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        body = line.lstrip(" ")
        indent = line[: len(line) - len(body)]
        hanging = indent + ("  " if body.startswith("- ") else "")
        lines.append(
            textwrap.fill(
                line,
                width,
                subsequent_indent=hanging,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)
