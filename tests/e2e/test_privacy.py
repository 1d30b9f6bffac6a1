"""The privacy scanner over everything the demo year publishes: no ID number or piece of one, no
phone, address or bank card, no unmasked name, no trace of a protected recipient — and a leak
planted in any of those outputs is found.

The demo is built once (a SQLite file, about 10 s); its people are read back through the
auditor's list, which is the one output that must show them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.cli import main
from api.config import Settings
from api.demo import ACCOUNTS, DEMO_PASSPHRASE
from api.web import create_app
from ledger.application import Ledger
from ledger.commands import payload_of
from ledger.identity import mask_name
from ledger.money import format_yuan
from projections.store import database_env
from tests.privacy_scanner import Secrets, scan


@dataclass
class Published:
    outputs: dict[str, str]  # what was run -> what it printed
    secrets: Secrets
    auditor: dict[str, object]


def _events(url: str) -> Iterator[str]:
    app = Ledger(env=database_env(url))
    try:
        start = 1
        while page := app.recorder.select_notifications(start=start, limit=2000):
            for notification in page:
                yield str(vars(app.mapper.to_domain_event(notification))["signed"])
            start = page[-1].id + 1
    finally:
        app.close()


def _sealed_donors(url: str, events: list[str]) -> list[str]:
    digests = [p["sealed"] for p in map(payload_of, events)
               if p["cmd"] == "donation.receive" and p["sealed"]]  # fmt: skip
    app = Ledger(env=database_env(url))
    try:
        opened = app.open_sealed(digests).values()
        return [o.part.data["donor_name"] for o in opened if o.part is not None]
    finally:
        app.close()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    tmp = tmp_path_factory.mktemp("privacy")
    url = f"sqlite:///{tmp / 'town.db'}"
    env = {"GONGKAI_DATABASE_URL": url, "GONGKAI_PASSPHRASE": DEMO_PASSPHRASE,
           "GONGKAI_LOG_KEY_FILE": str(tmp / "log.key"), "GONGKAI_ENV": "development",
           "GONGKAI_INTAKE_KEY_FILE": str(tmp / "intake.key")}  # fmt: skip
    runner = CliRunner()

    def gongkai(*args: str) -> str:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output + result.stderr
        return result.output

    gongkai("demo", "--keys-out", str(tmp / "keys"))
    outputs: dict[str, str] = {}
    for audience in ("public", "village"):
        for more in ((), ("--village", "马场村"), ("--category", "temporary"), ("--period", "2026-07")):
            for fmt in (("--json",), ()):
                args = ("recipients", "list", "--audience", audience, *more, *fmt)
                outputs[" ".join(args)] = gongkai(*args)
    for fmt in (("--json",), ()):
        outputs[" ".join(("balances", *fmt))] = gongkai("balances", *fmt)
        for account in ACCOUNTS:
            args = ("history", f"{account.kind}:{account.code}", *fmt)
            outputs[" ".join(args)] = gongkai(*args)
    outputs["report flows --json"] = gongkai("report", "flows", "--json")
    web = create_app(Settings(database_url=url, log_key_file=tmp / "log.key",
                              intake_key_file=tmp / "intake.key"))  # fmt: skip
    with TestClient(web) as client:
        outputs["GET /"] = client.get("/").text
        outputs["GET /api/v1/balances"] = client.get("/api/v1/balances").text
    web.state.services.close()
    events = list(_events(url))
    outputs["the public part of every event"] = "\n".join(events)
    auditor = json.loads(gongkai("recipients", "list", "--audience", "auditor", "--as",
                                 str(tmp / "keys" / "auditor.key"), "--json"))  # fmt: skip
    return Published(outputs, Secrets.from_auditor_list(auditor, _sealed_donors(url, events)), auditor)


def test_the_demo_has_people_to_find(published: Published) -> None:
    secrets = published.secrets
    assert len(secrets.id_numbers) >= 600
    assert len(secrets.phones) >= 500 and len(secrets.accounts) >= 500
    assert len(secrets.names) >= 600
    flags = {f for p in secrets.protected for f in p["flags"]}
    assert {"minor", "hiv", "confidential"} <= flags
    assert all(p["amount_fen"] > 0 for p in secrets.protected)


@pytest.mark.parametrize(
    "output",
    [pytest.param(name, id=name) for name in (
        "recipients list --audience public --json", "recipients list --audience public",
        "recipients list --audience village --json", "recipients list --audience village",
        "recipients list --audience village --village 马场村 --json",
        "recipients list --audience village --category temporary",
        "balances --json", "history program:P-DIBAO --json", "history program:P-TEMP",
        "history program:P-ORPHAN --json", "history store:S-RELIEF --json",
        "report flows --json", "GET /", "the public part of every event",
    )],
)  # fmt: skip
def test_a_published_output_leaks_nothing(published: Published, output: str) -> None:
    assert scan(published.outputs[output], published.secrets) == []


def test_no_output_at_all_leaks_anything(published: Published) -> None:
    leaks = {name: sorted(set(found)) for name, text in published.outputs.items()
             if (found := scan(text, published.secrets))}  # fmt: skip
    assert leaks == {}


def test_the_village_board_prints_masked_names(published: Published) -> None:
    board = published.outputs["recipients list --audience village"]
    masked = {mask_name(p["name"]) for p in published.auditor["rows"]  # type: ignore[attr-defined]
              if p["name"] and not p["protected"]}  # fmt: skip
    assert sum(name in board for name in masked) >= 300


def test_every_list_accounts_for_what_it_withholds(published: Published) -> None:
    for name, text in published.outputs.items():
        if name.startswith("recipients list") and "--json" in name:
            listing = json.loads(text)
            held = listing["withheld"]
            assert held["recipients"] > 0, name
            assert (listing["listed_fen"] + listing["other_villages_fen"] + held["amount_fen"]
                    == listing["total_fen"]), name  # fmt: skip
        elif name.startswith("recipients list"):
            assert "另有" in text and "withheld:" in text, name


def test_a_trace_of_a_protected_recipient_is_never_a_coincidence(published: Published) -> None:
    """Protected recipients' totals are distinct from anything listed in their category, so the
    scanner's village-with-amount check cannot be confused (and cannot pass by luck)."""
    listed = {(p["category"], p["amount_fen"]) for p in published.auditor["rows"]  # type: ignore[attr-defined]
              if not p["protected"]}  # fmt: skip
    assert all((p["category"], p["amount_fen"]) not in listed for p in published.secrets.protected)


