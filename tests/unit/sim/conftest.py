from __future__ import annotations

import pytest

from tests.support.sim_exchange import Sim, new_sim


@pytest.fixture
def sim() -> Sim:
    return new_sim()
