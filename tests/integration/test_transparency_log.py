"""The transparency log on both backends: checkpoints, proofs, witnesses, and the auditor's
verifier catching every kind of tampering done with SQL directly on the event table."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger import ids
from ledger.checkpoint import SignedNote, verify_cosignature
from ledger.commands import Signer
from ledger.keys import PrivateKey
from ledger.merkle import verify_consistency, verify_inclusion
from projections.audit import Report, verify
from projections.checkpoints import make_checkpoint, origin_of
from projections.merkle_log import MerkleProjection, tree
from projections.runner import Runner
from projections.sql import Database
from projections.store import database_env
from projections.witness import ForkDetected, cosign_latest
from tests.builders import (
    Town,
    allocation,
    correction,
    disbursement,
    enrolment,
    goods_donation,
    goods_issue,
    goods_line,
    key,
    money_donation,
)

LOG_KEY = PrivateKey.from_seed(b"gongkai-tests/log")
WITNESS = PrivateKey.from_seed(b"gongkai-tests/witness")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.close()


@pytest.fixture
def books(town: Town) -> Town:
    """The standard town with a donation, an allocation and two disbursements recorded."""
    town.submit(town.recorder, "donation.receive", money_donation(500_000))
    town.submit(town.recorder, "allocation.make", allocation(300_000))
    town.submit(town.recorder, "disbursement.make", disbursement(20_000))
    town.submit(town.recorder, "disbursement.make", disbursement(30_000, recipient="R-9X8Y7Z"))
    return town


def runner(town: Town, db: Database) -> Runner:
    return Runner(town.app, db, [MerkleProjection()])


def checkpoint(town: Town, db: Database) -> SignedNote:
    runner(town, db).catch_up()
    return make_checkpoint(db, origin_of(town.jurisdiction), LOG_KEY)


def audit(town: Town, notes: list[SignedNote]) -> Report:
    return verify(town.app, log_name=origin_of(town.jurisdiction), log_key=LOG_KEY.public,
                  checkpoints=notes)  # fmt: skip


# --- SQL on the event table, as an attacker with database access would do it ---------------


class Events:
    """Direct SQL on the stored events of either backend."""

    def __init__(self, url: str) -> None:
        env = database_env(url)
        self.postgres = "POSTGRES_DBNAME" in env
        self.url = url
        self.table = "gongkai_events" if self.postgres else "stored_events"
        self.id = "notification_id" if self.postgres else "rowid"

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.postgres:
            with psycopg.connect(self.url, autocommit=True) as conn:
                cur = conn.execute(sql.replace("?", "%s"), params)
                return list(cur.fetchall()) if cur.description else []
        import sqlite3

        path = database_env(self.url)["SQLITE_DBNAME"]
        with sqlite3.connect(path) as conn:
            return list(conn.execute(sql, params).fetchall())

    def rows(self) -> list[tuple[int, str, int, str, bytes]]:
        return [
            (int(r[0]), str(r[1]), int(r[2]), str(r[3]), bytes(r[4]))
            for r in self._run(
                f"SELECT {self.id}, originator_id, originator_version, topic, state "
                f"FROM {self.table} ORDER BY {self.id}"
            )
        ]

    def find(self, topic_suffix: str, nth: int = 0) -> tuple[int, str, int, str, bytes]:
        return [r for r in self.rows() if r[3].endswith(topic_suffix)][nth]

    def set_state(self, position: int, state: bytes) -> None:
        self._run(f"UPDATE {self.table} SET state = ? WHERE {self.id} = ?", (state, position))

    def delete(self, position: int) -> None:
        self._run(f"DELETE FROM {self.table} WHERE {self.id} = ?", (position,))

    def swap(self, a: int, b: int) -> None:
        self._run(f"UPDATE {self.table} SET {self.id} = -1 WHERE {self.id} = ?", (a,))
        self._run(f"UPDATE {self.table} SET {self.id} = ? WHERE {self.id} = ?", (a, b))
        self._run(f"UPDATE {self.table} SET {self.id} = ? WHERE {self.id} = -1", (b,))

    def insert(self, originator_id: str, version: int, topic: str, state: bytes) -> None:
        if self.postgres:
            self._run(
                f"INSERT INTO {self.table} (originator_id, originator_version, topic, state) "
                "VALUES (?, ?, ?, ?)",
                (originator_id, version, topic, state),
            )
        else:
            self._run(f"INSERT INTO {self.table} VALUES (?, ?, ?, ?)",
                      (originator_id, version, topic, state))  # fmt: skip


def forged_state(template: bytes, signer: Signer, cmd: str, body: dict[str, Any]) -> bytes:
    """A stored state copied from a real event, carrying another properly signed command."""
    envelope = signer.sign(cmd, body)
    state = json.loads(template)
    state.update(signed=envelope.signed.decode(), sig=base64.b64encode(envelope.signature).decode(),
                 key_id=envelope.key_id)  # fmt: skip
    return json.dumps(state).encode()


# --- the happy path ---------------------------------------------------------------------------


def test_an_untouched_log_verifies_against_its_checkpoint(books: Town, db: Database) -> None:
    note = checkpoint(books, db)
    report = audit(books, [note])
    assert report.ok, report.failure
    assert report.size == note.checkpoint.size
    assert report.root == note.checkpoint.root.hex()
    assert report.checkpoints == [note.checkpoint.size]


def test_stored_proofs_verify_against_the_checkpoint(books: Town, db: Database) -> None:
    first = checkpoint(books, db)
    books.submit(books.recorder, "disbursement.make", disbursement(1_000, recipient="R-ABCDEF"))
    second = checkpoint(books, db)
    t = tree(db, second.checkpoint.size)
    leaf = bytes(db.query("SELECT hash FROM gk_merkle_nodes WHERE level = 0 AND idx = 3")[0][0])
    verify_inclusion(3, t.size, leaf, t.inclusion_proof(3), second.checkpoint.root)
    verify_consistency(first.checkpoint.size, second.checkpoint.size,
                       t.consistency_proof(first.checkpoint.size),
                       first.checkpoint.root, second.checkpoint.root)  # fmt: skip


def test_a_witness_cosigns_a_checkpoint_that_extends_its_last(
    books: Town, db: Database, tmp_path: Path
) -> None:
    state = tmp_path / "witness.json"
    origin = origin_of(books.jurisdiction)
    checkpoint(books, db)
    cosign_latest(db, state_file=state, name="息烽县", key=WITNESS, origin=origin, log_key=LOG_KEY.public)
    books.submit(books.recorder, "disbursement.make", disbursement(1_000, recipient="R-ABCDEF"))
    checkpoint(books, db)
    note = cosign_latest(db, state_file=state, name="息烽县", key=WITNESS, origin=origin,
                         log_key=LOG_KEY.public, now=1_780_000_000)  # fmt: skip
    assert verify_cosignature(note, "息烽县", WITNESS.public) == 1_780_000_000


def test_a_log_of_corrections_goods_batches_and_role_changes_verifies(books: Town, db: Database) -> None:
    receipt = ids.donation_id(books.jurisdiction, "R2026-0001")
    books.submit(books.recorder, "correction.record", correction(books.app, receipt, 1,
                 replacement=money_donation(450_000), note="金额登记错误"))  # fmt: skip
    books.submit(books.recorder, "donation.receive", goods_donation(goods_line(16_000)))
    goods = ids.donation_id(books.jurisdiction, "R2026-0101")
    books.submit(books.recorder, "correction.record", correction(books.app, goods, 1,
                 replacement=goods_donation(goods_line(18_000)), note="物资数量登记错误"))  # fmt: skip
    books.submit(books.recorder, "goods.issue", goods_issue(goods_line(500),
                                                            approved_by=books.head.key.key_id))
    books.submit(books.admin, "official.change_role",
                 {"key_id": books.other_recorder.key.key_id, "role": "recorder", "department": "shehui"})
    books.submit(books.other_recorder, "disbursement.make", disbursement(4_000, recipient="R-MOVED1"))
    batch_of_payments(books)
    report = audit(books, [checkpoint(books, db)])
    assert report.ok, report.failure
    assert report.size == books.position()


# --- tampering --------------------------------------------------------------------------------


def test_one_changed_byte_of_an_event_is_named(books: Town, db: Database, database_url: str) -> None:
    note = checkpoint(books, db)
    events = Events(database_url)
    position, aggregate, _, _, state = events.find("Disbursed")
    events.set_state(position, state.replace(b"20000", b"20001", 1))
    report = audit(books, [note])
    assert report.failure is not None
    assert report.failure.position == position
    assert report.failure.aggregate_id.replace("-", "") == aggregate.replace("-", "")
    assert report.failure.event_type == "Program.Disbursed"
    assert "bad_signature" in report.failure.reason


def batch_of_payments(town: Town) -> list[int]:
    """Three disbursements signed as one batch (as ``gongkai import`` signs a sheet), recorded;
    their positions in the log."""
    before = town.position()
    town.app.submit_batch(town.recorder.sign_batch([
        town.recorder.prepare("disbursement.make", disbursement(amount, recipient=f"R-B{n}TCH"))
        for n, amount in enumerate((21_000, 22_000, 23_000))
    ]))  # fmt: skip
    return list(range(before + 1, town.position() + 1))


def test_batch_signed_rows_verify_and_a_changed_row_is_named(
    books: Town, db: Database, database_url: str
) -> None:
    positions = batch_of_payments(books)
    note = checkpoint(books, db)
    assert audit(books, [note]).failure is None
    events = Events(database_url)
    position, _, _, _, state = events.find("Disbursed", 3)  # the batch's second row
    assert position == positions[1] and b"GKB1" in base64.b64decode(json.loads(state)["sig"])
    events.set_state(position, state.replace(b"22000", b"22001", 1))
    report = audit(books, [note])
    assert report.failure is not None
    assert report.failure.position == position
    assert "bad_signature" in report.failure.reason


def test_a_batch_row_carrying_another_rows_proof_is_named(
    books: Town, db: Database, database_url: str
) -> None:
    positions = batch_of_payments(books)
    note = checkpoint(books, db)
    events = Events(database_url)
    first, second = (json.loads(events.find("Disbursed", n)[4]) for n in (2, 3))
    first["sig"] = second["sig"]  # a valid batch signature, but of another row
    events.set_state(positions[0], json.dumps(first).encode())
    report = audit(books, [note])
    assert report.failure is not None
    assert report.failure.position == positions[0]
    assert "bad_signature" in report.failure.reason


def test_a_deleted_event_is_named(books: Town, db: Database, database_url: str) -> None:
    note = checkpoint(books, db)
    events = Events(database_url)
    position = events.find("Allocated")[0]
    events.delete(position)
    report = audit(books, [note])
    assert report.failure is not None
    assert "Fund.Allocated" in report.failure.reason or "missing" in report.failure.reason


def test_two_swapped_events_are_named(books: Town, db: Database, database_url: str) -> None:
    note = checkpoint(books, db)
    events = Events(database_url)
    first = events.find("Disbursed", 0)[0]
    second = events.find("Disbursed", 1)[0]
    events.swap(first, second)
    report = audit(books, [note])
    assert report.failure is not None
    assert report.failure.position == first
    assert "removed, reordered or forged" in report.failure.reason


def test_an_event_forged_with_an_unenrolled_key_is_named(
    books: Town, db: Database, database_url: str
) -> None:
    events = Events(database_url)
    _, aggregate, version, topic, state = events.find("Disbursed", 1)
    forger = Signer(key("forger"), books.jurisdiction)
    events.insert(aggregate, version + 1, topic,
                  forged_state(state, forger, "disbursement.make", disbursement(5_000)))  # fmt: skip
    report = audit(books, [])
    assert report.failure is not None
    assert report.failure.version == version + 1
    assert "unknown_key" in report.failure.reason


def test_a_command_copied_to_a_later_place_in_the_log_is_named(
    books: Town, db: Database, database_url: str
) -> None:
    # A replay: the very signed bytes of an earlier command, stored again further on.
    events = Events(database_url)
    copied = events.find("Disbursed", 0)
    _, aggregate, version, topic, _ = events.find("Disbursed", 1)
    events.insert(aggregate, version + 1, topic, copied[4])
    report = audit(books, [])
    assert report.failure is not None
    assert report.failure.version == version + 1
    assert "recorded twice" in report.failure.reason


def test_an_event_signed_by_a_key_after_its_revocation_is_named(
    books: Town, db: Database, database_url: str
) -> None:
    helper = Signer(key("helper"), books.jurisdiction)
    books.submit(books.admin, "official.enrol", enrolment(helper.key, "钱临时", "recorder", "shehui"))
    books.submit(books.recorder, "disbursement.make", disbursement(1_000, recipient="R-QWERTY"))
    books.submit(books.admin, "official.revoke", {"key_id": helper.key.key_id, "reason": "调离"})
    events = Events(database_url)
    _, aggregate, version, topic, state = events.find("Disbursed", 2)
    events.insert(aggregate, version + 1, topic,
                  forged_state(state, helper, "disbursement.make", disbursement(5_000)))  # fmt: skip
    report = audit(books, [])
    assert report.failure is not None
    assert report.failure.version == version + 1
    assert "revoked_key" in report.failure.reason


def test_an_event_signed_after_its_signer_became_an_auditor_is_named(
    books: Town, db: Database, database_url: str
) -> None:
    books.submit(books.admin, "official.change_role",
                 {"key_id": books.recorder.key.key_id, "role": "auditor", "department": "shehui"})
    events = Events(database_url)
    _, aggregate, version, topic, state = events.find("Disbursed", 1)
    events.insert(aggregate, version + 1, topic,
                  forged_state(state, books.recorder, "disbursement.make", disbursement(5_000)))  # fmt: skip
    report = audit(books, [])
    assert report.failure is not None
    assert report.failure.version == version + 1
    assert "wrong_role" in report.failure.reason


def test_a_payment_beyond_the_programs_balance_signed_by_its_recorder_is_named(
    books: Town, db: Database, database_url: str
) -> None:
    events = Events(database_url)
    _, aggregate, version, topic, state = events.find("Disbursed", 1)
    events.insert(aggregate, version + 1, topic,
                  forged_state(state, books.recorder, "disbursement.make", disbursement(250_001)))  # fmt: skip
    report = audit(books, [])
    assert report.failure is not None
    assert report.failure.version == version + 1
    assert "insufficient_balance" in report.failure.reason


def test_a_rewritten_history_resigned_with_the_log_key_is_refused_by_the_witness_and_the_verifier(
    books: Town, db: Database, database_url: str, tmp_path: Path
) -> None:
    origin = origin_of(books.jurisdiction)
    state = tmp_path / "witness.json"
    honest = checkpoint(books, db)
    cosign_latest(db, state_file=state, name="息烽县", key=WITNESS, origin=origin, log_key=LOG_KEY.public)
    # The operator, holding the log key, drops the last payment and records another instead.
    events = Events(database_url)
    events.delete(events.find("Disbursed", 1)[0])
    runner(books, db).rebuild()
    books.submit(books.recorder, "disbursement.make", disbursement(30_000, recipient="R-LMNOPQ"))
    books.submit(books.recorder, "disbursement.make", disbursement(1_000, recipient="R-STUVWX"))
    forged = checkpoint(books, db)
    assert forged.checkpoint.size > honest.checkpoint.size
    with pytest.raises(ForkDetected, match="rewritten"):
        cosign_latest(db, state_file=state, name="息烽县", key=WITNESS, origin=origin,
                      log_key=LOG_KEY.public)  # fmt: skip
    report = audit(books, [honest])
    assert report.failure is not None
    assert "differs from the signed checkpoint" in report.failure.reason


def test_a_crash_of_the_log_runner_mid_batch_loses_and_repeats_nothing(
    books: Town, db: Database, database_url: str, tmp_path: Path
) -> None:
    for i in range(30):
        books.submit(books.recorder, "disbursement.make", disbursement(100 + i, recipient=f"R-CRASH{i:02d}"))
    script = f"""
import os
from ledger.application import Ledger
from projections.merkle_log import MerkleProjection
from projections.runner import Runner
from projections.sql import Database
from projections.store import database_env
url = {database_url!r}
applied = 0
original = MerkleProjection.apply
def dying_apply(self, cursor, event, position):
    global applied
    original(self, cursor, event, position)
    applied += 1
    if applied == 25:
        os._exit(9)   # killed in the middle of a page, before its commit
MerkleProjection.apply = dying_apply
app = Ledger(env=database_env(url))
Runner(app, Database(url), [MerkleProjection()]).catch_up(page=10)
"""
    crashed = subprocess.run([sys.executable, "-c", script], check=False, cwd=Path(__file__).resolve().parents[2],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert crashed.returncode == 9, crashed.stderr
    committed = tree(db).size
    assert committed == 20  # two pages of ten committed, the third rolled back
    runner(books, db).catch_up(page=10)
    resumed = tree(db)
    total = books.app.recorder.max_notification_id()
    assert resumed.size == total
    leaves = db.query("SELECT COUNT(*), COUNT(DISTINCT notification_id) FROM gk_merkle_leaves")
    assert leaves[0] == (total, total)
    root = resumed.root()
    runner(books, db).rebuild()
    assert tree(db).root() == root
