"""Alembic migrations of the PolyHunter schema (run them with ``polyhunter db upgrade``)."""
