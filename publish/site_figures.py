"""The published figures: every number the portal states that anyone can recompute.

Each figure has an id, an integer value (money in fen, goods in their unit) and a label; the
site writes them to ``/data/figures.json`` and every element that shows one carries
``data-figure="<id>"`` and ``data-value="<integer>"``. The ids are what ``gongkai verify-site``
and ``verify.html`` recompute from the public bundle, so they must not change; all are
all-time totals as of the site's checkpoint:

    sources/total, sources/donor/<class>, sources/government/<level>
    fund/<code>/received|transfers_in|transfers_out|allocated|idle
    program/<code>/allocated|disbursed|idle
    goods/<store>/<item>|<grade>|<unit>/received|issued|in_store
    totals/incoming|outgoing|idle
    donation/<receipt_no>/amount          (money donations, net of corrections)

A page that tags an element with a figure whose value differs from the table is a defect:
``Figures.attrs`` refuses to render it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from publish.labels import Labels

FUND_COLUMNS = ("received", "transfers_in", "transfers_out", "allocated", "idle")
PROGRAM_COLUMNS = ("allocated", "disbursed", "idle")
GOODS_COLUMNS = ("received", "issued", "in_store")


@dataclass(frozen=True, slots=True)
class Figure:
    value: int
    unit: str
    label: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "label": self.label}


def goods_id(row: dict[str, Any], column: str) -> str:
    return f"goods/{row['store']}/{row['item']}|{row['grade']}|{row['unit']}/{column}"


class Figures:
    def __init__(self, report: dict[str, Any], goods: list[dict[str, Any]],
                 donations: dict[str, int]) -> None:  # fmt: skip
        zh = Labels("zh")
        found: dict[str, Figure] = {}

        def put(figure_id: str, value: int, label: str, unit: str = "fen") -> None:
            found[figure_id] = Figure(int(value), unit, label)

        sources = report["sources"]
        put("sources/total", sources["total"], "资金来源合计")
        for d in sources["donors"]:
            put(f"sources/donor/{d['donor_class']}", d["amount"], f"社会捐赠·{zh.donor_class(d['donor_class'])}")
        for g in sources["governments"]:
            put(f"sources/government/{g['level']}", g["amount"], f"财政拨款·{zh.level(g['level'])}")
        words = {"received": "收入", "transfers_in": "调入", "transfers_out": "调出",
                 "allocated": "拨付项目", "disbursed": "发放", "idle": "闲置", "issued": "发出",
                 "in_store": "库存"}  # fmt: skip
        for f in report["funds"]:
            for column in FUND_COLUMNS:
                put(f"fund/{f['code']}/{column}", f[column], f"资金 {f['code']} {f['name']}·{words[column]}")
        for p in report["programs"]:
            words["allocated"] = "拨入"
            for column in PROGRAM_COLUMNS:
                put(f"program/{p['code']}/{column}", p[column], f"项目 {p['code']} {p['name']}·{words[column]}")
        for g in goods:
            what = f"{g['item']}（{g['grade']}）" if g["grade"] else g["item"]
            for column in GOODS_COLUMNS:
                label = f"物资 {g['store']} {what}·{words.get(column, '收到')}"
                put(goods_id(g, column), g[column], label, g["unit"])
        totals = report["totals"]
        put("totals/incoming", totals["incoming"], "收入合计")
        put("totals/outgoing", totals["outgoing"], "发放合计")
        put("totals/idle", totals["idle"], "闲置合计")
        for receipt, amount in donations.items():
            put(f"donation/{receipt}/amount", amount, f"捐赠 {receipt} 金额")
        self.table = dict(sorted(found.items()))

    def __contains__(self, figure_id: object) -> bool:
        return figure_id in self.table

    def attrs(self, figure_id: str, value: int) -> Markup:
        """`` data-figure="…" data-value="…"`` for an element showing ``value`` as that figure."""
        figure = self.table.get(figure_id)
        if figure is None:
            raise KeyError(f"no published figure {figure_id!r}")
        if figure.value != int(value):
            raise ValueError(f"figure {figure_id}: the page shows {value}, the table has {figure.value}")
        return Markup(' data-figure="{}" data-value="{}"').format(figure_id, figure.value)

    def maybe(self, figure_id: str | None, value: int) -> Markup:
        """``attrs`` if ``figure_id`` is a published figure, else nothing."""
        if figure_id is None or figure_id not in self.table:
            return Markup("")
        return self.attrs(figure_id, value)

    def to_json(self, checkpoint: dict[str, Any]) -> dict[str, Any]:
        return {"checkpoint": checkpoint,
                "figures": {k: f.to_json() for k, f in self.table.items()}}  # fmt: skip


__all__ = ["Figure", "Figures", "escape", "goods_id"]
