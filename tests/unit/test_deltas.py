"""What a signed command does to each of its aggregates' balances, worked out once per payload."""

from __future__ import annotations

from ledger import ids
from ledger.accounts import command_deltas, deltas_for
from ledger.commands import Command, Signer, payload_of
from tests.builders import JURISDICTION, allocation, key

RECORDER = Signer(key("recorder"), JURISDICTION)
FUND = ids.fund_id(JURISDICTION, "F-DISASTER")
PROGRAM = ids.program_id(JURISDICTION, "P-FLOOD")


def test_an_allocation_takes_from_the_fund_what_it_gives_the_program() -> None:
    payload = payload_of(RECORDER.sign("allocation.make", allocation(300)).signed)
    assert command_deltas(payload) == [{"": -300}, {"": 300}]
    assert (deltas_for(payload, FUND), deltas_for(payload, PROGRAM)) == ({"": -300}, {"": 300})


def test_each_payload_gets_its_own_deltas_when_asked_in_turn() -> None:
    small = payload_of(RECORDER.sign("allocation.make", allocation(100)).signed)
    large = payload_of(RECORDER.sign("allocation.make", allocation(900)).signed)
    assert deltas_for(small, PROGRAM) == {"": 100}
    assert deltas_for(large, PROGRAM) == {"": 900}
    assert deltas_for(small, FUND) == {"": -100}
    # Equal payloads that are other objects are worked out on their own, to the same deltas.
    assert command_deltas(dict(large)) == command_deltas(large)


def test_a_parsed_command_and_its_events_share_one_working_out() -> None:
    command = Command.parse(RECORDER.sign("allocation.make", allocation(500)))
    assert command_deltas(command.payload) is command_deltas(command.payload)
    assert deltas_for(command.payload, PROGRAM) == {"": 500}