# --- the scanner finds what is planted --------------------------------------------------------


def planted(published: Published, leak: str, where: str = "recipients list --audience village") -> list[str]:
    text = published.outputs[where]
    lines = text.splitlines()
    lines.insert(len(lines) // 2, leak)
    return scan("\n".join(lines), published.secrets)


def someone(published: Published, *, protected: bool = False) -> dict[str, object]:
    return next(p for p in published.auditor["rows"]  # type: ignore[attr-defined]
                if p["protected"] == protected and p["phone"] and p["status"] == "registered")  # fmt: skip


def test_a_planted_id_number_is_found(published: Published) -> None:
    number = str(someone(published)["id_number"])
    assert "a demo ID number" in planted(published, f"  李*华  3人  ¥520.00  {number}")
    spaced = f"{number[:6]} {number[6:14]} {number[14:]}"
    assert "an 18-digit resident ID number" in planted(published, spaced)
    assert "an 18-digit resident ID number" in planted(published, "110105194912310021")


def test_a_planted_piece_of_an_id_number_is_found(published: Published) -> None:
    number = str(someone(published)["id_number"])
    masked = planted(published, f"身份证 {number[:4]}**********{number[-4:]}")
    assert "a masked number (a fragment of an ID number)" in masked
    assert "an 8-digit piece of a demo ID number" in planted(published, f"出生 {number[6:14]}")


def test_a_planted_phone_address_or_bank_card_is_found(published: Published) -> None:
    person = someone(published)
    assert "a demo phone" in planted(published, f"电话 {person['phone']}")
    assert "a mobile phone number" in planted(published, "联系 139 1234 5678")
    assert "a demo address" in planted(published, f"住址 {person['address']}")
    assert "a demo bank card" in planted(published, f"卡号 {person['bank_account']}")


def test_a_planted_unmasked_name_is_found(published: Published) -> None:
    name = str(someone(published)["name"])
    assert "a demo person's name" in planted(published, f"  {name}  3人  ¥520.00")
    assert planted(published, f"  {mask_name(name)}  3人  ¥520.00") == []


def test_a_planted_protected_pseudonym_or_village_with_amount_is_found(published: Published) -> None:
    child = published.secrets.protected[0]
    assert "a protected recipient's pseudonym" in planted(published, str(child["pseudonym"]),
                                                          "the public part of every event")  # fmt: skip
    village = str(child["address"]).split("流长镇")[1][:3]
    record = {"village": village, "category": child["category"], "amount_fen": child["amount_fen"]}
    listing = json.loads(published.outputs["recipients list --audience public --json"])
    listing["rows"].append(record)
    found = scan(json.dumps(listing, ensure_ascii=False), published.secrets)
    assert "a protected recipient's village with their amount" in found
    line = f"  {village}  {child['category_label']}  1人  {format_yuan(int(str(child['amount_fen'])))}"
    assert "a protected recipient's village with their amount" in planted(
        published, line, "recipients list --audience public"
    )


def test_the_scanner_needs_no_luck(published: Published, tmp_path: Path) -> None:
    """The auditor's list is the one output that must show everything: it is found full of it."""
    full = json.dumps(published.auditor, ensure_ascii=False)
    assert len(set(scan(full, published.secrets))) >= 8
