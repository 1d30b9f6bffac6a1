"""End to end: the demo year built into an in-memory ledger, read back from its log.

One build (about 3 s) serves every test of the module; the determinism test builds once more.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from api.demo import (
    ACCOUNTS,
    DEMO_PASSPHRASE,
    OFFICIALS,
    DemoSummary,
    build_demo,
    demo_commands,
    demo_officials,
    write_demo_keys,
)
from ledger.accounts import Fund, Program, Store
from ledger.application import Ledger
from ledger.catalogue import DEPARTMENTS, Role
from ledger.keys import read_private_key, read_public_key
from projections.store import database_env


@dataclass
class Built:
    app: Ledger
    summary: DemoSummary
    progress: list[int]
    signed: list[bytes]  # the signed bytes of every event, in log order
    commands: list[dict[str, Any]]  # each command's payload once, in log order


def signed_log(app: Ledger) -> Iterator[bytes]:
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=1000):
        for notification in page:
            yield str(vars(app.mapper.to_domain_event(notification))["signed"]).encode()
        start = page[-1].id + 1


def build(seed: int = 2026) -> Built:
    app = Ledger(env=database_env("memory://"))
    progress: list[int] = []
    summary = build_demo(app, seed=seed, progress=progress.append)
    signed = list(signed_log(app))
    # A command touching two aggregates stores one event in each, side by side in the log.
    distinct = [s for i, s in enumerate(signed) if i == 0 or s != signed[i - 1]]
    return Built(app, summary, progress, signed, [json.loads(s) for s in distinct])


@pytest.fixture(scope="module")
def built() -> Built:
    return build()


def bodies(built: Built, cmd: str) -> list[dict[str, Any]]:
    return [c["body"] for c in built.commands if c["cmd"] == cmd]


def test_the_same_seed_builds_a_byte_identical_log(built: Built) -> None:
    again = build()
    assert (
        hashlib.sha256(b"".join(again.signed)).digest()
        == hashlib.sha256(b"".join(built.signed)).digest()
    )
    assert [c.signed for c in demo_commands(2026)] == [
        s for i, s in enumerate(built.signed) if i == 0 or s != built.signed[i - 1]
    ]


def test_another_seed_gives_another_year() -> None:
    first = [c.signed for c in islice(demo_commands(2026), 40)]
    other = [c.signed for c in islice(demo_commands(7), 40)]
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_the_summary_counts_what_the_log_holds(built: Built) -> None:
    kinds = Counter(c["cmd"] for c in built.commands)
    assert built.summary.jurisdiction == "流长镇"
    assert built.summary.commands == len(built.commands) == sum(built.progress)
    assert max(built.progress) <= 500
    assert built.summary.donations == kinds["donation.receive"]
    assert built.summary.disbursements == kinds["disbursement.make"]


def test_every_role_and_every_department_has_an_official(built: Built) -> None:
    officials = built.app.registry().all()
    # The intake key is the server's, enrolled by `gongkai demo`/`init`, not a demo official.
    assert {o.role for o in officials} == set(Role) - {Role.INTAKE}
    assert {o.department for o in officials} == set(DEPARTMENTS)
    assert {o.key_id for o in officials} == {k.key_id for k in demo_officials(2026).values()}


def test_one_official_is_revoked_late_in_the_year(built: Built) -> None:
    revoked = [o for o in built.app.registry().all() if o.revoked_at is not None]
    assert len(revoked) == 1
    assert revoked[0].role is Role.RECORDER
    assert revoked[0].revoked_at is not None and revoked[0].revoked_at >= "2026-10"


def test_no_fund_program_or_store_ends_negative(built: Built) -> None:
    kinds = {"fund": Fund, "program": Program, "store": Store}
    for account in ACCOUNTS:
        balances = built.app.account(kinds[account.kind], account.code).balances
        assert all(v >= 0 for v in balances.values()), account.code


def test_hundreds_of_donations_of_money_and_goods_from_every_kind_of_donor(built: Built) -> None:
    donations = bodies(built, "donation.receive")
    assert len(donations) >= 300
    assert {d["donor_class"] for d in donations} == {
        "individual",
        "enterprise",
        "social_organisation",
    }
    assert any("fund" in d for d in donations) and any("goods" in d for d in donations)
    directed = [d for d in donations if d.get("purpose") == "disaster_relief"]
    assert 0 < len(directed) < len(donations)
    named = [d for d in donations if "donor_name" in d]
    assert all(d["consent"] for d in named)
    assert 0 < len(named) < len(donations) / 2
    flood = [d["receipt_no"] for d in donations if d.get("store") != "S-CULTURE"]
    assert sum(bool(re.fullmatch(r"LC2026-\d{6}", r)) for r in flood) >= 300
    pledged = {p["pledge_no"] for p in bodies(built, "pledge.record")}
    fulfilled = {d["pledge_no"] for d in donations if "pledge_no" in d}
    assert fulfilled and fulfilled < pledged


def test_appropriations_come_from_every_level_with_document_numbers(built: Built) -> None:
    appropriations = bodies(built, "appropriation.receive")
    assert {a["level"] for a in appropriations} == {"county", "city", "province", "central"}
    assert all(re.fullmatch(r"\w+〔2026〕\d+号", a["document_no"]) for a in appropriations)


def test_about_400_dibao_households_are_paid_every_month(built: Built) -> None:
    paid: dict[str, set[str]] = {}
    for d in bodies(built, "disbursement.make"):
        if d["program"] == "P-DIBAO":
            paid.setdefault(d["period"], set()).add(d["recipient"])
    assert sorted(paid) == [f"2026-{m:02d}" for m in range(1, 13)]
    assert all(380 <= len(households) <= 420 for households in paid.values())
    assert len(set().union(*paid.values())) == built.summary.households


def test_recipients_are_pseudonyms_and_protected_ones_stay_unnamed(built: Built) -> None:
    payments = bodies(built, "disbursement.make")
    protected = [d for d in payments if d.get("protected")]
    assert protected
    assert all("recipient" not in d and "village" not in d for d in protected)
    named = [d["recipient"] for d in payments if not d.get("protected")]
    assert all(re.fullmatch(r"R-[A-Z0-9]{6}", r) for r in named)
    issued = bodies(built, "goods.issue")
    assert any("recipient" in g for g in issued)
    assert {"流长镇中心小学", "流长镇卫生院"} <= {g.get("institution") for g in issued}


def test_corrections_say_what_was_wrong(built: Built) -> None:
    corrections = bodies(built, "correction.record")
    assert all(c["note"].startswith("更正说明") for c in corrections)
    goods = [c for c in corrections if c["original"]["cmd"] == "donation.receive"
             and "goods" in c["original"]["body"]]  # fmt: skip
    assert [(g["item"], g["quantity"]) for c in goods for g in c["original"]["body"]["goods"]] == [
        ("N95口罩", 16000)
    ]
    assert [(g["item"], g["quantity"]) for c in goods for g in c["replacement"]["goods"]] == [
        ("KN95口罩", 18000)
    ]
    amounts = [c for c in corrections if c["original"]["cmd"] == "disbursement.make"
               and "replacement" in c]  # fmt: skip
    assert any(c["replacement"]["amount"] < c["original"]["body"]["amount"] for c in amounts)


def test_demo_key_files_open_with_the_demo_passphrase(tmp_path: Path) -> None:
    paths = write_demo_keys(tmp_path / "keys", 2026)
    keys = demo_officials(2026)
    assert len(paths) == 2 * len(OFFICIALS)
    assert {"administrator", "recorder", "recorder-health", "department-head", "leader",
            "office-filer", "auditor"} <= set(keys)  # fmt: skip
    for name, key in keys.items():
        private = read_private_key(tmp_path / "keys" / f"{name}.key", DEMO_PASSPHRASE.encode())
        assert private.key_id == key.key_id
        assert read_public_key(tmp_path / "keys" / f"{name}.pub") == key.public


def test_everyone_paid_by_pseudonym_is_registered_before_their_first_payment(built: Built) -> None:
    registered: set[str] = set()
    for command in built.commands:
        body = command["body"]
        if command["cmd"] == "recipient.register" and not body.get("protected"):
            registered.add(body["pseudonym"])
        elif command["cmd"] == "disbursement.make" and not body.get("protected"):
            assert body["recipient"] in registered, body
    assert len(registered) + built.summary.protected == built.summary.recipients >= 600


def test_protected_recipients_are_registered_and_paid_under_seal(built: Built) -> None:
    protected = [c for c in built.commands
                 if c["cmd"] == "recipient.register" and c["body"].get("protected")]  # fmt: skip
    assert len(protected) == built.summary.protected >= 10
    assert all(set(c["body"]) == {"program", "protected", "ref"} for c in protected)
    payments = [c for c in built.commands
                if c["cmd"] == "disbursement.make" and c["body"].get("protected")]  # fmt: skip
    assert payments and all(c["sealed"] for c in payments)
    assert {c["body"]["program"] for c in payments} == {"P-ORPHAN", "P-TEMP", "P-DISEASE"}


def test_registered_people_carry_valid_id_numbers_and_minors_are_protected(built: Built) -> None:
    from ledger.identity import age_on, check_resident_id

    registrations = [c for c in built.commands if c["cmd"] == "recipient.register"]
    opened = built.app.open_sealed([c["sealed"] for c in registrations])
    for command in registrations:
        part = opened[command["sealed"]].part
        assert part is not None
        number = part.data["id_number"]
        check_resident_id(number, "id_number", on=date(2026, 12, 31))
        assert number.startswith("5201")
        minor = age_on(number, date(2026, 7, 1)) < 18
        assert minor <= bool(command["body"].get("protected"))
    regions = Counter(opened[c["sealed"]].part.data["id_number"][:6] for c in registrations)  # type: ignore[union-attr]
    assert regions.most_common(1)[0][0] == "520122"


def test_some_donors_who_did_not_consent_are_named_only_under_seal(built: Built) -> None:
    sealed = [c for c in built.commands if c["cmd"] == "donation.receive" and c["sealed"]]
    assert sealed and all(not c["body"]["consent"] and "donor_name" not in c["body"] for c in sealed)
