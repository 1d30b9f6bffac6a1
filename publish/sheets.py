"""Notice-board sheets (公开栏张贴版): a printable A4 PDF for every published disclosure item.

The plan (§三–§五) posts every item on the town's notice board (镇政务公开栏) as well as online.
A sheet carries what the item's page carries for a reader on paper: title, kind of information,
focus area, department, status and dates, summary, what is disclosed (a report and the log
checkpoint it was drawn from, or documents with their SHA-256), the 更正说明 when it corrects or
was corrected, the review/approval/publication trail with dates, names and roles, the public
feedback and its answers — and a QR code of the item's page with the checkpoint the sheet was
built from (origin, size, root, the log's time) printed beside it, so anyone can go from the
paper to the page and check that both say the same thing as the log.

The QR code holds ``<base URL>items/<item no>.html``. The site is static and does not know its
own address: ``gongkai publish --base-url https://…/`` gives it; without one the code holds the
path relative to the site's root (README). Sheets are in Chinese only (for the town's board).
Only public-part fields reach a sheet (the same as the item's page; nothing is decrypted).

Rendering is deterministic: fpdf2 with a fixed creation date (the log's time at the checkpoint),
its content-derived document id, and one font subset per publication (``publish.sheet_font``).
"""

from __future__ import annotations

import string
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import segno
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from publish.books import Stamp
from publish.feed import department_name
from publish.labels import Labels
from publish.sheet_font import FontFile, SheetError, subset_font

FAMILY = "cjk"
MARGIN = 16.0  # mm
QR_SIZE = 40.0  # mm, quiet zone included
HEADINGS = ("基本信息", "摘要", "公开内容", "更正说明", "审核、审签和发布记录", "公众意见和答复",
            "扫码查看网页版", "本页依据的日志检查点", "第 页，共 页", "{nb}")  # fmt: skip
TRAIL_HEAD = ("日期", "步骤", "签名人", "部门和职务", "说明")
FEEDBACK_HEAD = ("编号", "类型", "收到日期", "意见", "答复", "答复日期")


def item_url(base_url: str, item_no: str) -> str:
    """The item's page: ``<base URL>items/<item no>.html`` (the number percent-encoded)."""
    return f"{base_url}items/{quote(item_no, safe='-_.~')}.html"


def check_base_url(base_url: str) -> str:
    """'' (relative), or an address the site will be served at; always ending with '/'."""
    if any(c.isspace() or c in "\"'<>\\" for c in base_url):
        raise SheetError(f"--base-url {base_url!r} holds white space or quotes")
    return base_url if not base_url or base_url.endswith("/") else base_url + "/"


@dataclass(frozen=True, slots=True)
class Sheet:
    """Every string one sheet prints (so the font can be subset before anything is drawn)."""

    item_no: str
    title: str
    header: str
    facts: tuple[tuple[str, str], ...]
    summary: str
    content: tuple[str, ...]
    correction: tuple[str, ...]
    trail: tuple[tuple[str, ...], ...]
    feedback: tuple[tuple[str, ...], ...]
    url: str
    checkpoint: tuple[str, ...]
    footer: str
    created: datetime | None
    meta: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        cells = [s for row in (*self.facts, *self.trail, *self.feedback) for s in row]
        return "".join((self.title, self.header, self.summary, *self.content, *self.correction, *cells,
                        self.url, *self.checkpoint, self.footer, *HEADINGS, *TRAIL_HEAD, *FEEDBACK_HEAD))  # fmt: skip


