"""A notice-board sheet drawn from one published item: Chinese text in an embedded font, the
trail and the correction note, a QR code of the item's page, the checkpoint beside it; the same
item gives the same bytes. And what stops a sheet: no font, a character the font lacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from publish.books import Stamp
from publish.sheet_font import FontFile, SheetError, find_font
from publish.sheets import check_base_url, item_url, notice_sheets
from tests.sheet_reading import embedded_fonts, flat, qr_payloads, sheet_text

STAMP = Stamp("流长镇", "gongkai/流长镇", 4242, bytes(range(32)), "2026-12-15T10:00:00+08:00")
BASE = "https://gk.example.cn/liuchang/"


def item(item_no: str = "GK-FLOOD-2026-07", title: str = "7·6洪涝灾害社会捐赠款物接收和使用情况（第一期）",
         **more: Any) -> dict[str, Any]:  # fmt: skip
    trail = [
        {"step": "disclosure.draft", "date": "2026-08-10", "at": "2026-08-10T10:00:00+08:00", "key_id": "ab" * 16,
         "official": "陈晓燕", "role": "recorder", "department": "shehui", "detail": {}},
        {"step": "disclosure.review", "date": "2026-08-11", "at": "2026-08-11T10:00:00+08:00", "key_id": "cd" * 16,
         "official": "张国华", "role": "department_head", "department": "shehui", "detail": {"opinion": "同意公开"}},
        {"step": "disclosure.approve", "date": "2026-08-13", "at": "2026-08-13T10:00:00+08:00", "key_id": "ef" * 16,
         "official": "胡建军", "role": "leader_in_charge", "department": "dangzheng", "detail": {"opinion": "同意"}},
        {"step": "disclosure.publish", "date": "2026-08-14", "at": "2026-08-14T10:00:00+08:00", "key_id": "ab" * 16,
         "official": "陈晓燕", "role": "recorder", "department": "shehui", "detail": {"channels": ["notice_board"]}},
    ]  # fmt: skip
    base = {"item_no": item_no, "title": title, "kind": "execution", "area": "disaster", "department": "shehui",
            "status": "published", "published_on": "2026-08-14", "posted_on": None, "posting_ends": None,
            "filed_on": None, "channels": ["notice_board"], "corrected_by": None, "corrects": None, "note": None,
            "summary": "截至7月31日接收社会捐赠款物及其使用情况。", "trail": trail, "feedback": [],
            "content": {"type": "report", "report": "flows", "params": {"fund": "F-DONATION"},
                        "checkpoint": {"size": 12, "root": "A" * 43 + "="}}}  # fmt: skip
    return {**base, **more}


def sheets(*items: dict[str, Any], base_url: str = BASE) -> dict[str, bytes]:
    return dict(notice_sheets(list(items), STAMP, base_url, find_font()))


def test_a_sheet_shows_the_item_in_chinese_with_its_trail_and_checkpoint() -> None:
    text = flat(sheet_text(sheets(item())["GK-FLOOD-2026-07"]))
    for shown in ("7·6洪涝灾害社会捐赠款物接收和使用情况（第一期）", "执行和结果公开", "灾害事故救援",
                  "流长镇社会事务办", "截至7月31日接收社会捐赠款物及其使用情况。", "部门负责人审核", "张国华",
                  "分管领导审签", "胡建军", "2026-08-13", "镇政务公开栏", STAMP.origin, "4242", STAMP.root_b64,
                  flat(item_url(BASE, "GK-FLOOD-2026-07"))):  # fmt: skip
        assert flat(shown) in text, shown


def test_a_sheet_embeds_its_chinese_font_as_a_subset() -> None:
    [font] = embedded_fonts(sheets(item())["GK-FLOOD-2026-07"])
    assert font["streams"] == ["/FontFile2"]  # TrueType outlines, embedded
    assert "+" in font["name"]  # a subset: only the glyphs the sheet uses
    assert 1_000 < font["bytes"] < 200_000


def test_the_qr_code_links_to_the_items_page() -> None:
    pdf = sheets(item())["GK-FLOOD-2026-07"]
    assert qr_payloads(pdf) == ["https://gk.example.cn/liuchang/items/GK-FLOOD-2026-07.html"]


def test_a_corrected_item_shows_its_correction_note_and_the_replacement() -> None:
    note = "原公布“N95口罩16000个”有误，应为“KN95口罩（GB 2626-2019）18000个”，特此更正。"
    old = item(status="corrected", corrected_by="GK-FLOOD-2026-07-R1", note=note)
    new = item("GK-FLOOD-2026-07-R1", "7·6洪涝灾害社会捐赠款物接收和使用情况（第一期，更正）", corrects="GK-FLOOD-2026-07",
               note=note)  # fmt: skip
    made = sheets(old, new)
    first, second = (flat(sheet_text(made[no])) for no in ("GK-FLOOD-2026-07", "GK-FLOOD-2026-07-R1"))
    assert flat(note) in first and "更正后的事项：GK-FLOOD-2026-07-R1" in first and "已更正" in first
    assert flat(note) in second and "本事项更正了：GK-FLOOD-2026-07" in second


def test_the_same_item_gives_the_same_bytes() -> None:
    assert sheets(item()) == sheets(item())


def test_without_a_base_url_the_qr_code_holds_the_path_within_the_site() -> None:
    assert item_url("", "GK-1") == "items/GK-1.html"
    assert check_base_url("https://gk.example.cn/liuchang") == "https://gk.example.cn/liuchang/"
    assert check_base_url("") == ""
    with pytest.raises(SheetError, match="white space"):
        check_base_url("https://gk.example.cn/a b/")


def test_a_character_the_font_lacks_stops_the_sheets_and_is_named() -> None:
    with pytest.raises(SheetError, match=r"U\+10000"):
        sheets(item(title="公开 \U00010000"))


def test_a_missing_font_file_is_named() -> None:
    with pytest.raises(SheetError, match="no such file"):
        find_font(FontFile(Path("/nonexistent/font.ttc")))
    assert FontFile.parse("/x/wqy.ttc#1") == FontFile(Path("/x/wqy.ttc"), 1)
    with pytest.raises(SheetError, match="face index"):
        FontFile.parse("/x/wqy.ttc#one")


def test_no_items_no_sheets() -> None:
    assert sheets() == {}


def test_a_kept_font_subset_gives_the_same_sheets_without_parsing_the_font_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "sheet-fonts"
    made = dict(notice_sheets([item()], STAMP, BASE, find_font(), cache))
    assert made == sheets(item())  # the same bytes as with no cache
    assert len(list(cache.glob("*.ttf"))) == 1 and not list(cache.glob("*.partial"))

    def no_parsing(self: FontFile) -> None:
        raise AssertionError("the font was parsed again")

    monkeypatch.setattr(FontFile, "open", no_parsing)
    assert dict(notice_sheets([item()], STAMP, BASE, find_font(), cache)) == made
    # Other characters make another subset (and need the font).
    with pytest.raises(AssertionError, match="parsed again"):
        dict(notice_sheets([item(title="新的标题：慰问金发放")], STAMP, BASE, find_font(), cache))
