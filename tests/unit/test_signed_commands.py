"""The signed envelope: what Signer produces, what Command.parse accepts, what submit re-derives."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger import ids
from ledger.canonical import canonical, parse
from ledger.commands import Command, SignedCommand, Signer, read_payload
from ledger.errors import MalformedCommand
from tests.builders import (
    JURISDICTION,
    Town,
    allocation,
    key,
    money_donation,
    refusal,
    resigned,
    signed_bytes,
)

RECORDER = key("recorder")


def donation_envelope() -> SignedCommand:
    return Signer(RECORDER, JURISDICTION).sign(
        "donation.receive", money_donation(), idem="idem-1", at=datetime(2026, 7, 10, 9, tzinfo=UTC)
    )


def test_the_signer_signs_canonical_bytes() -> None:
    envelope = donation_envelope()
    assert canonical(parse(envelope.signed)) == envelope.signed
    RECORDER.public.verify(envelope.signature, envelope.signed)


def test_the_signer_derives_the_targets_from_the_body() -> None:
    command = Command.parse(donation_envelope())
    assert command.targets == (
        ids.donation_id(JURISDICTION, "R2026-0001"),
        ids.fund_id(JURISDICTION, "F-DISASTER"),
    )


def test_a_parsed_command_carries_who_what_and_when() -> None:
    command = Command.parse(donation_envelope())
    assert (command.cmd, command.by, command.idem, command.log) == (
        "donation.receive", RECORDER.key_id, "idem-1", JURISDICTION
    )  # fmt: skip
    assert command.at == datetime(2026, 7, 10, 9, tzinfo=UTC)
    assert command.body == money_donation()


def test_a_time_with_another_offset_is_kept_with_its_offset() -> None:
    china = timezone(timedelta(hours=8))
    envelope = resigned(donation_envelope(), RECORDER, at="2026-07-10T17:00:00+08:00")
    assert Command.parse(envelope).at == datetime(2026, 7, 10, 17, tzinfo=china)


def test_a_time_without_an_offset_is_refused() -> None:
    envelope = resigned(donation_envelope(), RECORDER, at="2026-07-10T09:00:00")
    with pytest.raises(MalformedCommand, match="command.at must carry a UTC offset"):
        Command.parse(envelope)


def test_a_time_that_is_not_iso_8601_is_refused() -> None:
    envelope = resigned(donation_envelope(), RECORDER, at="10 July 2026")
    with pytest.raises(MalformedCommand, match="command.at"):
        Command.parse(envelope)


def test_by_must_be_the_key_the_command_came_with() -> None:
    envelope = resigned(donation_envelope(), RECORDER, by=key("head").key_id)
    with pytest.raises(MalformedCommand, match="command.by"):
        Command.parse(envelope)


def test_an_unknown_envelope_field_is_refused() -> None:
    envelope = resigned(donation_envelope(), RECORDER, comment="hi")
    with pytest.raises(MalformedCommand, match="unknown field.*comment"):
        Command.parse(envelope)


def test_another_payload_version_is_refused() -> None:
    with pytest.raises(MalformedCommand, match="command.v"):
        Command.parse(resigned(donation_envelope(), RECORDER, v=2))


@pytest.mark.parametrize("targets", [[], ["not-a-uuid"], "6b1f3c1e-7a0e-5d7e-9f3a-6f6e676b6169"])
def test_targets_must_be_a_non_empty_list_of_uuids(targets: object) -> None:
    with pytest.raises(MalformedCommand, match="command.targets"):
        Command.parse(resigned(donation_envelope(), RECORDER, targets=targets))


def test_signed_bytes_with_a_duplicate_key_are_refused() -> None:
    data = donation_envelope().signed.replace(b'"v":1', b'"v":1,"v":1')
    with pytest.raises(MalformedCommand, match="duplicate key 'v'"):
        Command.parse(signed_bytes(data, RECORDER))


def test_a_float_amount_in_signed_bytes_is_refused() -> None:
    data = donation_envelope().signed.replace(b'"amount":100000', b'"amount":1000.5')
    with pytest.raises(MalformedCommand, match="1000.5"):
        Command.parse(signed_bytes(data, RECORDER))


def test_submit_refuses_targets_that_differ_from_what_the_body_names(memory_town: Town) -> None:
    envelope = memory_town.recorder.sign("allocation.make", allocation(100))
    wrong = list(reversed(json.loads(envelope.signed)["targets"]))
    error = refusal(memory_town, resigned(envelope, memory_town.recorder.key, targets=wrong))
    assert type(error) is MalformedCommand
    assert "command.targets" in error.message


def test_submit_refuses_a_command_for_another_jurisdictions_log(memory_town: Town) -> None:
    envelope = memory_town.recorder.sign("allocation.make", allocation(100))
    error = refusal(memory_town, resigned(envelope, memory_town.recorder.key, log="青山镇"))
    assert type(error) is MalformedCommand
    assert "青山镇" in error.message


# --- one parse per command --------------------------------------------------------------------


def test_the_events_of_a_command_read_the_payload_it_was_parsed_into() -> None:
    command = Command.parse(donation_envelope())
    assert command.payload == json.loads(command.envelope.signed)
    assert read_payload(command.text) is command.payload
    assert command.body is command.payload["body"]


def test_a_payload_read_is_never_another_texts_even_after_other_commands() -> None:
    first = Command.parse(donation_envelope())
    second = Command.parse(resigned(donation_envelope(), RECORDER, idem="idem-2"))
    assert read_payload(first.text) == json.loads(first.text)  # not the last parsed
    assert read_payload(first.text)["idem"] == "idem-1"
    assert read_payload(second.text)["idem"] == "idem-2"
    # An equal text that is another object is parsed on its own, to the same value.
    copy = "".join(list(second.text))
    assert copy is not second.text
    assert read_payload(copy) == second.payload and read_payload(copy) is not second.payload


def test_signed_bytes_that_are_not_utf8_are_refused_as_malformed() -> None:
    data = donation_envelope().signed.replace("流".encode(), b"\xff\xfe\xfd", 1)
    with pytest.raises(MalformedCommand, match="not valid JSON"):
        Command.parse(signed_bytes(data, RECORDER))


def test_a_byte_order_mark_before_the_signed_payload_is_refused() -> None:
    data = b"\xef\xbb\xbf" + donation_envelope().signed
    with pytest.raises(MalformedCommand, match="not valid JSON"):
        Command.parse(signed_bytes(data, RECORDER))
