"""Helpers shared by test modules (fakes, rigs, factories, fixture paths). Test modules import from
here, never from one another; conftest files keep the pytest fixtures and may import from here too."""
