"""The build step: solcjs compiles FillMirror into a cache keyed by the source; clear error without solcjs."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyhunter.adapters.chain.abi import event_topic
from polyhunter.sim import chain_build
from polyhunter.sim.chain_build import ChainBuildError, compile_contract
from tests.support.chain_tools import require_chain_tools

pytestmark = pytest.mark.integration


def test_compiles_into_a_cache_and_reuses_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_chain_tools(anvil=False)
    monkeypatch.setenv("POLYHUNTER_CHAIN_BUILD_DIR", str(tmp_path))
    compiled = compile_contract("FillMirror")
    assert compiled.bytecode
    events = {
        event_topic(f"{e['name']}({','.join(i['type'] for i in e['inputs'])})")
        for e in compiled.abi
        if e["type"] == "event"
    }
    assert events == {
        "0xd0a08e8c493f9c94f29311604c9de1b4e8c8d4c06bd0c789af57f2d65bfec0f6",
        "0x63bf4d16b7fa898ef4c4b2b6d90fd201e9c56313b65638af6088d149d2ce956c",
        "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee",
        "0x174b3811690657c217184f89418266767c87e4805d09680c39fc9c031c0cab7c",
    }
    [cache_dir] = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]

    calls: list[list[str]] = []
    real_run = chain_build._run_solcjs

    def counting(solcjs: Path, args: list[str], cwd: Path) -> object:
        calls.append(args)
        return real_run(solcjs, args, cwd)

    monkeypatch.setattr(chain_build, "_run_solcjs", counting)
    assert compile_contract("FillMirror") == compiled
    assert calls == [["--version"]]  # cache hit: no compilation

    changed = tmp_path / "FillMirror.sol"
    changed.write_text(chain_build.CONTRACTS_DIR.joinpath("FillMirror.sol").read_text() + "\n// changed\n")
    compile_contract("FillMirror", source=changed)
    assert len([p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]) == 2
    assert cache_dir.exists()


def test_broken_source_reports_the_compiler_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_chain_tools(anvil=False)
    monkeypatch.setenv("POLYHUNTER_CHAIN_BUILD_DIR", str(tmp_path / "cache"))
    broken = tmp_path / "Broken.sol"
    broken.write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\ncontract Broken { function f() { } }\n"
    )
    with pytest.raises(ChainBuildError, match="visibility"):
        compile_contract("Broken", source=broken)


def test_missing_solcjs_says_run_make_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain_build, "NODE_BIN", tmp_path)
    with pytest.raises(ChainBuildError, match="run make node"):
        compile_contract("FillMirror")
