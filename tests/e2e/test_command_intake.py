"""``POST /api/v1/commands`` is answered by ``api.http_api.CommandIntake`` (a plain ASGI app
the server's ``Guard`` sends it to) and declared by the FastAPI route: both must give the same
answers — the same result JSON, the same replay, the same problems — on both backends."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.config import Settings
from api.group_commit import GroupCommit
from api.http_api import CommandIntake
from api.web import Guard, create_app
from ledger.application import Ledger
from ledger.commands import SignedCommand
from projections.store import database_env
from tests.builders import Town, allocation, found_town, money_donation

PROBLEM = "application/problem+json"


@dataclass
class Both:
    intake: TestClient  # the server as it runs: the command path goes to CommandIntake
    route: TestClient  # the same app with that shortcut off: the framework's route
    town: Town


def wire(envelope: SignedCommand, **extra: Any) -> bytes:
    return json.dumps({"signed": envelope.signed.decode(), "signature": base64.b64encode(envelope.signature).decode(),
                       "key_id": envelope.key_id, **extra}).encode()  # fmt: skip


@pytest.fixture
def both(database_url: str, tmp_path: Path) -> Iterator[Both]:
    ledger = Ledger(env=database_env(database_url))
    town = found_town(ledger)
    apps = []
    for name in ("intake", "route"):
        settings = Settings(database_url=database_url, log_key_file=tmp_path / f"{name}-log.key",
                            intake_key_file=tmp_path / f"{name}-intake.key")  # fmt: skip
        apps.append(create_app(settings))
    (guard,) = [m for m in apps[1].user_middleware if cast(object, m.cls) is Guard]
    assert guard.kwargs["shortcuts"]
    guard.kwargs["shortcuts"] = {}
    with TestClient(apps[0]) as intake, TestClient(apps[1]) as route:
        yield Both(intake, route, town)
    for app in apps:
        app.state.services.close()
    ledger.close()


def post(client: TestClient, body: bytes, **headers: str) -> Response:
    response: Response = client.post("/api/v1/commands", content=body,
                                     headers={"content-type": "application/json", **headers})  # fmt: skip
    return response


@pytest.mark.parametrize("first", ["intake", "route"])
def test_a_command_and_its_replay_get_the_same_result_either_way(both: Both, first: str) -> None:
    envelope = both.town.recorder.sign("donation.receive", money_donation(100))
    one, other = (both.intake, both.route) if first == "intake" else (both.route, both.intake)
    created = post(one, wire(envelope), **{"Idempotency-Key": json.loads(envelope.signed)["idem"]})
    replayed = post(other, wire(envelope, ignored="extra fields are ignored"))
    assert (created.status_code, replayed.status_code) == (201, 200)
    assert "Idempotent-Replayed" not in created.headers
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert created.headers["content-type"] == replayed.headers["content-type"] == "application/json"
    assert created.content.replace(b'"duplicate":false', b'"duplicate":true') == replayed.content
    assert list(created.json()) == ["cmd", "key_id", "idem", "targets", "versions", "duplicate"]
    assert created.headers["X-Frame-Options"] == replayed.headers["X-Frame-Options"] == "DENY"


def refusals(town: Town) -> list[tuple[bytes, dict[str, str]]]:
    forged = json.loads(wire(town.recorder.sign("donation.receive", money_donation(100))))
    forged["signed"] = forged["signed"].replace('"amount":100', '"amount":999')
    sealed_wrongly = wire(town.recorder.sign("donation.receive", money_donation(100)), sealed=5)
    return [
        (json.dumps(forged).encode(), {}),  # 401 bad signature
        (wire(town.recorder.sign("donation.receive", money_donation(100))), {"Idempotency-Key": "other"}),
        (wire(town.auditor.sign("donation.receive", money_donation(100))), {}),  # 403 wrong role
        (wire(town.recorder.sign("allocation.make", allocation(100))), {}),  # 422 overdraft
        (sealed_wrongly, {}),
        (b"{", {}),
        (b"", {}),
        (b"[]", {}),
        (b'{"signed": 5}', {}),
        (b'{"signed":"x","signature":"!!","key_id":"k"}', {}),
        (b'{"signed":"x","signature":"AA==","key_id":"' + b"k" * 65 + b'"}', {}),
        (wire(town.recorder.sign("donation.receive", money_donation(100))), {"Idempotency-Key": "k" * 201}),
        (wire(town.recorder.sign("donation.receive", money_donation(100))), {"content-type": "text/plain"}),
    ]


def where(detail: str) -> str:
    """The part of the request a shape error names first: ``body`` or ``header``."""
    return detail.split(":", maxsplit=1)[0].split(".", maxsplit=1)[0]


def test_every_refusal_is_the_same_problem_either_way_and_records_nothing(both: Both) -> None:
    before = both.town.position()
    for body, headers in refusals(both.town):
        by_intake, by_route = post(both.intake, body, **headers), post(both.route, body, **headers)
        assert 400 <= by_intake.status_code < 500, body
        assert by_intake.status_code == by_route.status_code, body
        assert by_intake.headers["content-type"] == by_route.headers["content-type"] == PROBLEM
        problem, expected = by_intake.json(), by_route.json()
        assert problem["code"] == expected["code"], body
        if problem["code"] != "invalid_request":  # the framework words shape errors its own way
            assert problem == expected, body
        else:
            assert where(problem["detail"]) == where(expected["detail"]), body
    assert both.town.position() == before


def test_a_client_gone_before_its_body_came_gets_no_answer_and_submits_nothing() -> None:
    def no_ledger() -> Ledger:
        raise AssertionError("nothing may be submitted")

    intake = CommandIntake(GroupCommit(no_ledger, threading.RLock()))
    incoming: list[dict[str, Any]] = [{"type": "http.request", "body": b'{"signed":', "more_body": True},
                                      {"type": "http.disconnect"}]  # fmt: skip
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/commands",
             "headers": [(b"content-type", b"application/json")]}  # fmt: skip
    asyncio.run(intake(scope, receive, send))
    assert sent == []
