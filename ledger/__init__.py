"""gongkai's domain: money and goods, signed commands, aggregates, invariants, the ledger service.

This package knows no HTTP, no HTML and no SQL dialect; it imports only eventsourcing,
cryptography, rfc8785 and the standard library (an import-contract test keeps it so).
"""
