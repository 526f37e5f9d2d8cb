"""Persistence: SQLAlchemy models, repositories and Alembic migrations (SQLite or PostgreSQL).

Entry points:

* ``store.database``: ``create_engine(settings.db)``, ``create_session_factory(engine)``,
  ``unit_of_work(sessions)`` (one session and one transaction per unit of work).
* ``store.migrate``: ``upgrade(db, rev)``, ``downgrade(db, rev)``, ``current(db)``, ``schema_diff(db)``.
* ``store.copy_store``: ``SqlCopyStore``, the ``CopyStore`` port (ports/store.py) the copy engine runs on:
  the one write path for copy trades (prewrite, outcomes, the PENDING sweep's claims and reconcile
  writes; its SQL in ``store.copy_writes``), and the seeds a supervisor starts from.
* ``store.repos.*``: ``CopyTradeRepository`` (reads / claims / daily sums),
  ``CopyConfigRepository`` (versioned configs), ``WalletRepository`` (encrypted secrets),
  ``SignalRepository`` and ``SignalCursorRepository``, ``GuardrailEventRepository``,
  ``UserRepository`` and ``LeaderRepository``.
* ``store.models``: the tables; ``store.enums``: store-only enums (wallet kind, reimbursement and debt states).
"""
