"""The site in every language the playbook lists: each page once per language, in its
catalog's words, with `lang`, `dir`, alternates and a language switch, and nothing left
in English but the playbook's own texts (shown with the pseudo-locales)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from befriend.build.sitegen import SiteError, build_site
from befriend.core.frozen import replace
from befriend.core.playbook import HOW_OFTEN, Playbook
from befriend.i18n.languages import PSEUDO
from tests.conftest import TEMPLATES
from tests.site.test_pages import PAGES


def speaking(playbook: Playbook, *codes: str) -> Playbook:
    organisation = replace(playbook.organisation, languages=codes)
    return replace(playbook, organisation=organisation)


class Texts(HTMLParser):
    """The text a page shows: its text nodes outside scripts and styles, and the
    attributes people read or hear."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder", "alt") and value:
                self.found.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.found.append(" ".join(data.split()))


def texts(html: str) -> list[str]:
    parser = Texts()
    parser.feed(html)
    return parser.found


def playbook_words(playbook: Playbook) -> set[str]:
    """The texts pages take from the playbook, as `playbook` (one language of it) words
    them, and the survey's "how often" answers (`HOW_OFTEN`, words of the code, not of the
    playbook). A pseudo-locale has no playbook translation: its pages show the default's."""
    org = playbook.organisation
    words = {org.name, org.address, org.contact, org.sender, playbook.policy.version}
    words |= {" ".join(p.split()) for p in playbook.policy.text.split("\n\n")}
    for purpose in playbook.purposes.values():
        words |= {purpose.label, purpose.description}
    words |= {channel.label for channel in playbook.channels.values()}
    words |= set(playbook.topics.values())
    if playbook.survey:
        words |= set(playbook.survey.found_us.values())
    words |= {label for label, _ in HOW_OFTEN.values()}
    return {" ".join(w.split()) for w in words}


@pytest.fixture(scope="module")
def pseudo_site(tmp_path_factory: pytest.TempPathFactory, playbook: Playbook) -> Path:
    out = tmp_path_factory.mktemp("pseudo")
    build_site(speaking(playbook, "en", "de"), TEMPLATES, out, pseudo=tuple(PSEUDO))
    return out


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("code", list(PSEUDO))
def test_no_word_of_the_templates_is_left_untranslated(
    pseudo_site: Path, playbook: Playbook, page: str, code: str
) -> None:
    html = (pseudo_site / code / page).read_text(encoding="utf-8")
    # The playbook's words, and the switch's language names (each in its own language).
    allowed = sorted(playbook_words(playbook) | {"English", "Deutsch"}, key=len, reverse=True)
    left = []
    for text in texts(html):
        rest = text
        for words in allowed:
            rest = rest.replace(words, " ")
        # A pseudo-translation leaves no two plain letters side by side.
        if re.search(r"[A-Za-z]{2}", rest):
            left.append(text)
    assert not left, f"{code}/{page}: not translated: {left}"
    direction = PSEUDO[code].direction
    assert f'<html lang="{code}" dir="{direction}"' in html


@pytest.mark.parametrize("page", PAGES)
def test_every_page_names_its_other_languages_and_links_within_its_own(
    pseudo_site: Path, page: str
) -> None:
    at = "/" + page.removesuffix("index.html")
    english = (pseudo_site / page).read_text(encoding="utf-8")
    german = (pseudo_site / "de" / page).read_text(encoding="utf-8")
    for html in (english, german):
        assert f'<link rel="alternate" hreflang="en" href="{at}">' in html
        assert f'<link rel="alternate" hreflang="de" href="/de{at}">' in html
        assert f'<link rel="alternate" hreflang="x-default" href="{at}">' in html
    assert '<html lang="de" dir="ltr">' in german
    assert f'<a href="/de{at}" hreflang="de" lang="de" data-language="de">Deutsch</a>' in english
    assert f'<a href="{at}" hreflang="en" lang="en" data-language="en">English</a>' in german
    # Links to other pages stay in the language; the API and assets are the same for all.
    own = re.sub(r'<link rel="alternate"[^>]*>', "", german)
    hrefs = re.findall(r'href="(/[^"]*)"(?! hreflang)', own)
    pages = [h for h in hrefs if not h.startswith(("/assets/", "/api/"))]
    assert pages and all(h.startswith("/de/") for h in pages), pages


def test_pages_in_another_language_show_the_playbooks_words_in_that_language(
    pseudo_site: Path, playbook: Playbook
) -> None:
    german = playbook.in_language("de")
    # The survey's "how often" answers are the code's words, the same on every page.
    code = {label for label, _ in HOW_OFTEN.values()}
    english = playbook_words(playbook) - playbook_words(german) - code
    # What the German playbook says differently ("Newsletter", "LinkedIn" are both).
    wanted = playbook_words(german) - playbook_words(playbook)
    assert "Gelegentliche Rabatte und Angebote." in wanted and "Offers" in english
    shown = []
    for page in PAGES:
        text = "\n".join(texts((pseudo_site / "de" / page).read_text(encoding="utf-8")))
        left = [w for w in english if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]
        assert not left, f"de/{page}: the playbook's English words: {left}"
        shown.append(text)
    everywhere = "\n".join(shown)
    assert sorted(w for w in wanted if w not in everywhere) == []
    # The form carries the version of the policy its page showed.
    index = (pseudo_site / "de" / "index.html").read_text(encoding="utf-8")
    assert 'name="policy_version" value="2026-11-01-de"' in index
    assert 'name="policy_version" value="2026-11-01"' in (pseudo_site / "index.html").read_text()
    privacy = (pseudo_site / "de" / "privacy" / "index.html").read_text(encoding="utf-8")
    assert "2026-11-01-de" in privacy and "Wir verkaufen Ihre Daten nie." in privacy


def test_pages_in_another_language_carry_their_scripts_words(pseudo_site: Path) -> None:
    english = (pseudo_site / "index.html").read_text(encoding="utf-8")
    assert 'id="messages"' not in english  # English pages: the scripts' own words
    html = (pseudo_site / "en-XA" / "preferences" / "index.html").read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="messages">(.*?)</script>', html)
    assert block is not None
    words = json.loads(block.group(1))
    assert words and all("⟦" in (v if isinstance(v, str) else v[0]) for v in words.values())
    assert "<" not in block.group(1)  # nothing in the JSON can close the block


def test_a_language_befriend_cannot_speak_is_refused(tmp_path: Path, playbook: Playbook) -> None:
    with pytest.raises(SiteError, match="no translation for 'xx'"):
        build_site(speaking(playbook, "en", "xx"), TEMPLATES, tmp_path / "out")
