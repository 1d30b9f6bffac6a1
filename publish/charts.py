"""Charts as inline SVG drawn on the server: a Sankey diagram of fund flows and bar charts.

No script, no ``style`` attribute, no font or library from anywhere: shapes carry classes that
the portal's stylesheet colours, and every shape has a ``<title>`` (a tooltip, and what a
screen reader says). Geometry is computed here with fixed rounding, so the same figures always
give the same bytes. Each amount label can carry the ``data-figure``/``data-value`` attributes
of the figure it shows (``attrs``), which the in-browser verifier checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

WIDTH = 1000
NODE_WIDTH = 12
LABEL_SPACE = 250  # right of the last column: its labels
TOP = 46
FLOW_HEIGHT = 460  # the fullest column's total, in pixels
SLOT = 30  # at least this much height per node: its two label lines
GAP = 8


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


@dataclass(frozen=True, slots=True)
class Node:
    key: str
    column: int
    label: str
    value: int
    amount: str  # the value as people read it
    css: str = "fund"
    attrs: Markup = field(default_factory=Markup)  # data-figure of the amount, if it is one


@dataclass(frozen=True, slots=True)
class Link:
    source: str
    target: str
    value: int
    title: str = ""


@dataclass(frozen=True, slots=True)
class Header:
    title: str
    amount: str = ""
    attrs: Markup = field(default_factory=Markup)


@dataclass
class _Box:
    node: Node
    x: float
    y: float
    h: float
    out: float = 0.0
    into: float = 0.0


def sankey(nodes: Sequence[Node], links: Sequence[Link], headers: Sequence[Header], title: str) -> Markup:
    """Columns of nodes (in the order given) joined by bands as wide as the money they carry."""
    columns = max((n.column for n in nodes), default=0) + 1
    step = (WIDTH - 10 - LABEL_SPACE - NODE_WIDTH) / max(columns - 1, 1)
    totals = [sum(max(n.value, 0) for n in nodes if n.column == c) for c in range(columns)]
    scale = FLOW_HEIGHT / max(max(totals, default=0), 1)
    boxes: dict[str, _Box] = {}
    bottom = float(TOP)
    for c in range(columns):
        y = float(TOP)
        for node in (n for n in nodes if n.column == c):
            h = max(max(node.value, 0) * scale, 1.5)
            boxes[node.key] = _Box(node, 10 + c * step, y, h)
            y += max(h, SLOT) + GAP
        bottom = max(bottom, y)
    height = round(bottom + 4)
    parts = [Markup('<svg class="chart sankey" viewBox="0 0 {} {}" role="img"><title>{}</title>').format(
        WIDTH, height, title)]  # fmt: skip
    for c, header in enumerate(headers[:columns]):
        x = 10 + c * step
        parts.append(Markup('<text class="sk-head" x="{}" y="16">{}</text>').format(_n(x), header.title))
        if header.amount:
            parts.append(Markup('<text class="sk-head-amount" x="{}" y="33"{}>{}</text>').format(
                _n(x), header.attrs, header.amount))  # fmt: skip
    order = sorted(
        (link for link in links if link.value > 0 and link.source in boxes and link.target in boxes),
        key=lambda link: (boxes[link.source].x, boxes[link.source].y, boxes[link.target].x,
                          boxes[link.target].y),
    )  # fmt: skip
    for link in order:
        a, b = boxes[link.source], boxes[link.target]
        t = link.value * scale
        x0, x1 = a.x + NODE_WIDTH, b.x
        y0, y1 = a.y + a.out, b.y + b.into
        a.out += t
        b.into += t
        xm = (x0 + x1) / 2
        d = (f"M{_n(x0)},{_n(y0)}C{_n(xm)},{_n(y0)} {_n(xm)},{_n(y1)} {_n(x1)},{_n(y1)}"
             f"L{_n(x1)},{_n(y1 + t)}C{_n(xm)},{_n(y1 + t)} {_n(xm)},{_n(y0 + t)} {_n(x0)},{_n(y0 + t)}Z")  # fmt: skip
        parts.append(Markup('<path class="sk-link sk-link-{}" d="{}"><title>{}</title></path>').format(
            b.node.css, d, link.title))  # fmt: skip
    for box in boxes.values():
        node = box.node
        parts.append(Markup(
            '<rect class="sk-node sk-{}" x="{}" y="{}" width="{}" height="{}"><title>{} {}</title></rect>'
        ).format(node.css, _n(box.x), _n(box.y), NODE_WIDTH, _n(box.h), node.label, node.amount))
        lx = _n(box.x + NODE_WIDTH + 4)
        parts.append(Markup(
            '<text class="sk-label" x="{}" y="{}">{}</text>'
            '<text class="sk-amount" x="{}" y="{}"{}>{}</text>'
        ).format(lx, _n(box.y + 11), node.label, lx, _n(box.y + 24), node.attrs, node.amount))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


@dataclass(frozen=True, slots=True)
class Segment:
    value: int
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]
    text: str  # shown after the bar
    attrs: Markup = field(default_factory=Markup)  # data-figure of ``text``, if it is one


BAR_WIDTH = 420
ROW = 36


def bars(rows: Sequence[Bar], title: str, legend: Sequence[tuple[str, str]] = (), *,
         shares: bool = False) -> Markup:  # fmt: skip
    """Horizontal (stacked) bars, one row per ``Bar``: its label above, its text after it.

    With ``shares`` every row is drawn full width, split by its segments' shares (for rows in
    different units, such as goods)."""
    most = max((sum(max(s.value, 0) for s in r.segments) for r in rows), default=0)
    top = 22 if legend else 4
    height = top + ROW * len(rows) + 4
    parts = [Markup('<svg class="chart bars" viewBox="0 0 {} {}" role="img"><title>{}</title>').format(
        WIDTH * 7 // 10, height, title)]  # fmt: skip
    x = 0
    for css, label in legend:
        parts.append(Markup('<rect class="bar-{}" x="{}" y="4" width="10" height="10"></rect>'
                            '<text class="bar-legend" x="{}" y="13">{}</text>').format(
            css, x, x + 14, label))  # fmt: skip
        x += 24 + 13 * len(label)
    for i, row in enumerate(rows):
        y = top + i * ROW
        total = sum(max(s.value, 0) for s in row.segments)
        scale = BAR_WIDTH / max(total if shares else most, 1)
        parts.append(Markup('<text class="bar-label" x="0" y="{}">{}</text>').format(y + 12, row.label))
        left = 0.0
        for segment in row.segments:
            w = max(segment.value, 0) * scale
            if w > 0:
                parts.append(Markup(
                    '<rect class="bar-{}" x="{}" y="{}" width="{}" height="14"><title>{}</title></rect>'
                ).format(segment.css, _n(left), y + 16, _n(max(w, 0.5)), segment.title))
            left += w
        parts.append(Markup('<text class="bar-value" x="{}" y="{}"{}>{}</text>').format(
            _n(left + 6), y + 28, row.attrs, row.text))  # fmt: skip
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
