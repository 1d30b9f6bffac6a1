"""The portal's parts in memory: figures refuse a page that misstates them, charts are plain
SVG with bands as wide as the money they carry, labels in both languages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from publish.charts import Bar, Header, Link, Node, Segment, bars, sankey
from publish.labels import Labels
from publish.site_figures import Figures


def report(received: int = 100_000, allocated: int = 60_000, disbursed: int = 25_000) -> dict[str, Any]:
    fund = {"code": "F-1", "name": "救灾资金", "received": received, "transfers_in": 0, "transfers_out": 0,
            "allocated": allocated, "idle": received - allocated}  # fmt: skip
    program = {"code": "P-1", "name": "洪灾救助", "allocated": allocated, "disbursed": disbursed,
               "idle": allocated - disbursed}  # fmt: skip
    return {
        "sources": {"donors": [{"donor_class": "enterprise", "amount": received, "donations": 1}],
                    "governments": [], "total": received},
        "funds": [fund], "programs": [program],
        "totals": {"incoming": received, "outgoing": disbursed, "idle": received - disbursed},
    }  # fmt: skip


def test_figures_are_the_report_in_fen() -> None:
    goods = [{"store": "S-1", "item": "帐篷", "grade": "12㎡", "unit": "顶", "received": 20, "issued": 5, "in_store": 15}]
    table = Figures(report(), goods, {"LC-1": 100_000}).table
    assert table["fund/F-1/idle"].value == 40_000 and table["fund/F-1/idle"].unit == "fen"
    assert table["program/P-1/idle"].value == 35_000
    assert table["goods/S-1/帐篷|12㎡|顶/in_store"].value == 15 and table["goods/S-1/帐篷|12㎡|顶/in_store"].unit == "顶"
    assert table["donation/LC-1/amount"].value == 100_000
    assert list(table) == sorted(table)


def test_a_page_that_misstates_a_figure_is_refused() -> None:
    figures = Figures(report(), [], {})
    assert figures.attrs("totals/idle", 75_000) == ' data-figure="totals/idle" data-value="75000"'
    with pytest.raises(ValueError, match="totals/idle"):
        figures.attrs("totals/idle", 75_001)
    with pytest.raises(KeyError):
        figures.attrs("totals/everything", 1)


def test_sankey_bands_are_as_wide_as_their_money() -> None:
    nodes = [Node("a", 0, "来源", 300, "¥3.00"), Node("b", 1, "甲", 200, "¥2.00"), Node("c", 1, "乙", 100, "¥1.00")]
    svg = sankey(nodes, [Link("a", "b", 200), Link("a", "c", 100)], [Header("来源"), Header("去向")], "图")
    heights = [float(h) for h in re.findall(r'<rect class="sk-node[^"]*" x="[^"]*" y="[^"]*" width="12" height="([^"]*)"', svg)]
    assert heights[1] == pytest.approx(2 * heights[2], rel=0.01)
    assert "style" not in svg and "<script" not in svg and "http" not in svg
    assert svg == sankey(nodes, [Link("a", "b", 200), Link("a", "c", 100)], [Header("来源"), Header("去向")], "图")


def test_bars_escape_what_they_are_given() -> None:
    svg = bars([Bar("<b>", (Segment(5, "used", "x"),), "5")], "t")
    assert "<b>" not in svg and "&lt;b&gt;" in svg


def test_labels_speak_both_languages() -> None:
    zh, en = Labels("zh"), Labels("en")
    assert zh.area("disaster") == "灾害事故救援" and en.area("disaster") == "Disaster and accident relief"
    assert zh.kind("execution") == "执行和结果公开" and en.kind("execution") == "Execution and results"
    assert en.step("disclosure.approve") == "Approved by the leader in charge"
    assert zh.category("unknown-code") == "unknown-code"
    with pytest.raises(ValueError, match="fr"):
        Labels("fr")
