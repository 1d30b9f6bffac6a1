"""The Atom feed of published disclosure items (``/feed.atom``), for WeChat and Weibo relays.

One entry per published item (published, filed or corrected; never a draft). Ids and dates come
from the log: an entry's id is the item's aggregate id (``urn:uuid:…``), ``published`` the
signed time of its first publication and ``updated`` the signed time of its latest step; the
feed's ``updated`` is the latest entry's (or the checkpoint's log time). Links are relative to
the feed, which sits at the site's root, so the site can be served from any address.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid5
from xml.etree import ElementTree as ET

from ledger import ids
from publish.books import Stamp
from publish.labels import Labels

ATOM = "http://www.w3.org/2005/Atom"


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _summary(item: dict[str, Any], zh: Labels) -> str:
    parts = [f"{zh.kind(item['kind'])} · {zh.area(item['area'])} · {zh.department(item['department'])}",
             f"状态：{zh.status(item['status'])}；发布日期：{item['published_on']}",
             "发布渠道：" + "、".join(zh.channel(c) for c in item["channels"])]  # fmt: skip
    if item.get("summary"):
        parts.append(str(item["summary"]))
    if item.get("corrected_by"):
        parts.append(f"已更正，见 {item['corrected_by']}。更正说明：{item['note']}")
    if item.get("corrects"):
        parts.append(f"本事项更正 {item['corrects']}。更正说明：{item['note']}")
    return "\n".join(parts)


def department_name(jurisdiction: str, label: str) -> str:
    """流长镇 + 镇社会事务办 → 流长镇社会事务办."""
    if jurisdiction.endswith("镇") and label.startswith("镇"):
        label = label[1:]
    return jurisdiction + label


def atom_feed(stamp: Stamp, items: list[dict[str, Any]]) -> bytes:
    zh = Labels("zh")
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "zh-CN"})
    _el(feed, "id", f"urn:uuid:{uuid5(NAMESPACE_URL, 'gongkai:' + stamp.origin + '/feed.atom')}")
    _el(feed, "title", f"{stamp.jurisdiction}社会公益事业政府信息公开")
    _el(feed, "subtitle", f"日志 {stamp.origin}，检查点 {stamp.size} 条，根 {stamp.root_b64}")
    entries = []
    for item in sorted(items, key=lambda i: (i["published_on"] or "", i["item_no"])):
        published = [s["at"] for s in item["trail"] if s["step"] == "disclosure.publish"]
        entries.append((item, min(published), max(s["at"] for s in item["trail"])))
    _el(feed, "updated", max((e[2] for e in entries), default=stamp.log_time))
    _el(feed, "link", rel="self", href="feed.atom")
    _el(feed, "link", rel="alternate", href="index.html")
    author = _el(feed, "author")
    _el(author, "name", f"{stamp.jurisdiction}人民政府")
    for item, first, latest in reversed(entries):  # newest first, as readers expect
        entry = _el(feed, "entry")
        _el(entry, "id", f"urn:uuid:{ids.disclosure_id(stamp.jurisdiction, item['item_no'])}")
        _el(entry, "title", f"{item['title']}（{item['item_no']}）")
        _el(entry, "published", first)
        _el(entry, "updated", latest)
        _el(entry, "link", rel="alternate", href=f"items/{item['item_no']}.html")
        who = _el(entry, "author")
        _el(who, "name", department_name(stamp.jurisdiction, zh.department(item["department"])))
        _el(entry, "category", term=item["area"], label=zh.area(item["area"]))
        _el(entry, "category", term=item["kind"], label=zh.kind(item["kind"]))
        _el(entry, "summary", _summary(item, zh), type="text")
    ET.indent(feed)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body + b"\n"
