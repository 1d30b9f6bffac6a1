"""The figures a site's pages show: every element with ``data-figure``, its value and its text.

The site marks every figure it shows ``data-figure="<id>" data-value="<integer>"``; what a
reader sees is the element's text. ``figures_on_pages`` reads both from every HTML page (the
bundle aside); ``displays`` says whether the text shows that value — money as ¥1,234.56, goods
as 1,500 or 1500 — so a number changed only where people read it is caught too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from ledger.money import format_yuan

FEN = "fen"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(frozen=True, slots=True)
class ShownFigure:
    page: str  # path from the site's root
    line: int
    figure_id: str
    value: str | None  # data-value as written
    text: str  # the element's text


def displays(text: str, value: int, unit: str) -> bool:
    """Whether ``text`` shows ``value`` (fen as ¥…; goods as a plain or grouped count)."""
    forms = [format_yuan(value)] if unit == FEN else [f"{value:,}", str(value)]
    return any(re.search(rf"(?<![\d.,]){re.escape(form)}(?![\d])", text) for form in forms)


class _Collector(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.open: list[tuple[str, int, str, str | None, int, list[str]]] = []  # tag, depth, id, value, line, text
        self.found: list[ShownFigure] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open = [(t, d + (t == tag), i, v, n, x) for t, d, i, v, n, x in self.open]
        values = dict(attrs)
        figure = values.get("data-figure")
        if figure is not None:
            self.open.append((tag, 1, figure, values.get("data-value"), self.getpos()[0], []))
        if tag in VOID:
            self.handle_endtag(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        still = []
        for t, d, i, v, n, x in self.open:
            depth = d - (t == tag)
            if depth == 0:
                self.found.append(ShownFigure(self.page, n, i, v, "".join(x)))
            else:
                still.append((t, depth, i, v, n, x))
        self.open = still

    def handle_data(self, data: str) -> None:
        for *_, text in self.open:
            text.append(data)

    def close(self) -> None:
        super().close()
        for _, _, i, v, n, x in self.open:  # an element never closed: its text runs to the end
            self.found.append(ShownFigure(self.page, n, i, v, "".join(x)))
        self.open = []


def figures_on_pages(site: Path) -> Iterator[tuple[str, list[ShownFigure]]]:
    """Each HTML page of ``site`` (outside ``bundle/``) with the figures it shows, in order."""
    for path in sorted(site.rglob("*.html")):
        name = path.relative_to(site).as_posix()
        if name.startswith("bundle/"):
            continue
        collector = _Collector(name)
        collector.feed(path.read_text(encoding="utf-8", errors="replace"))
        collector.close()
        yield name, sorted(collector.found, key=lambda f: f.line)