def sheet_of(item: dict[str, Any], stamp: Stamp, base_url: str, by_no: dict[str, dict[str, Any]]) -> Sheet:
    """What the sheet of one published item says."""
    zh = Labels("zh")
    channels = "、".join(zh.channel(c) for c in item["channels"])
    facts = [("编号", item["item_no"]), ("信息类别", zh.kind(item["kind"])), ("领域", zh.area(item["area"])),
             ("责任部门", department_name(stamp.jurisdiction, zh.department(item["department"]))),
             ("状态", zh.status(item["status"])), ("发布日期", item["published_on"] or "")]  # fmt: skip
    if item.get("posted_on"):
        facts.append(("公示期", f"{item['posted_on']} 至 {item['posting_ends']}"))
    if item.get("filed_on"):
        facts.append(("党政办备案", item["filed_on"]))
    facts.append(("发布渠道", channels))
    correction = []
    for other, says in ((item.get("corrected_by"), "本事项已被更正，更正后的事项："), (item.get("corrects"), "本事项更正了：")):
        if other:
            title = by_no[other]["title"] if other in by_no else "（尚未发布）"
            correction += [f"更正说明：{item['note']}", f"{says}{other} {title}"]
    trail = tuple((s["date"], zh.step(s["step"]), s["official"] or s["key_id"][:16],
                   f"{zh.department(s['department'])} {zh.role(s['role'])}".strip(), _detail(s["detail"], zh))
                  for s in item["trail"])  # fmt: skip
    feedback = tuple((f["feedback_no"], zh.feedback(f["kind"]), f["received_on"], f["text"],
                      f["response"] or "（待答复）", f["responded_on"] or "") for f in item["feedback"])  # fmt: skip
    origin_line = f"日志：{stamp.origin}"
    checkpoint = (origin_line, f"条目数：{stamp.size}", f"根：{stamp.root_b64}", f"日志时间：{stamp.log_time}")
    return Sheet(
        item_no=item["item_no"], title=item["title"],
        header=f"{stamp.jurisdiction}政务公开栏 · 社会公益事业建设领域政府信息公开",
        facts=tuple(facts), summary=item.get("summary") or "", content=_content(item["content"], zh),
        correction=tuple(correction), trail=trail, feedback=feedback, url=item_url(base_url, item["item_no"]),
        checkpoint=checkpoint, footer=f"{item['item_no']} · 依据日志 {stamp.origin} 检查点 {stamp.size} 生成",
        created=datetime.fromisoformat(stamp.log_time) if stamp.log_time else None,
        meta={"title": f"{item['title']}（{item['item_no']}）", "subject": f"{stamp.jurisdiction}政务公开栏",
              "author": department_name(stamp.jurisdiction, zh.department(item["department"])),
              "keywords": f"checkpoint {stamp.origin} {stamp.size} {stamp.root_b64}"},
    )  # fmt: skip


def _content(content: dict[str, Any], zh: Labels) -> tuple[str, ...]:
    if content.get("type") == "report":
        params = " · ".join(f"{k} = {v}" for k, v in sorted((content.get("params") or {}).items()))
        cp = content.get("checkpoint") or {}
        return (f"{zh.report(content.get('report'))}{' · ' + params if params else ''}",
                f"报告所依据的检查点：条目数 {cp.get('size')} · 根 {cp.get('root')}")  # fmt: skip
    files = [f"{f['name']}（{f['size']} 字节）SHA-256 {f['sha256']}" for f in content.get("files", [])]
    return (zh.doc_kind(content.get("doc_kind")), *files)


def _detail(d: dict[str, Any], zh: Labels) -> str:
    """The step's details as the item page shows them."""
    parts = []
    if d.get("opinion"):
        parts.append(f"意见：{d['opinion']}")
    if d.get("channels"):
        parts.append("、".join(zh.channel(c) for c in d["channels"]))
    if d.get("posting_ends"):
        parts.append(f"公示至 {d['posting_ends']}")
    if d.get("note"):
        parts.append(f"更正说明：{d['note']}")
    if d.get("replacement_item_no"):
        parts.append(f"→ {d['replacement_item_no']}")
    if d.get("reason"):
        parts.append(str(d["reason"]))
    if d.get("feedback_no"):
        parts.append(f"{zh.feedback(d.get('kind'))} {d['feedback_no']}".strip())
    return " ".join(parts)


def notice_sheets(items: list[dict[str, Any]], stamp: Stamp, base_url: str, font: FontFile,
                  font_cache: Path | None = None) -> Iterator[tuple[str, bytes]]:  # fmt: skip
    """``(item no, PDF bytes)`` for every published item, in the order given (``font_cache``:
    where the subsets of the font are kept from one publish to the next, ``subset_font``)."""
    by_no = {i["item_no"]: i for i in items}
    sheets = [sheet_of(item, stamp, base_url, by_no) for item in items]
    if not sheets:
        return
    text = string.printable + "".join(s.text() for s in sheets)
    with tempfile.TemporaryDirectory(prefix="gongkai-sheets-") as folder:
        small = subset_font(font, text, Path(folder) / "sheets.ttf", font_cache)
        for sheet in sheets:
            yield sheet.item_no, render(sheet, small)


