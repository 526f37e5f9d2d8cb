"""The chain tools (anvil, solcjs from node_modules) a chain test needs: skipped on a developer machine
without them, a failure under CI (`CI=true`, where `make test` installs them: a broken install must not
pass as a green run of fewer tests)."""

from __future__ import annotations

import os

import pytest

from polyhunter.sim.anvil import AnvilError, anvil_path
from polyhunter.sim.chain_build import ChainBuildError, solcjs_path


def require_chain_tools(*, anvil: bool = True) -> None:
    try:
        if anvil:
            anvil_path()
        solcjs_path()
    except (AnvilError, ChainBuildError) as exc:
        message = f"chain tools missing ({exc}); `make test` / `make node` installs them"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
