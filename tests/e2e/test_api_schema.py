"""Schemathesis against the app's own OpenAPI schema: generated requests to every operation
never cause a 5xx, and every documented response conforms to the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.config import Settings
from api.web import create_app
from ledger.application import Ledger
from projections.store import database_env
from tests.builders import allocation, disbursement, found_town, money_donation


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("schema")
    url = f"sqlite:///{folder / 'ledger.db'}"
    ledger = Ledger(env=database_env(url))
    town = found_town(ledger)
    town.submit(town.recorder, "donation.receive", money_donation(500_000))
    town.submit(town.recorder, "allocation.make", allocation(200_000))
    town.submit(town.recorder, "disbursement.make", disbursement(50_000))
    ledger.close()
    app = create_app(Settings(database_url=url, log_key_file=folder / "log.key",
                              intake_key_file=folder / "intake.key"))  # fmt: skip
    app.state.services.log_key(create=True)
    yield app
    app.state.services.close()


def test_no_5xx_and_every_response_conforms(web: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", web)
    operations = [cast(Any, result).ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)  # fmt: skip
        def exercise(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        exercise()
