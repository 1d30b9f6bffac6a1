"""One-off records with a natural key: a donation (receipt number), a pledge, an appropriation.

Their deterministic ids make a receipt or document number unique per jurisdiction: recording
the same one twice is a conflict, never a second record. They also mark which of their events
were corrected, since a correction targets the same aggregates as the event it corrects.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.commands import read_payload
from ledger.errors import CorrectionError


class Record(Aggregate):
    @staticmethod
    def create_id(signed: str) -> UUID:
        return UUID(read_payload(signed)["targets"][0])

    def _start(self, signed: str) -> None:
        payload = read_payload(signed)
        self.cmd: str = payload["cmd"]
        self.corrected: dict[str, str] = {}
        # A record reversed by a correction (without replacement) may be recorded anew under
        # the same number, e.g. to move a donation to the right fund.
        self.reversed = False

    def _correct(self, signed: str) -> None:
        payload = read_payload(signed)
        ref = payload["body"]["corrects"]
        self.corrected[f"{ref['aggregate']}:{ref['version']}"] = payload["nonce"]
        if ref["aggregate"] == str(self.id) and payload["body"].get("replacement") is None:
            self.reversed = True

    @event("RecordedAgain")
    def recorded_again(self, signed: str, sig: str, key_id: str) -> None:
        self.reversed = False

    def check_not_corrected(self, version: int) -> None:
        if f"{self.id}:{version}" in self.corrected:
            raise CorrectionError(f"event {self.id} v{version} was already corrected")


class Donation(Record):
    @event("Received")
    def __init__(self, signed: str, sig: str, key_id: str) -> None:
        self._start(signed)

    @event("Corrected")
    def corrected_by(self, signed: str, sig: str, key_id: str) -> None:
        self._correct(signed)


class Pledge(Record):
    @event("Recorded")
    def __init__(self, signed: str, sig: str, key_id: str) -> None:
        self._start(signed)

    @event("Corrected")
    def corrected_by(self, signed: str, sig: str, key_id: str) -> None:
        self._correct(signed)


class Appropriation(Record):
    @event("Received")
    def __init__(self, signed: str, sig: str, key_id: str) -> None:
        self._start(signed)

    @event("Corrected")
    def corrected_by(self, signed: str, sig: str, key_id: str) -> None:
        self._correct(signed)
