"""Benchmarks of issue 8 (``make bench`` = ``python -m benchmarks``): never part of ``make test``.

Every figure is printed next to a baseline measured in the same run, on the same machine and
the same database server, as a ratio, so a slow or busy machine moves both:

1. recording   signed single-event commands/s through ``Ledger.submit`` (client signing
               included) vs a bare eventsourcing save of events of the same size
2. import      a disbursement sheet through ``api.importer.import_file`` (rows signed one by one)
               vs a bare eventsourcing save of the same number of events
3. http        32 concurrent clients posting pre-signed commands to ``gongkai serve`` on
               PostgreSQL: commands/s and p50/p99 vs ``GET /healthz`` with the same clients,
               and every acknowledged command stored exactly once
4. audit       ``projections.audit.verify`` over the big ledger: events/s vs the machine's
               Ed25519 verification rate (one core: verify is single-threaded), peak memory
5. rebuild     every read model of ``api.bootstrap`` from zero vs a bare read of the log
6. publish     ``gongkai publish`` of the big ledger, then again after 1,000 more events

The big ledger is the demo year (``api.demo``) at a scale fitting ``--events``, recorded once
on SQLite through ``Ledger.submit_batch`` and copied event by event (the stored records, as
they are) into PostgreSQL. PostgreSQL is a private server started from ``scripts/pg.sh`` in a
temporary folder and stopped afterwards, or the server of ``GONGKAI_BENCH_POSTGRES_URL``
(databases named ``gkbench_*`` are created in it and dropped afterwards).

Nothing here ships: the package is not installed with gongkai and imports nothing from tests.
"""
