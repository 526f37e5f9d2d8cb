"""The run-file loader under fuzzing (issue 13, done-when): whatever the file holds (random text and
bytes, TOML-ish documents, a valid run file with a key set to a hostile value, deleted or added), the
loader returns a `RunFile` or raises its documented error, `SettingsError`, whose message is one line
per problem, each starting with the file's path and naming a key (no raw control characters, no line
injected by a key or a follower name).
"""

from __future__ import annotations

import json
import math
import os
import string
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyhunter.runtime.run_file import RunFile, load_run_file
from polyhunter.settings import SettingsError

LEADER = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
KEY_ENV = "POLYHUNTER_FUZZ_RUN_FILE_KEY"
os.environ.setdefault(KEY_ENV, "0x" + "11" * 32)  # a variable of this test alone
VALID: dict[str, Any] = {
    "followers": [
        {
            "name": "alice",
            "custody": "PAPER",
            "starting_cash_usdc": "1000",
            "limits": {"daily_cap_usdc": "200", "max_trade_usdc": "25"},
            "copies": [
                {
                    "leader": LEADER,
                    "sizing": "FIXED_USDC",
                    "sizing_value": "10",
                    "max_trade_usdc": "50",
                    "sides": ["BUY", "SELL"],
                    "allow_markets": ["0x" + "01" * 32],
                    "min_price": "0.05",
                    "max_price": "0.95",
                    "max_slippage_bps": 200,
                    "mirror_sells": True,
                },
                {"leader": OTHER, "sizing": "PERCENT_OF_LEADER", "sizing_value": 50},
            ],
        },
        {
            "name": "bob",
            "custody": "EOA",
            "private_key_env": KEY_ENV,
            "signature_type": 0,
            "copies": [{"leader": LEADER, "sizing": "MULTIPLIER", "sizing_value": 1.5}],
        },
    ]
}

# ------------------------------------------------------------------------------- a TOML writer


def _key(key: str) -> str:
    return key if key and all(c in string.ascii_letters + string.digits + "_-" for c in key) else _str(key)


def _str(value: str) -> str:
    # JSON string escapes are TOML basic-string escapes (a lone surrogate is refused by the TOML parser)
    return json.dumps(value)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(doc: dict[str, Any]) -> str:
    return "".join(f"{_key(str(k))} = {_value(v)}\n" for k, v in doc.items())


# ------------------------------------------------------------------------------------ strategies

NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\x1b[31m",
        "a\nb",
        "a\rb",
        "\u202e",
        "\u2028",
        "\ufeff",
        "e\u0301" * 50,
        "x" * 10_000,
        "NaN",
        "inf",
        "-1",
        "1e308",
        "0x",
        LEADER.upper(),
        "0x" + "00" * 20,
        "FIXED_USDC",
        "EOA",
        "PAPER",
    ]
)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 2**63, -(2**63) - 1, 10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0]),
    st.text(max_size=40),
    NASTY_TEXT,
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999999", "1e-999999", "-0", "1_000", "0x10"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=12), NASTY_TEXT), inner, max_size=4),
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in the document (dict keys and list indexes)."""
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _paths(v, (*prefix, i))
    return found


def _copy(node: Any) -> Any:
    return json.loads(json.dumps(node))


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """The valid run file with a few keys set to hostile values, deleted, or joined by unknown keys."""
    doc: dict[str, Any] = _copy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["set", "set", "delete", "unknown"]))
        if action == "set":
            parent[path[-1]] = draw(VALUES)
        elif action == "delete":
            del parent[path[-1]]
        else:
            target = parent[path[-1]] if isinstance(parent[path[-1]], dict) else parent
            if isinstance(target, dict):
                target[draw(st.one_of(st.text(min_size=1, max_size=12), NASTY_TEXT))] = draw(VALUES)
    return doc


# ---------------------------------------------------------------------------------------- checks


def _load(data: bytes) -> RunFile | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.toml"
        path.write_bytes(data)
        try:
            return load_run_file(path)
        except SettingsError as exc:
            message = str(exc)
            assert message, "an empty error"
            for line in message.split("\n"):
                assert line.startswith(f"{path}: "), f"a line that does not name the file: {line!r}"
                assert line[len(str(path)) + 2 :].strip(), f"a line naming no key: {line!r}"
                assert line.isprintable(), f"raw control characters: {line!r}"
            return None


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_valid_run_file_loads() -> None:
    run = _load(to_toml(VALID).encode())
    assert run is not None
    assert [f.name for f in run.followers] == ["alice", "bob"]


@FUZZ
@given(mutated())
def test_a_mutated_run_file_loads_or_names_its_key(doc: dict[str, Any]) -> None:
    _load(to_toml(doc).encode())


@FUZZ
@given(st.dictionaries(st.one_of(st.text(max_size=12), NASTY_TEXT), VALUES, max_size=4))
def test_a_random_toml_document_loads_or_names_its_key(doc: dict[str, Any]) -> None:
    _load(to_toml(doc).encode())


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
    )
)
def test_random_bytes_are_refused_with_the_documented_error(data: bytes) -> None:
    _load(data)


@FUZZ
@given(st.data())
def test_a_damaged_valid_file_is_refused_with_the_documented_error(data: st.DataObject) -> None:
    text = to_toml(VALID).encode()
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 8))
        text = text[:at] + data.draw(st.binary(max_size=6)) + text[at + cut :]
    _load(text)


def test_hostile_documents_are_refused_with_the_documented_error() -> None:
    for text in [
        "a = " + "[" * 5_000 + "]" * 5_000,  # nested deeper than the parser recurses
        "a = " + "{b = " * 5_000 + "1" + "}" * 5_000,
        "followers = " + "[" * 5_000 + "]" * 5_000,
        "\ufeff[[followers]]\nname = 'x'\n",
        '[[followers]]\nname = "a\\nb"\n"bad\\nkey" = 1\n',
        '[[followers]]\nname = "a\\u0000b"\n[[followers.copies]]\nleader = 1\n',
        '[[followers]]\nname = "x"\n[[followers.copies]]\nleader = "' + LEADER + '"\nsizing = "FIXED_USDC"\n'
        'sizing_value = "1e-999999"\nmin_trade_usdc = "1e-999999"\n',
    ]:
        _load(text.encode())
    _load(b"\xff\xfe\x00\x00")
    _load(b"name = '\xc3\x28'")  # invalid UTF-8
