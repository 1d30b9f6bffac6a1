"""The demo year published by ``gongkai publish`` with disclosure items of its own, for the
end-to-end tests of the portal and of what is published beside it.

The demo year is built (a SQLite file) and given a few disclosure items — one with public
feedback and a correction (更正说明), two documents, and a draft that must never be published —
then published with its village boards. Later events are recorded and the same checkpoint is
published again, into another folder: the bytes must not change. ``tests/e2e/conftest.py``
builds it once per session (the ``published`` fixture).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from api.bootstrap import bootstrap
from api.cli import main
from api.config import Settings
from api.demo import JURISDICTION, build_demo, demo_officials
from ledger.application import Ledger
from ledger.commands import Signer
from projections.store import database_env
from tests.privacy_scanner import Secrets, demo_secrets

CHINA = timezone(timedelta(hours=8))
PUBLISHED_ITEMS = ("PUB-2026-001", "PUB-2026-001-R1", "PUB-2026-002", "PUB-2026-003")
DRAFT = "PUB-2026-004"
NOTE = "口罩型号应为KN95，数量18000只"


@dataclass
class Published:
    site: Path
    again: Path
    boards: Path
    url: str
    env: dict[str, str]
    checkpoint: dict[str, Any]
    figures: dict[str, Any]
    secrets: Secrets


class Steps:
    """Disclosure steps signed by the demo's officials, each at 10:00 on its day."""

    def __init__(self, app: Ledger) -> None:
        keys = demo_officials(2026)
        self.app = app
        self.by = {name: Signer(keys[name], JURISDICTION)
                   for name in ("recorder", "department-head", "leader", "office-filer")}  # fmt: skip

    def __call__(self, who: str, cmd: str, day: str, **body: Any) -> None:
        at = datetime.combine(datetime.fromisoformat(day).date(), time(10), CHINA)
        self.app.submit(self.by[who].sign(cmd, {**body, "date": day}, at=at))

    def draft(self, item_no: str, title: str, kind: str, area: str, day: str, content: dict[str, Any]) -> None:
        self("recorder", "disclosure.draft", day, item_no=item_no, title=title, kind=kind, area=area,
             department="shehui", posting=False, content=content, obligations=[])  # fmt: skip

    def through(self, item_no: str, days: tuple[str, str, str, str]) -> None:
        """Submit, review, approve, publish: the plan's procedure."""
        self("recorder", "disclosure.submit", days[0], item_no=item_no)
        self("department-head", "disclosure.review", days[1], item_no=item_no, opinion="同意公开")
        self("leader", "disclosure.approve", days[2], item_no=item_no, opinion="同意")
        self("recorder", "disclosure.publish", days[3], item_no=item_no, channels=["notice_board"])


def document(name: str) -> dict[str, Any]:
    return {"type": "document", "doc_kind": "policy",
            "files": [{"name": name, "sha256": hashlib.sha256(name.encode()).hexdigest(), "size": 1024}]}  # fmt: skip


def disclosures(app: Ledger) -> None:
    steps = Steps(app)
    report = {"type": "report", "report": "flows", "params": {"fund": "F-DONATION"},
              "checkpoint": {"size": 12, "root": "A" * 43 + "="}}  # fmt: skip
    steps.draft("PUB-2026-001", "7·6洪涝灾害社会捐赠款物使用情况", "execution", "disaster", "2026-12-01", report)
    steps.through("PUB-2026-001", ("2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"))
    steps("office-filer", "disclosure.publish", "2026-12-07", item_no="PUB-2026-001", channels=["county_portal"])
    steps("office-filer", "disclosure.file", "2026-12-07", item_no="PUB-2026-001")
    steps("office-filer", "feedback.receive", "2026-12-08", item_no="PUB-2026-001", feedback_no="FB-1",
          kind="comment", text="请公布物资的具体型号")  # fmt: skip
    steps("recorder", "feedback.respond", "2026-12-09", item_no="PUB-2026-001", feedback_no="FB-1",
          text="型号已在更正后的公开事项中列明")  # fmt: skip
    steps.draft("PUB-2026-001-R1", "7·6洪涝灾害社会捐赠款物使用情况（更正）", "execution", "disaster",
                "2026-12-10", report)  # fmt: skip
    steps("recorder", "disclosure.correct", "2026-12-10", item_no="PUB-2026-001",
          replacement_item_no="PUB-2026-001-R1", note=NOTE)  # fmt: skip
    steps.through("PUB-2026-001-R1", ("2026-12-10", "2026-12-11", "2026-12-14", "2026-12-15"))
    steps.draft("PUB-2026-002", "2026年城乡低保标准", "decision", "welfare", "2026-12-01", document("低保标准.pdf"))
    steps.through("PUB-2026-002", ("2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"))
    steps.draft("PUB-2026-003", "临时救助办事指南", "management", "welfare", "2026-12-01", document("办事指南.pdf"))
    steps.through("PUB-2026-003", ("2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"))
    steps.draft(DRAFT, "尚未审核的草稿", "decision", "health", "2026-12-16", document("草稿.pdf"))


def publish_demo(tmp: Path) -> Published:
    """The demo year with the items above, published into ``tmp`` (and again as of the same
    checkpoint after the log grew), with the village boards; and the demo's secrets."""
    url = f"sqlite:///{tmp / 'town.db'}"
    settings = Settings(database_url=url, log_key_file=tmp / "log.key")
    env = {"GONGKAI_DATABASE_URL": url, "GONGKAI_LOG_KEY_FILE": str(tmp / "log.key"),
           "GONGKAI_ENV": "development"}  # fmt: skip
    app = Ledger(env=database_env(url))
    build_demo(app)
    disclosures(app)
    services = bootstrap(settings)
    services.log_key(create=True)
    services.close()
    runner = CliRunner()

    def gongkai(*args: str) -> str:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output + result.stderr
        return result.output

    out = json.loads(gongkai("publish", "--out", str(tmp / "site"), "--village-boards", str(tmp / "boards"), "--json"))
    # The log grows (a comment on a published item); the same checkpoint must give the same site.
    Steps(app)("office-filer", "feedback.receive", "2026-12-16", item_no="PUB-2026-002", feedback_no="FB-2",
               kind="comment", text="标准何时调整？")  # fmt: skip
    gongkai("publish", "--out", str(tmp / "again"), "--as-of", str(out["checkpoint"]["size"]))
    secrets = demo_secrets(app, settings)
    app.close()
    figures = json.loads((tmp / "site" / "data" / "figures.json").read_text(encoding="utf-8"))
    return Published(tmp / "site", tmp / "again", tmp / "boards", url, env, out["checkpoint"], figures, secrets)
