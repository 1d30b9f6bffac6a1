"""Officials' Ed25519 keys: key files, key ids, and verification that raises, never returns False."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.errors import BadSignature, InputError
from ledger.keys import (
    PrivateKey,
    PublicKey,
    key_id_of,
    read_private_key,
    read_public_key,
    write_keypair,
)
from tests.builders import flip_byte

MESSAGE = b'{"cmd":"donation.receive"}'


def test_a_key_file_opens_with_its_passphrase_to_the_same_key() -> None:
    key = PrivateKey.from_seed(b"recorder")
    reopened = PrivateKey.from_pem(key.to_pem(b"correct horse"), b"correct horse")
    assert reopened.key_id == key.key_id
    key.public.verify(reopened.sign(MESSAGE), MESSAGE)


def test_a_key_file_does_not_open_with_a_wrong_passphrase() -> None:
    pem = PrivateKey.from_seed(b"recorder").to_pem(b"correct horse")
    with pytest.raises(InputError, match="wrong passphrase"):
        PrivateKey.from_pem(pem, b"battery staple")


def test_a_key_file_needs_a_passphrase() -> None:
    with pytest.raises(InputError, match="passphrase"):
        PrivateKey.from_seed(b"recorder").to_pem(b"")


def test_a_key_file_holding_another_kind_of_key_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(InputError, match="Ed25519"):
        PrivateKey.from_pem(pem, b"pw")


def test_the_key_id_is_the_first_16_bytes_of_the_public_keys_sha256() -> None:
    key = PrivateKey.from_seed(b"gongkai-tests/recorder")
    assert key.key_id == hashlib.sha256(key.public.raw).hexdigest()[:32]
    assert key.key_id == "473c150dbb4d375d02fddd6cee9fa228"


def test_different_keys_have_different_ids() -> None:
    assert PrivateKey.from_seed(b"a").key_id != PrivateKey.from_seed(b"b").key_id


def test_a_public_key_round_trips_through_base64() -> None:
    key = PrivateKey.from_seed(b"head").public
    assert PublicKey.from_b64(key.b64()) == key
    assert PublicKey.from_b64(key.b64()).key_id == key_id_of(key.raw)


@pytest.mark.parametrize("text", ["not base64!", "AAAA", ""])
def test_a_public_key_must_be_32_bytes_of_base64(text: str) -> None:
    with pytest.raises(InputError):
        PublicKey.from_b64(text)


def test_a_valid_signature_verifies() -> None:
    key = PrivateKey.from_seed(b"recorder")
    key.public.verify(key.sign(MESSAGE), MESSAGE)


@pytest.mark.parametrize("index", [0, 31, 63])
def test_a_signature_with_a_flipped_byte_is_a_bad_signature(index: int) -> None:
    key = PrivateKey.from_seed(b"recorder")
    with pytest.raises(BadSignature, match=key.key_id):
        key.public.verify(flip_byte(key.sign(MESSAGE), index), MESSAGE)


def test_a_message_with_a_flipped_byte_is_a_bad_signature() -> None:
    key = PrivateKey.from_seed(b"recorder")
    with pytest.raises(BadSignature):
        key.public.verify(key.sign(MESSAGE), flip_byte(MESSAGE, 10))


def test_a_truncated_signature_is_a_bad_signature() -> None:
    key = PrivateKey.from_seed(b"recorder")
    with pytest.raises(BadSignature):
        key.public.verify(key.sign(MESSAGE)[:63], MESSAGE)


def test_another_officials_signature_is_a_bad_signature() -> None:
    with pytest.raises(BadSignature):
        PrivateKey.from_seed(b"recorder").public.verify(
            PrivateKey.from_seed(b"head").sign(MESSAGE), MESSAGE
        )


def test_a_written_keypair_reads_back_and_its_private_half_is_owner_only(tmp_path: Path) -> None:
    key = PrivateKey.from_seed(b"recorder")
    private_path, public_path = write_keypair(key, tmp_path / "keys" / "li", b"pw")
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert read_private_key(private_path, b"pw").key_id == key.key_id
    assert read_public_key(public_path) == key.public


def test_writing_a_keypair_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    write_keypair(PrivateKey.from_seed(b"recorder"), tmp_path / "li", b"pw")
    with pytest.raises(InputError, match="already exists"):
        write_keypair(PrivateKey.from_seed(b"head"), tmp_path / "li", b"pw")


def test_a_missing_key_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_private_key(tmp_path / "absent.key", b"pw")
