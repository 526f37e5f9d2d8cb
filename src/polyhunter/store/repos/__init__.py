"""Repositories: small async classes over one ``AsyncSession`` (one unit of work); they flush, the
caller's ``unit_of_work`` commits."""