class _PDF(FPDF):
    def __init__(self, footer: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(90)
        self.cell(0, 4, f"{self.footer_text} · 第 {self.page_no()} 页，共 {{nb}} 页", align="C")


def render(sheet: Sheet, font_path: Path) -> bytes:
    """The sheet as an A4 PDF that embeds ``font_path`` (subset to the glyphs it uses)."""
    pdf = _PDF(sheet.footer)
    if sheet.created is not None:
        pdf.set_creation_date(sheet.created)
    pdf.set_lang("zh-CN")
    pdf.set_creator("gongkai publish")
    pdf.set_title(sheet.meta.get("title", sheet.title))
    pdf.set_subject(sheet.meta.get("subject", ""))
    pdf.set_author(sheet.meta.get("author", ""))
    pdf.set_keywords(sheet.meta.get("keywords", ""))
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font(FAMILY, "", str(font_path))
    pdf.add_page()
    width = pdf.w - 2 * MARGIN
    pdf.set_font(FAMILY, size=8.5)
    pdf.set_text_color(80)
    pdf.multi_cell(width, 4.5, sheet.header, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.CHAR)
    pdf.set_text_color(0)
    pdf.set_font(FAMILY, size=17)
    pdf.ln(2)
    pdf.multi_cell(width, 8.5, sheet.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.CHAR)
    pdf.ln(2)
    _table(pdf, None, [list(row) for row in sheet.facts], (28, width - 28))
    if sheet.summary:
        _section(pdf, "摘要", [sheet.summary])
    _section(pdf, "公开内容", list(sheet.content))
    if sheet.correction:
        _section(pdf, "更正说明", list(sheet.correction), fill=(255, 243, 205))
    _heading(pdf, "审核、审签和发布记录")
    _table(pdf, TRAIL_HEAD, [list(row) for row in sheet.trail], (22, 28, 18, 52, width - 120))
    if sheet.feedback:
        _heading(pdf, "公众意见和答复")
        _table(pdf, FEEDBACK_HEAD, [list(row) for row in sheet.feedback], (26, 10, 20, 46, 52, width - 154))
    _qr_block(pdf, sheet)
    return bytes(pdf.output())


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(FAMILY, size=11.5)
    pdf.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, size=9.5)


def _section(pdf: FPDF, heading: str, lines: list[str], fill: tuple[int, int, int] | None = None) -> None:
    _heading(pdf, heading)
    if fill:
        pdf.set_fill_color(*fill)
    for line in lines:
        pdf.multi_cell(0, 5.2, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.CHAR,
                       fill=fill is not None)  # fmt: skip


def _table(pdf: FPDF, head: tuple[str, ...] | None, rows: list[list[str]], widths: tuple[float, ...]) -> None:
    pdf.set_font(FAMILY, size=9.5)
    plain = FontFace(family=FAMILY, emphasis="", fill_color=(235, 235, 235))
    with pdf.table(col_widths=widths, width=sum(widths), align="LEFT", text_align="LEFT", line_height=5.2,
                   first_row_as_headings=head is not None, headings_style=plain, wrapmode=WrapMode.CHAR,
                   borders_layout="HORIZONTAL_LINES") as table:  # fmt: skip
        for values in ([list(head)] if head else []) + rows:
            row = table.row()
            for value in values:
                row.cell(value)


def _qr_block(pdf: FPDF, sheet: Sheet) -> None:
    """The QR code of the item's page, with its address and the checkpoint beside it."""
    if pdf.get_y() + QR_SIZE + 8 > pdf.h - 16:
        pdf.add_page()
    pdf.ln(5)
    top = pdf.get_y()
    qr = segno.make(sheet.url, error="m", micro=False)
    modules = qr.symbol_size(scale=1, border=4)[0]
    unit = QR_SIZE / modules
    pdf.set_fill_color(0, 0, 0)
    for y, row in enumerate(qr.matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                pdf.rect(MARGIN + (4 + start) * unit, top + (4 + y) * unit, (x - start) * unit, unit, style="F")
            else:
                x += 1
    left = MARGIN + QR_SIZE + 4
    pdf.set_left_margin(left)  # the text beside the code wraps within its own column
    pdf.set_xy(left, top + 2)
    lines = [("扫码查看网页版", [sheet.url]), ("本页依据的日志检查点", list(sheet.checkpoint))]
    for heading, values in lines:
        pdf.set_font(FAMILY, size=10.5)
        pdf.cell(0, 6, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, size=8.5)
        for value in values:
            pdf.multi_cell(0, 4.4, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.CHAR)
        pdf.ln(1.5)
    pdf.set_left_margin(MARGIN)
    pdf.set_y(max(pdf.get_y(), top + QR_SIZE))
