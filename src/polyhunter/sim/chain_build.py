"""Compile the Solidity contracts under ``contracts/`` with the npm ``solc`` (``solcjs``) at build/test time.

Artifacts are never committed: they go to a cache directory (``var/chain-build/<key>/`` in the work tree, or
``$POLYHUNTER_CHAIN_BUILD_DIR``) keyed by a hash of the source (with the sources it imports, e.g. the shared
``Erc20.sol``), the compiler version and the flags, so a changed source is recompiled and an unchanged one is
compiled once. Writes are atomic (compile into a temp
dir, then rename), so concurrent test sessions can share the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess  # noqa: S404 - runs the local solcjs binary with fixed arguments
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

REPO_ROOT = Path(__file__).resolve().parents[3]
CONTRACTS_DIR = REPO_ROOT / "contracts"
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
_FLAGS = ("--bin", "--abi", "--optimize")
_TIMEOUT_S = 300
_LOCAL_IMPORT = re.compile(rb'^\s*import\s+(?:[^"]*\sfrom\s+)?"(\./[^"]+)"\s*;', re.MULTILINE)


class ChainBuildError(RuntimeError):
    """The compiler is missing or the source does not compile."""


@dataclass(frozen=True, slots=True)
class CompiledContract:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes  # creation code


def solcjs_path() -> Path:
    path = NODE_BIN / "solcjs"
    if not path.exists():
        raise ChainBuildError(f"solcjs not found at {path}: run make node")
    return path


def _cache_root() -> Path:
    override = os.environ.get("POLYHUNTER_CHAIN_BUILD_DIR")
    return Path(override) if override else REPO_ROOT / "var" / "chain-build"


def _run_solcjs(solcjs: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # noqa: S603 - fixed local binary, arguments built here
            [str(solcjs), *args], cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:  # dangling symlink or no node interpreter
        raise ChainBuildError(f"cannot run {solcjs} ({exc}): run make node") from exc
    except subprocess.TimeoutExpired as exc:
        raise ChainBuildError(f"solcjs timed out after {_TIMEOUT_S}s") from exc


def compiler_version() -> str:
    result = _run_solcjs(solcjs_path(), ["--version"], REPO_ROOT)
    if result.returncode != 0:
        raise ChainBuildError(f"solcjs --version failed: {result.stderr.strip()}")
    return result.stdout.strip()


def build_key(source: bytes, version: str) -> str:
    digest = hashlib.sha256()
    for part in (source, version.encode(), " ".join(_FLAGS).encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:24]


def compile_contract(name: str = "FillMirror", source: Path | None = None) -> CompiledContract:
    """Compile ``contracts/<name>.sol`` (or ``source``) and return contract ``name`` from it."""
    path = source or CONTRACTS_DIR / f"{name}.sol"
    if not path.is_file():
        raise ChainBuildError(f"no Solidity source at {path}")
    solcjs = solcjs_path()
    text = _with_imports(path)
    out_dir = _cache_root() / build_key(text, compiler_version())
    stem = f"{path.stem}_sol_{name}"
    bin_file, abi_file = out_dir / f"{stem}.bin", out_dir / f"{stem}.abi"
    if not (bin_file.exists() and abi_file.exists()):
        _compile_into(solcjs, path, out_dir)
    if not bin_file.exists():
        raise ChainBuildError(f"{path.name} compiled but has no contract {name}")
    bytecode = bytes.fromhex(bin_file.read_text().strip())
    if not bytecode:
        raise ChainBuildError(f"{name} is abstract or an interface: empty bytecode")
    abi = cast(list[dict[str, Any]], json.loads(abi_file.read_text()))
    return CompiledContract(name=name, abi=abi, bytecode=bytecode)


def _with_imports(path: Path) -> bytes:
    """The source and every local source it imports (``import ... "./X.sol";``), each once, for the cache key."""
    seen: dict[Path, bytes] = {}
    todo = [path.resolve()]
    while todo:
        current = todo.pop()
        if current in seen or not current.is_file():
            continue
        seen[current] = current.read_bytes()
        todo.extend((current.parent / m.decode()).resolve() for m in _LOCAL_IMPORT.findall(seen[current]))
    return b"".join(seen.values())


def _compile_into(solcjs: Path, path: Path, out_dir: Path) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=out_dir.parent))
    try:
        result = _run_solcjs(solcjs, [*_FLAGS, "-o", str(staging), path.name], path.parent)
        if result.returncode != 0:
            raise ChainBuildError(
                f"solcjs failed on {path.name}:\n{result.stderr.strip() or result.stdout.strip()}"
            )
        try:
            staging.rename(out_dir)
        except OSError:
            if not out_dir.exists():  # not a lost race with a concurrent build of the same key
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
