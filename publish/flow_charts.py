"""The portal's charts of the fund-flow report: what to draw, from the books, in one language.

The Sankey diagram runs sources → funds → programs → recipients (by relief category), and
shows idle money as its own node, fed by every fund and program that still holds some (the
Hubei lesson: ¥300m received, ¥50m paid must be visible at a glance). Transfers between funds
are in the tables, not the diagram. Every node shows its total in ¥ and 万元; where that total
is a published figure, the label carries its ``data-figure``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from ledger.money import format_wan, format_yuan
from publish.books import Books
from publish.charts import Bar, Header, Link, Node, Segment, bars, sankey
from publish.labels import Labels
from publish.site_figures import Figures, goods_id


def amount(fen: int, lab: Labels | None = None) -> str:
    if lab is not None and lab.lang == "en":
        return f"{format_yuan(fen)} ({format_wan(fen)})"
    return f"{format_yuan(fen)}（{format_wan(fen)}）"


def _desc(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-int(r[key]), str(r.get("code", r.get("label", "")))))


def source_rows(books: Books, lab: Labels) -> list[dict[str, Any]]:
    """Sources, largest first: {key, label, amount, figure}."""
    s = books.report["sources"]
    rows = [{"key": f"donor:{d['donor_class']}", "label": f"{lab.source_kind('donation')}·{lab.donor_class(d['donor_class'])}",
             "amount": d["amount"], "count": d["donations"], "figure": f"sources/donor/{d['donor_class']}"}
            for d in s["donors"]]  # fmt: skip
    rows += [{"key": f"government:{g['level']}", "label": f"{lab.source_kind('appropriation')}·{lab.level(g['level'])}",
              "amount": g["amount"], "count": None, "figure": f"sources/government/{g['level']}"}
             for g in s["governments"]]  # fmt: skip
    return _desc(rows, "amount")


def flow_rows(books: Books, lab: Labels) -> list[dict[str, Any]]:
    """Every money flow with readable ends, largest first."""
    kinds = {"donation": lab.pick("捐赠", "donation"), "appropriation": lab.pick("拨款", "appropriation"),
             "allocation": lab.pick("拨付项目", "allocation"), "transfer": lab.pick("调剂", "transfer"),
             "disbursement": lab.pick("发放", "payment")}  # fmt: skip

    def name(end: str) -> str:
        kind, _, code = end.partition(":")
        if end in books.accounts:
            return f"{code} {books.accounts[end]['name']}"
        if kind == "donor":
            return lab.donor_class(code)
        if kind == "government":
            return lab.level(code)
        return lab.pick("受助群众", "recipients")

    rows = [{"kind": kinds.get(f["kind"], f["kind"]), "from": name(f["source"]), "to": name(f["dest"]),
             "amount": f["amount"]} for f in books.links]  # fmt: skip
    return sorted(rows, key=lambda r: (-r["amount"], r["from"], r["to"]))


def category_rows(report: dict[str, Any], lab: Labels) -> list[dict[str, Any]]:
    """Payments per relief category (protected recipients as one withheld line), largest first."""
    totals: dict[str, list[int]] = {}
    for g in report["recipients"]["groups"]:
        cell = totals.setdefault(g["category"] or "", [0, 0])
        cell[0] += g["amount"]
        cell[1] += g["payments"]
    rows = [{"code": c, "label": lab.category(c), "amount": a, "payments": n} for c, (a, n) in totals.items()]
    rows = _desc(rows, "amount")
    w = report["recipients"]["withheld"]
    if w["payments"]:
        rows.append({"code": "", "label": lab.pick("受保护对象（依法不公开明细）", "Protected recipients (details withheld by law)"),
                     "amount": w["amount"], "payments": w["payments"]})  # fmt: skip
    return rows


def flow_sankey(books: Books, figures: Figures, lab: Labels) -> Markup:
    report = books.report
    nodes: list[Node] = []
    for s in source_rows(books, lab):
        nodes.append(Node(s["key"], 0, s["label"], s["amount"], amount(s["amount"], lab), "source",
                          figures.attrs(s["figure"], s["amount"])))  # fmt: skip
    for f in _desc(report["funds"], "received"):
        into = f["received"] + f["transfers_in"]
        attrs = figures.attrs(f"fund/{f['code']}/received", into) if not f["transfers_in"] else Markup()
        nodes.append(Node(f"fund:{f['code']}", 1, f["name"], into, amount(into, lab), "fund", attrs))
    categories: dict[str, int] = {}
    for p in _desc(report["programs"], "allocated"):
        nodes.append(Node(f"program:{p['code']}", 2, p["name"], p["allocated"], amount(p["allocated"], lab),
                          "program", figures.attrs(f"program/{p['code']}/allocated", p["allocated"])))  # fmt: skip
        key = p["category"] or ""
        categories[key] = categories.get(key, 0) + p["disbursed"]
    for code, value in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0])):
        nodes.append(Node(f"category:{code}", 3, lab.category(code) or lab.pick("其他", "Other"), value,
                          amount(value, lab), "recipient"))  # fmt: skip
    idle = report["totals"]["idle"]
    nodes.append(Node("idle", 3, lab.pick("闲置（尚未使用）", "Idle (not yet used)"), idle, amount(idle, lab), "idle",
                      figures.attrs("totals/idle", idle)))  # fmt: skip
    names = {n.key: n.label for n in nodes}
    programs = {f"program:{p['code']}": p for p in report["programs"]}
    links: list[Link] = []

    def link(source: str, target: str, value: int) -> None:
        links.append(Link(source, target, value, f"{names.get(source, source)} → {names.get(target, target)} {amount(value, lab)}"))

    for flow in books.links:
        if flow["kind"] in ("donation", "appropriation", "allocation"):
            link(flow["source"], flow["dest"], flow["amount"])
        elif flow["kind"] == "disbursement" and flow["source"] in programs:
            link(flow["source"], f"category:{programs[flow['source']]['category'] or ''}", flow["amount"])
    for f in report["funds"]:
        link(f"fund:{f['code']}", "idle", f["idle"])
    for p in report["programs"]:
        link(f"program:{p['code']}", "idle", p["idle"])
    headers = [
        Header(lab.pick("来源", "Sources"), amount(report["sources"]["total"], lab),
               figures.attrs("sources/total", report["sources"]["total"])),
        Header(lab.pick("资金", "Funds"), amount(report["totals"]["incoming"], lab),
               figures.attrs("totals/incoming", report["totals"]["incoming"])),
        Header(lab.pick("救助项目", "Programs")),
        Header(lab.pick("受助群众（按类别）", "Recipients (by category)"), amount(report["totals"]["outgoing"], lab),
               figures.attrs("totals/outgoing", report["totals"]["outgoing"])),
    ]  # fmt: skip
    return sankey(nodes, links, headers, lab.pick("资金流向图", "Where the money went"))


def source_bars(books: Books, figures: Figures, lab: Labels) -> Markup:
    rows = [Bar(s["label"], (Segment(s["amount"], "source", amount(s["amount"], lab)),), amount(s["amount"], lab),
                figures.attrs(s["figure"], s["amount"])) for s in source_rows(books, lab)]  # fmt: skip
    return bars(rows, lab.pick("资金来源构成", "Sources of money"))


def fund_bars(report: dict[str, Any], figures: Figures, lab: Labels) -> Markup:
    used, moved, idle = lab.pick("已拨付项目", "allocated"), lab.pick("调出", "transferred"), lab.pick("闲置", "idle")
    rows = [Bar(f"{f['code']} {f['name']}",
                (Segment(f["allocated"], "used", f"{used} {amount(f['allocated'], lab)}"),
                 Segment(f["transfers_out"], "moved", f"{moved} {amount(f['transfers_out'], lab)}"),
                 Segment(f["idle"], "idle", f"{idle} {amount(f['idle'], lab)}")),
                f"{idle} {amount(f['idle'], lab)}", figures.attrs(f"fund/{f['code']}/idle", f["idle"]))
            for f in _desc(report["funds"], "received")]  # fmt: skip
    return bars(rows, lab.pick("各项资金使用情况", "Use of each fund"),
                [("used", used), ("moved", moved), ("idle", idle)])  # fmt: skip


def program_bars(report: dict[str, Any], figures: Figures, lab: Labels) -> Markup:
    paid, idle = lab.pick("已发放", "disbursed"), lab.pick("闲置", "idle")
    rows = [Bar(f"{p['code']} {p['name']}",
                (Segment(p["disbursed"], "used", f"{paid} {amount(p['disbursed'], lab)}"),
                 Segment(p["idle"], "idle", f"{idle} {amount(p['idle'], lab)}")),
                f"{paid} {amount(p['disbursed'], lab)}", figures.attrs(f"program/{p['code']}/disbursed", p["disbursed"]))
            for p in _desc(report["programs"], "allocated")]  # fmt: skip
    return bars(rows, lab.pick("各救助项目发放情况", "Payments of each program"), [("used", paid), ("idle", idle)])


def category_bars(report: dict[str, Any], lab: Labels) -> Markup:
    rows = [Bar(r["label"], (Segment(r["amount"], "recipient" if r["code"] else "idle", amount(r["amount"], lab)),),
                amount(r["amount"], lab)) for r in category_rows(report, lab)]  # fmt: skip
    return bars(rows, lab.pick("按救助类别发放", "Payments by relief category"))


def goods_bars(goods: list[dict[str, Any]], figures: Figures, lab: Labels,
               describe: Callable[[dict[str, Any]], str]) -> Markup:  # fmt: skip
    issued, kept = lab.pick("已发出", "issued"), lab.pick("库存", "in store")
    rows = [Bar(describe(g),
                (Segment(g["issued"], "used", f"{issued} {g['issued']}{g['unit']}"),
                 Segment(g["in_store"], "idle", f"{kept} {g['in_store']}{g['unit']}")),
                f"{kept} {g['in_store']}{g['unit']}", figures.attrs(goods_id(g, "in_store"), g["in_store"]))
            for g in goods]  # fmt: skip
    return bars(rows, lab.pick("物资发放与库存", "Goods issued and in store"), [("used", issued), ("idle", kept)],
                shares=True)
