"""Built pages read with html.parser, as a browser without JavaScript would see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


@dataclass
class Control:
    """One form control: its attributes, and the legends of the fieldsets around it."""

    attrs: dict[str, str]
    legends: list[str]
    form: int | None  # index into Page.forms, None outside any form


@dataclass
class Page(HTMLParser):
    """Everything the checks need from one page, gathered in a single pass."""

    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)  # "title", "h1" -> texts
    forms: list[dict[str, str]] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)
    label_for: set[str] = field(default_factory=set)
    _open: list[str] = field(default_factory=list)
    _fieldsets: list[list[str]] = field(default_factory=list)  # legend text per open fieldset
    _in_form: int | None = None

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append((tag, found))
        if tag == "form":
            self.forms.append(found)
            self._in_form = len(self.forms) - 1
        elif tag == "fieldset":
            self._fieldsets.append([])
        elif tag == "label" and "for" in found:
            self.label_for.add(found["for"])
        elif tag in ("input", "select", "textarea"):
            legends = [" ".join(parts).strip() for parts in self._fieldsets]
            self.controls.append(Control(found, legends, self._in_form))
        if tag in ("title", "h1", "legend", "script", "style"):
            self._open.append(tag)
            self.texts.setdefault(tag, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = None
        elif tag == "fieldset" and self._fieldsets:
            self._fieldsets.pop()
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for tag in self._open:
            self.texts[tag][-1] += data
        if "legend" in self._open and self._fieldsets:
            self._fieldsets[-1].append(data)

    def text(self, tag: str) -> list[str]:
        return [" ".join(t.split()) for t in self.texts.get(tag, [])]


def read_page(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def page(built: Path, name: str) -> Page:
    """The page `name` of the site built in `built`."""
    return read_page((built / name).read_text(encoding="utf-8"))
