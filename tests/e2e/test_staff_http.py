"""The staff web app's JSON endpoints and pages over HTTP, on both backends.

``/api/v1/commands/prepare`` gives the exact bytes an official's own key signs (what ``Signer``
would sign, without the signature); ``/api/v1/imports`` checks a sheet and prepares its rows
for signing, recording nothing; ``/api/v1/history/{aggregate}`` lists events to correct. The
``/staff/`` pages need a session, carry no inline script or style and are never cached.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from api.sessions import session_message
from api.web import create_app
from ledger import ids
from ledger.application import Ledger
from ledger.commands import Signer
from projections.store import database_env
from tests.builders import Town, found_town, money_donation

PROBLEM = "application/problem+json"
PAGES = ("/staff/", "/staff/record/donation", "/staff/record/appropriation", "/staff/record/allocation",
         "/staff/record/disbursement", "/staff/record/goods-issue", "/staff/correction",
         "/staff/disclosures/new", "/staff/inbox", "/staff/imports", "/staff/deadlines", "/staff/flows")  # fmt: skip
HEADER = "收据编号,日期,捐赠方类别,捐赠方名称,同意公开,资金代码,金额(元)\n"


@dataclass
class Staff:
    client: TestClient
    town: Town


@pytest.fixture
def staff(database_url: str, tmp_path: Path) -> Iterator[Staff]:
    ledger = Ledger(env=database_env(database_url))
    town = found_town(ledger)
    town.submit(town.recorder, "donation.receive", money_donation(500_000))
    settings = Settings(database_url=database_url, log_key_file=tmp_path / "log.key",
                        intake_key_file=tmp_path / "intake.key")  # fmt: skip
    web = create_app(settings)
    web.state.services.log_key(create=True)
    with TestClient(web) as client:
        yield Staff(client, town)
    web.state.services.close()
    ledger.close()


def sign_in(staff: Staff, signer: Signer) -> dict[str, str]:
    """Open a session for ``signer`` (the client keeps its cookies); -> the CSRF header."""
    challenge = staff.client.post("/api/v1/session/challenge").json()["challenge"]
    signature = signer.key.sign(session_message(staff.town.jurisdiction, challenge))
    opened = staff.client.post("/api/v1/session", json={
        "key_id": signer.key.key_id, "challenge": challenge, "signature": base64.b64encode(signature).decode()})  # fmt: skip
    assert opened.status_code == 200, opened.text
    return {"X-CSRF-Token": opened.json()["csrf"]}


def prepare(staff: Staff, signer: Signer, cmd: str, body: dict[str, Any], **extra: Any) -> Any:
    return staff.client.post("/api/v1/commands/prepare", json={"cmd": cmd, "body": body,
                                                                "key_id": signer.key.key_id, **extra})  # fmt: skip


def envelope(signer: Signer, prepared: dict[str, Any]) -> dict[str, Any]:
    """What the browser does with a prepared command: sign its exact bytes."""
    signature = signer.key.sign(prepared["signed"].encode("utf-8"))
    return {"signed": prepared["signed"], "signature": base64.b64encode(signature).decode(),
            "key_id": signer.key.key_id, "sealed": prepared["sealed"]}  # fmt: skip


# --- prepare -----------------------------------------------------------------------------------


def test_a_prepared_command_signed_elsewhere_is_recorded(staff: Staff) -> None:
    body = money_donation(20_000, receipt_no="R2026-0900")
    prepared = prepare(staff, staff.town.recorder, "donation.receive", body, idem="web-1")
    assert prepared.status_code == 200, prepared.text
    payload = json.loads(prepared.json()["signed"])
    assert (payload["cmd"], payload["by"], payload["body"], payload["idem"], payload["log"]) == (
        "donation.receive", staff.town.recorder.key.key_id, body, "web-1", "流长镇")
    assert payload["targets"] == [str(ids.donation_id("流长镇", "R2026-0900")), str(ids.fund_id("流长镇", "F-DISASTER"))]
    recorded = staff.client.post("/api/v1/commands", json=envelope(staff.town.recorder, prepared.json()))
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["idem"] == "web-1"


def test_preparing_records_nothing(staff: Staff) -> None:
    before = staff.client.get("/api/v1/balances").json()
    prepare(staff, staff.town.recorder, "donation.receive", money_donation(1, receipt_no="R2026-0901"))
    assert staff.client.get("/api/v1/balances").json() == before


def test_a_sealed_part_is_prepared_with_its_digest_in_the_payload(staff: Staff) -> None:
    body = {"receipt_no": "R2026-0902", "date": "2026-07-10", "donor_class": "individual",
            "consent": False, "fund": "F-DISASTER", "amount": 10_000}  # fmt: skip
    sealed = {"subject": "donor:R2026-0902", "data": {"donor_name": "王某某"}}
    prepared = prepare(staff, staff.town.recorder, "donation.receive", body, sealed=sealed).json()
    assert json.loads(prepared["signed"])["sealed"] == hashlib.sha256(prepared["sealed"].encode()).hexdigest()
    assert json.loads(prepared["sealed"])["data"] == {"donor_name": "王某某"}
    assert staff.client.post("/api/v1/commands", json=envelope(staff.town.recorder, prepared)).status_code == 201


@pytest.mark.parametrize(("who", "cmd", "status", "code"), [
    ("head", "donation.receive", 403, "wrong_role"),
    ("recorder", "no.such", 400, "malformed_command"),
])  # fmt: skip
def test_preparing_refuses_before_anything_is_signed(staff: Staff, who: str, cmd: str, status: int, code: str) -> None:
    response = prepare(staff, getattr(staff.town, who), cmd, money_donation(100))
    assert (response.status_code, response.headers["content-type"]) == (status, PROBLEM)
    assert response.json()["code"] == code


def test_a_bad_body_is_refused_naming_the_field(staff: Staff) -> None:
    response = prepare(staff, staff.town.recorder, "donation.receive", money_donation(100) | {"date": "July"})
    assert response.status_code == 400
    assert "date" in response.json()["detail"]


def test_an_unknown_key_cannot_prepare(staff: Staff) -> None:
    response = staff.client.post("/api/v1/commands/prepare", json={
        "cmd": "donation.receive", "body": money_donation(100), "key_id": "0" * 32})  # fmt: skip
    assert response.status_code == 401


# --- imports -----------------------------------------------------------------------------------


def test_an_import_needs_a_session(staff: Staff) -> None:
    response = staff.client.post("/api/v1/imports?name=a.csv", content=HEADER.encode())
    assert response.status_code == 401


def test_an_import_with_the_cookie_needs_the_csrf_header(staff: Staff) -> None:
    sign_in(staff, staff.town.recorder)
    response = staff.client.post("/api/v1/imports?name=a.csv", content=HEADER.encode())
    assert response.status_code == 403


def test_an_import_reports_every_bad_row_and_records_nothing(staff: Staff) -> None:
    csrf = sign_in(staff, staff.town.recorder)
    sheet = HEADER + "R-1,2026-07-10,企业,,否,F-DISASTER,100\nR-2,2026-07-10,火星人,,否,F-NONE,abc\n"
    before = staff.client.get("/api/v1/balances").json()
    response = staff.client.post("/api/v1/imports?name=july.csv", content=sheet.encode(), headers=csrf)
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert {p["row"] for p in problems} == {3}
    assert {"捐赠方类别", "金额(元)"} <= {p["column"] for p in problems}
    assert staff.client.get("/api/v1/balances").json() == before


def test_a_damaged_workbook_is_a_refusal_not_an_error(staff: Staff) -> None:
    csrf = sign_in(staff, staff.town.recorder)
    response = staff.client.post("/api/v1/imports?name=x.xlsx", content=b"PK\x03\x04garbage", headers=csrf)
    assert response.status_code == 422
    assert response.json()["problems"][0]["row"] == 1


def test_imported_rows_signed_in_the_browser_are_recorded_all_at_once(staff: Staff) -> None:
    csrf = sign_in(staff, staff.town.recorder)
    sheet = HEADER + "R-11,2026-07-10,企业,某公司,是,F-DISASTER,100\nR-12,2026-07-11,个人,,否,F-DISASTER,2.5万\n"
    checked = staff.client.post("/api/v1/imports?name=july.csv", content=sheet.encode(), headers=csrf)
    assert checked.status_code == 200, checked.text
    data = checked.json()
    assert (data["kind"], data["cmd"], [r["row"] for r in data["rows"]]) == ("donations", "donation.receive", [2, 3])
    assert [r["body"]["amount"] for r in data["rows"]] == [10_000, 2_500_000]
    batch = {"commands": [envelope(staff.town.recorder, r["prepared"]) for r in data["rows"]]}
    recorded = staff.client.post("/api/v1/commands/batch", json=batch)
    assert recorded.status_code == 201, recorded.text
    # The same rows again (a re-saved file): content-derived keys record nothing twice.
    again = staff.client.post("/api/v1/imports?name=copy.csv", content=sheet.encode(), headers=csrf).json()
    replay = staff.client.post("/api/v1/commands/batch", json={
        "commands": [envelope(staff.town.recorder, r["prepared"]) for r in again["rows"]]})  # fmt: skip
    assert [r["duplicate"] for r in replay.json()] == [True, True]


# --- history -----------------------------------------------------------------------------------


def test_history_needs_a_session(staff: Staff) -> None:
    assert staff.client.get("/api/v1/history/receipt:R2026-0001").status_code == 401


def test_history_marks_what_can_still_be_corrected(staff: Staff) -> None:
    sign_in(staff, staff.town.recorder)
    events = staff.client.get("/api/v1/history/receipt:R2026-0001").json()["events"]
    assert [(e["version"], e["cmd"], e["correctable"]) for e in events] == [(1, "donation.receive", True)]
    # The fund holds the donation too, but a correction is made on the receipt (its first target).
    in_fund = [e for e in staff.client.get("/api/v1/history/fund:F-DISASTER").json()["events"]
               if e["cmd"] == "donation.receive"]  # fmt: skip
    assert [(e["correctable"], e["home"]) for e in in_fund] == [(False, str(ids.donation_id("流长镇", "R2026-0001")))]
    original = events[0]
    body = {"corrects": {"aggregate": str(ids.donation_id("流长镇", "R2026-0001")), "version": 1},
            "original": {"cmd": original["cmd"], "body": original["body"]},
            "replacement": original["body"] | {"amount": 400_000}, "note": "金额录入错误，应为4000元"}  # fmt: skip
    prepared = prepare(staff, staff.town.recorder, "correction.record", body).json()
    assert staff.client.post("/api/v1/commands", json=envelope(staff.town.recorder, prepared)).status_code == 201
    after = staff.client.get("/api/v1/history/receipt:R2026-0001").json()["events"]
    assert [(e["version"], e["correctable"], e["corrected_by"]) for e in after] == [(2, False, None), (1, False, 2)]


def test_history_refuses_what_names_no_aggregate(staff: Staff) -> None:
    sign_in(staff, staff.town.recorder)
    response = staff.client.get("/api/v1/history/nothing-here")
    assert (response.status_code, response.json()["code"]) == (400, "bad_input")


# --- pages -------------------------------------------------------------------------------------


def test_pages_send_you_to_sign_in_without_a_session(staff: Staff) -> None:
    response = staff.client.get("/staff/inbox", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/?next=/staff/inbox"
    signin = staff.client.get("/staff/")
    assert 'id="signin"' in signin.text
    assert 'data-next="/staff/"' in signin.text
    again = staff.client.get("/staff/signin", params={"next": "/staff/inbox"})  # to load the key again
    assert 'data-next="/staff/inbox"' in again.text


def test_sign_in_goes_back_only_to_a_staff_page(staff: Staff) -> None:
    sign_in(staff, staff.town.recorder)
    assert staff.client.get("/staff/?next=/staff/flows", follow_redirects=False).headers["location"] == "/staff/flows"
    for elsewhere in ("https://evil.example/", "//evil.example/staff/", "/staff/..//evil"):
        response = staff.client.get("/staff/", params={"next": elsewhere}, follow_redirects=False)
        assert response.status_code == 200, elsewhere


def test_every_page_renders_in_chinese_without_inline_script_or_style(staff: Staff) -> None:
    sign_in(staff, staff.town.recorder)
    for path in PAGES:
        page = staff.client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert '<html lang="zh-CN">' in page.text
        assert "李经办" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "<style" not in page.text and " style=" not in page.text, path
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) is None, path
        assert re.search(r"\son[a-z]+=", page.text) is None, path  # no inline event handlers


def test_the_inbox_shows_each_role_what_it_can_sign(staff: Staff) -> None:
    town = staff.town
    checkpoint = {"size": 1, "root": base64.b64encode(bytes(32)).decode()}
    town.submit(town.recorder, "disclosure.draft", {
        "item_no": "GK-1", "title": "7月捐赠接收情况", "kind": "execution", "area": "disaster",
        "department": "shehui", "content": {"type": "report", "report": "flows", "checkpoint": checkpoint},
        "date": "2026-07-12"})  # fmt: skip
    town.submit(town.recorder, "disclosure.submit", {"item_no": "GK-1", "date": "2026-07-12"})
    sign_in(staff, town.head)
    inbox = staff.client.get("/staff/inbox").text
    review = inbox.split('data-group="disclosure.review"')[1].split("</section>")[0]
    assert 'data-item="GK-1"' in review and 'data-cmd="disclosure.review"' in review
    sign_in(staff, town.leader)
    assert 'data-item="GK-1"' not in staff.client.get("/staff/inbox").text.split('data-group="in-progress"')[0]


def test_the_deadline_dashboard_and_the_flows_read_the_read_models(staff: Staff) -> None:
    sign_in(staff, staff.town.filer)
    flows = staff.client.get("/staff/flows", params={"fund": "F-DISASTER"}).text
    assert "¥5,000.00" in flows and "✔" in flows
    assert "公开时限督查" in staff.client.get("/staff/deadlines").text
