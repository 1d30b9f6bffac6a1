"""Read models, the runners that keep them current exactly once, and the event store wiring.

Imports ``ledger`` and the SQL drivers (sqlite3, psycopg); never ``api`` or ``publish``.
"""
