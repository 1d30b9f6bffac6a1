"""Village notice-board lists (村务公开栏): for the village, never for the internet.

``write_village_boards`` writes, into a folder of its own (the CLI refuses one inside the
public site), one printable page per village: for each relief category of the plan's first
focus area (社会救助和社会福利, whose recipients the plan and 自然灾害救助条例 have published
locally), every recipient's masked name (张*明), household size and amount — nothing else, not
even the pseudonym that would tie the board to the published log — then what the other villages
got and what was withheld ("另有 N 名受保护对象，合计 ¥X", town-wide for the category). Other
areas' recipients (疾病应急救助 is health data) are never listed by name. Every page is marked
``noindex`` and the folder carries a ``robots.txt`` that disallows everything. Names are
decrypted from the sealed store here, when the boards are printed; a person erased since the
checkpoint is listed as erased.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.catalogue import CATEGORIES
from projections.recipient_lists import ERASED, UNREGISTERED, Filters, village_list
from projections.sql import Database
from publish.books import Stamp
from publish.site import STATIC, Writer, environment

ROBOTS = b"User-agent: *\nDisallow: /\n"
BOARD_MARKER = "robots.txt"  # a folder holding it is an earlier board we may replace
LISTED_AREA = "welfare"  # 社会救助和社会福利: the focus area whose recipients go on the board


def villages(db: Database) -> list[str]:
    rows = db.query(
        "SELECT DISTINCT village FROM gk_recipient_payments WHERE protected = 0 AND village IS NOT NULL "
        "ORDER BY village"
    )
    return [str(r[0]) for r in rows]


def listed_categories() -> list[str]:
    return [code for code, (area, _) in CATEGORIES.items() if area == LISTED_AREA]


def board(db: Database, ledger: Ledger, village: str) -> list[dict[str, Any]]:
    """The village's sections: per listed category, its rows and its totals (with the withheld)."""
    sections = []
    for category in listed_categories():
        listing = village_list(db, ledger, Filters(village=village, category=category))
        if not listing["rows"]:
            continue
        rows = [dict(r, shown=r["name"] or {"erased": ERASED, "unregistered": UNREGISTERED}[r["status"]])
                for r in listing["rows"]]  # fmt: skip
        sections.append(dict(listing, rows=rows, label=CATEGORIES[category][1]))
    return sections


def write_village_boards(db: Database, ledger: Ledger, stamp: Stamp, out: Path) -> int:
    """Write the boards of every village into ``out``; return how many pages were written."""
    env = environment()
    writer = Writer(out)
    writer.write("robots.txt", ROBOTS)
    writer.write("portal.css", (STATIC / "portal.css").read_bytes())
    names = villages(db)
    writer.write("index.html", env.get_template("village_index.html").render(
        stamp=stamp, villages=names).encode("utf-8"))  # fmt: skip
    for number, village in enumerate(names, start=1):
        html = env.get_template("village_board.html").render(
            stamp=stamp, village=village, sections=board(db, ledger, village))  # fmt: skip
        writer.write(f"village-{number:03d}.html", html.encode("utf-8"))
    return len(names) + 1
