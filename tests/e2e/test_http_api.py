"""The JSON API end to end on both backends: every endpoint, signed commands as the only
authentication of writes, sessions for non-public reads (wrong role, expired session, replayed
challenge), RFC 9457 problems, idempotent retries, size limits and the rate limit."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from api.sessions import Sessions, session_message
from api.web import create_app
from ledger.application import Ledger
from ledger.commands import SignedCommand, Signer
from ledger.keys import PrivateKey
from projections.store import database_env
from tests.builders import Town, allocation, disbursement, enrolment, found_town, money_donation

PROBLEM = "application/problem+json"


@dataclass
class Api:
    client: TestClient
    town: Town
    sessions: Sessions


def wire(envelope: SignedCommand) -> dict[str, Any]:
    return {"signed": envelope.signed.decode(), "signature": base64.b64encode(envelope.signature).decode(),
            "key_id": envelope.key_id}  # fmt: skip


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    ledger = Ledger(env=database_env(database_url))
    town = found_town(ledger)
    settings = Settings(database_url=database_url, log_key_file=tmp_path / "log.key",
                        intake_key_file=tmp_path / "intake.key")  # fmt: skip
    web = create_app(settings)
    services = web.state.services
    services.log_key(create=True)
    intake = services.intake_key(create=True)
    town.submit(town.admin, "official.enrol", enrolment(intake, "公众留言", "intake", "dangzheng"))
    with TestClient(web) as client:
        yield Api(client, town, web.state.sessions)
    services.close()
    ledger.close()


def post(api: Api, signer: Signer, cmd: str, body: dict[str, Any], **headers: str) -> Any:
    return api.client.post("/api/v1/commands", json=wire(signer.sign(cmd, body)), headers=headers)


def sign_in(api: Api, key: PrivateKey) -> str:
    challenge = api.client.post("/api/v1/session/challenge").json()["challenge"]
    signature = key.sign(session_message(api.town.jurisdiction, challenge))
    response = api.client.post("/api/v1/session", json={
        "key_id": key.key_id, "challenge": challenge, "signature": base64.b64encode(signature).decode()})  # fmt: skip
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- writes ------------------------------------------------------------------------------------


def test_a_signed_command_is_recorded_and_shows_in_the_balances(api: Api) -> None:
    created = post(api, api.town.recorder, "donation.receive", money_donation(500_000))
    assert created.status_code == 201
    assert created.json()["cmd"] == "donation.receive"
    funds = {r["code"]: r for r in api.client.get("/api/v1/balances").json()}
    assert funds["F-DISASTER"]["balance_fen"] == 500_000


def test_a_retry_returns_the_first_result_and_records_nothing(api: Api) -> None:
    envelope = wire(api.town.recorder.sign("donation.receive", money_donation(100), idem="retry-1"))
    first = api.client.post("/api/v1/commands", json=envelope, headers={"Idempotency-Key": "retry-1"})
    again = api.client.post("/api/v1/commands", json=envelope, headers={"Idempotency-Key": "retry-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["versions"] == first.json()["versions"]


def test_an_idempotency_header_that_differs_from_the_signed_key_is_refused(api: Api) -> None:
    response = post(api, api.town.recorder, "donation.receive", money_donation(100), **{"Idempotency-Key": "other"})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


def test_a_bad_signature_is_401_problem_json_in_both_languages(api: Api) -> None:
    envelope = wire(api.town.recorder.sign("donation.receive", money_donation(100)))
    envelope["signed"] = envelope["signed"].replace('"amount":100', '"amount":999')
    response = api.client.post("/api/v1/commands", json=envelope)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert (problem["code"], problem["title"], problem["title_zh"]) == ("bad_signature", "Bad signature", "签名无效")


def test_a_wrong_role_is_403(api: Api) -> None:
    response = post(api, api.town.auditor, "donation.receive", money_donation(100))
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_role"


def test_an_overdraft_is_422_naming_the_field(api: Api) -> None:
    response = post(api, api.town.recorder, "allocation.make", allocation(100))
    assert response.status_code == 422
    assert response.json()["field"] == "amount"


def test_a_batch_is_all_or_nothing(api: Api) -> None:
    good = wire(api.town.recorder.sign("donation.receive", money_donation(100)))
    bad = wire(api.town.recorder.sign("allocation.make", allocation(999_999)))
    response = api.client.post("/api/v1/commands/batch", json={"commands": [good, bad]})
    assert response.status_code == 422
    assert [p["index"] for p in response.json()["problems"]] == [1]
    funds = {r["code"]: r for r in api.client.get("/api/v1/balances").json()}
    assert funds["F-DISASTER"]["balance_fen"] == 0
    assert api.client.post("/api/v1/commands/batch", json={"commands": [good]}).status_code == 201


@pytest.mark.parametrize("body", [b"{", b'{"signed": 5}', b'{"signed":"x","signature":"!!","key_id":"k"}', b"[]"])
def test_malformed_input_is_a_4xx_problem_never_a_5xx(api: Api, body: bytes) -> None:
    response = api.client.post("/api/v1/commands", content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == PROBLEM


def test_an_oversized_body_is_413(api: Api) -> None:
    response = api.client.post("/api/v1/commands", content=b"x" * 1_100_000,
                               headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 413


# --- sessions -----------------------------------------------------------------------------------


def test_the_auditor_list_needs_an_auditor_session(api: Api) -> None:
    assert api.client.get("/api/v1/recipients", params={"audience": "auditor"}).status_code == 401
    recorder = sign_in(api, api.town.recorder.key)
    wrong = api.client.get("/api/v1/recipients", params={"audience": "auditor"}, headers=bearer(recorder))
    assert wrong.status_code == 403
    auditor = sign_in(api, api.town.auditor.key)
    ok = api.client.get("/api/v1/recipients", params={"audience": "auditor"}, headers=bearer(auditor))
    assert ok.status_code == 200


def test_a_replayed_challenge_is_refused(api: Api) -> None:
    challenge = api.client.post("/api/v1/session/challenge").json()["challenge"]
    key = api.town.recorder.key
    payload = {"key_id": key.key_id, "challenge": challenge,
               "signature": base64.b64encode(key.sign(session_message("流长镇", challenge))).decode()}  # fmt: skip
    assert api.client.post("/api/v1/session", json=payload).status_code == 200
    replay = api.client.post("/api/v1/session", json=payload)
    assert replay.status_code == 401
    assert replay.json()["code"] == "session_refused"


def test_a_challenge_signed_by_another_key_is_refused(api: Api) -> None:
    challenge = api.client.post("/api/v1/session/challenge").json()["challenge"]
    forged = api.town.head.key.sign(session_message("流长镇", challenge))
    response = api.client.post("/api/v1/session", json={
        "key_id": api.town.recorder.key.key_id, "challenge": challenge,
        "signature": base64.b64encode(forged).decode()})  # fmt: skip
    assert response.status_code == 401


def test_an_expired_session_is_refused(api: Api) -> None:
    token = sign_in(api, api.town.recorder.key)
    api.sessions.clock = lambda: 10.0**12  # sixteen minutes are long past
    response = api.client.get("/api/v1/disclosures", params={"include_unpublished": True}, headers=bearer(token))
    assert response.status_code == 401


def test_a_session_cookie_needs_the_csrf_token_for_unsafe_requests(api: Api) -> None:
    sign_in(api, api.town.recorder.key)  # the client keeps the HttpOnly cookie
    assert api.client.delete("/api/v1/session").status_code == 403
    csrf = api.client.cookies.get("gk_csrf")
    assert csrf
    assert api.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204


# --- reads, disclosure, feedback, log -------------------------------------------------------------


def test_reports_trace_deadlines_and_officials_are_public(api: Api) -> None:
    post(api, api.town.recorder, "donation.receive", money_donation(500_000))
    post(api, api.town.recorder, "allocation.make", allocation(200_000))
    post(api, api.town.recorder, "disbursement.make", disbursement(50_000))
    flows = api.client.get("/api/v1/reports/flows").json()
    assert flows["totals"]["reconciles"]
    assert api.client.get("/api/v1/reports/goods").status_code == 200
    assert api.client.get("/api/v1/trace/R2026-0001").status_code == 200
    assert api.client.get("/api/v1/deadlines", params={"today": "2026-10-01"}).status_code == 200
    assert len(api.client.get("/api/v1/officials").json()) >= 7
    assert api.client.get("/api/v1/reports/flows", params={"area": "nowhere"}).status_code == 422


def test_drafts_are_not_public_but_published_items_are(api: Api) -> None:
    from tests.integration.test_disclosure import draft, step

    t = api.town
    for signer, cmd, body in ((t.recorder, "disclosure.draft", draft()), (t.recorder, "disclosure.submit", step()),
                              (t.head, "disclosure.review", step())):  # fmt: skip
        assert post(api, signer, cmd, body).status_code == 201
    assert api.client.get("/api/v1/disclosures").json() == []
    assert api.client.get("/api/v1/disclosures/GK-2026-007").status_code == 401
    token = sign_in(api, t.head.key)
    listed = api.client.get("/api/v1/disclosures", params={"include_unpublished": True}, headers=bearer(token))
    assert [i["item_no"] for i in listed.json()] == ["GK-2026-007"]
    post(api, t.leader, "disclosure.approve", step(day="2026-07-22"))
    post(api, t.recorder, "disclosure.publish", step(day="2026-07-23", channels=["notice_board"]))
    item = api.client.get("/api/v1/disclosures/GK-2026-007").json()
    assert [s["step"] for s in item["trail"]][-1] == "disclosure.publish"


def test_public_feedback_is_recorded_by_the_intake_key_and_rate_limited(api: Api) -> None:
    from tests.integration.test_disclosure import draft, step

    t = api.town
    for signer, cmd, body in ((t.recorder, "disclosure.draft", draft()), (t.recorder, "disclosure.submit", step()),
                              (t.head, "disclosure.review", step()), (t.leader, "disclosure.approve", step()),
                              (t.recorder, "disclosure.publish", step(channels=["notice_board"]))):  # fmt: skip
        assert post(api, signer, cmd, body).status_code == 201
    note = {"item_no": "GK-2026-007", "kind": "comment", "text": "请补充物资发放明细"}
    assert api.client.post("/api/v1/feedback", json=note).status_code == 201
    sealed = api.client.post("/api/v1/feedback", json=note | {"contact": "13800138000"})
    assert sealed.status_code == 201
    public_parts = [n.state for n in api.town.app.recorder.select_notifications(start=1, limit=10_000)]
    assert all(b"13800138000" not in state for state in public_parts)  # sealed, never in the log
    item = api.client.get("/api/v1/disclosures/GK-2026-007").json()
    assert "13800138000" not in json.dumps(item)
    statuses = [api.client.post("/api/v1/feedback", json=note).status_code for _ in range(25)]
    assert 429 in statuses


def test_the_log_serves_its_checkpoint_and_proofs(api: Api) -> None:
    post(api, api.town.recorder, "donation.receive", money_donation(100))
    note = api.client.get("/api/v1/log/checkpoint")
    assert note.status_code == 200
    origin, size_line = note.text.split("\n")[:2]
    assert origin == "gongkai/流长镇"
    size = int(size_line)
    inclusion = api.client.get("/api/v1/log/proof/inclusion", params={"index": 1}).json()
    assert inclusion["tree_size"] == size
    consistency = api.client.get("/api/v1/log/proof/consistency", params={"old": 2, "new": size}).json()
    assert consistency["size2"] == size
    assert api.client.get("/api/v1/log/proof/inclusion", params={"index": 10**6}).status_code == 400


def test_the_openapi_schema_is_served(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/commands" in schema["paths"]
    assert json.dumps(schema)
