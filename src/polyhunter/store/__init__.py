"""Persistence: SQLAlchemy models, repositories and Alembic migrations (SQLite or PostgreSQL).

Entry points:

* ``store.database``: ``create_engine(settings.db)``, ``create_session_factory(engine)``,
  ``unit_of_work(sessions)`` (one session and one transaction per unit of work).
* ``store.migrate``: ``upgrade(db, rev)``, ``downgrade(db, rev)``, ``current(db)``, ``schema_diff(db)``.
* ``store.repos.*``: ``CopyTradeRepository`` (prewrite / transitions / claims / daily sums),
  ``CopyConfigRepository`` (versioned configs), ``WalletRepository`` (encrypted secrets),
  ``SignalRepository`` and ``SignalCursorRepository``, ``GuardrailEventRepository``,
  ``UserRepository`` and ``LeaderRepository``.
* ``store.models``: the tables; ``store.enums``: store-only enums (wallet kind, reimbursement and debt states).
"""
