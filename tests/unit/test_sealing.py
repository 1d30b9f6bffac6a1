"""Sealed parts: canonical bytes bound by their digest, encrypted per subject, unreadable
without the key or when moved to another record."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.canonical import canonical
from ledger.commands import Command, Signer
from ledger.errors import MalformedCommand, VerificationError
from ledger.sealing import SealedPart, digest_of, new_subject_key, seal, unseal
from tests.builders import JURISDICTION, key, money_donation

DATA = {"name": "张三明", "id_number": "11010519491231002X"}


def test_the_digest_is_signed_and_the_plaintext_travels_beside_it() -> None:
    envelope = Signer(key("recorder"), JURISDICTION).sign(
        "donation.receive", money_donation(), sealed={"donor_name": "张三明"}, subject="donor:R2026-0001"
    )
    command = Command.parse(envelope)
    assert envelope.sealed is not None and b"\xe5\xbc\xa0" not in envelope.signed  # 张
    assert command.sealed == digest_of(envelope.sealed)
    assert command.sealed_part is not None and command.sealed_part.subject == "donor:R2026-0001"


def test_the_same_data_sealed_twice_has_two_digests() -> None:
    assert SealedPart.pack("R-7K2Q9D", DATA).digest != SealedPart.pack("R-7K2Q9D", DATA).digest


def test_a_sealed_part_that_is_not_canonical_is_refused() -> None:
    part = SealedPart.pack("R-7K2Q9D", DATA)
    spaced = part.raw.replace(b'":', b'": ')
    with pytest.raises(MalformedCommand, match="canonical"):
        SealedPart.parse(spaced)


@pytest.mark.parametrize(
    "value",
    [{"salt": "00" * 16, "subject": "R-1", "data": {}, "extra": 1},
     {"salt": "short", "subject": "R-1", "data": {}},
     {"salt": "00" * 16, "subject": "", "data": {}},
     {"salt": "00" * 16, "subject": "R-1", "data": []}],
)  # fmt: skip
def test_a_sealed_part_of_the_wrong_shape_is_refused(value: dict[str, object]) -> None:
    with pytest.raises(MalformedCommand):
        SealedPart.parse(canonical(value))


def test_a_sealed_part_round_trips_with_its_key() -> None:
    part, subject_key = SealedPart.pack("R-7K2Q9D", DATA), new_subject_key()
    nonce, ciphertext = seal(subject_key, part)
    assert b"11010519491231002X" not in ciphertext
    assert unseal(subject_key, part.digest, nonce, ciphertext) == part


def test_another_key_or_another_record_does_not_decrypt() -> None:
    part, subject_key = SealedPart.pack("R-7K2Q9D", DATA), new_subject_key()
    nonce, ciphertext = seal(subject_key, part)
    with pytest.raises(VerificationError):
        unseal(new_subject_key(), part.digest, nonce, ciphertext)
    with pytest.raises(VerificationError):
        unseal(subject_key, "0" * 64, nonce, ciphertext)


def test_a_payload_without_a_digest_refuses_a_sealed_part() -> None:
    envelope = Signer(key("recorder"), JURISDICTION).sign("donation.receive", money_donation())
    with pytest.raises(MalformedCommand, match="sealed: null"):
        Command.parse(dataclasses.replace(envelope, sealed=SealedPart.pack("x", {}).raw))
