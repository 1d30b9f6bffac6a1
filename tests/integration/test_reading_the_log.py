"""Reading the log: the ledger's faster paths give what eventsourcing's own would, on both
backends (the record readers, the transcoder)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from ledger.application import Ledger
from ledger.transcoder import LedgerTranscoder
from projections.store import JournalPostgresRecorder, JournalSQLiteRecorder
from tests.builders import Town
from tests.unit.test_transcoder import OURS, STANDARD


def test_the_ledger_decodes_its_log_with_it(ledger: Ledger, town: Town) -> None:
    """On both backends: every stored record of a town's log decodes to the same event state."""
    assert isinstance(ledger.mapper.transcoder, LedgerTranscoder)
    records = ledger.recorder.select_notifications(start=1, limit=10_000)
    assert len(records) > 10
    for record in records:
        assert OURS.decode(record.state) == STANDARD.decode(record.state)
        assert ledger.mapper.to_domain_event(record).__dict__ == (
            {**STANDARD.decode(record.state), "originator_id": record.originator_id,
             "originator_version": record.originator_version}
        )  # fmt: skip


def test_records_are_read_as_the_library_reads_them(ledger: Ledger, town: Town) -> None:
    recorder = ledger.recorder

    def library(*args: Any, **kwargs: Any) -> Sequence[Notification]:
        if isinstance(recorder, JournalSQLiteRecorder):
            found: Sequence[Notification] = SQLiteApplicationRecorder.select_notifications(recorder, *args, **kwargs)
        else:
            assert isinstance(recorder, JournalPostgresRecorder)
            found = PostgresApplicationRecorder.select_notifications(recorder, *args, **kwargs)
        return found

    topic = recorder.select_notifications(start=5, limit=1)[0].topic
    for start, limit, stop, topics, inclusive in [
        (1, 10_000, None, (), True),
        (None, 7, None, (), True),
        (3, 50, 20, (), True),
        (3, 50, None, (), False),
        (2, 1_000, 60, (topic,), True),
        (2, 1_000, None, [topic], True),
        (10_000, 10, None, (), True),  # past the end
    ]:
        ours = recorder.select_notifications(start, limit, stop, topics, inclusive_of_start=inclusive)
        theirs = library(start, limit, stop, topics, inclusive_of_start=inclusive)
        assert ours == theirs
        assert [(type(n.originator_id), type(n.state)) for n in ours] == [
            (type(n.originator_id), type(n.state)) for n in theirs
        ]
    assert len(recorder.select_notifications(2, 1_000, 60, (topic,))) > 1
