"""Fault injection for the simulator: latency, 429/5xx rates, websocket drops and silence, stale books.

Faults are keyed by *scope*: a surface name (``clob``, ``data_api``, ``gamma``, ``admin`` never faults),
optionally narrowed to one endpoint path (``clob:/book``). The most specific scope wins: an endpoint
rule overrides the surface rule, which overrides the ``*`` rule. Rates are probabilities in [0, 1]
drawn from a seeded generator, so a run with the same seed and the same request sequence fails the
same requests.

Websocket faults apply to every websocket surface (market, user, RTDS):

* ``ws_drop_every_s``: the server closes every open socket each N seconds (clients must reconnect);
* ``ws_silence_s``: for N seconds from when it is set, sockets stay open but the server sends nothing
  (frames are dropped, not queued — like a lapsed live subscription);
* ``stale_books``: REST books and websocket book frames freeze at the moment the fault is set and no
  ``price_change`` is pushed until it is cleared.

Order entry faults (CLOB ``POST /order`` and ``POST /orders``):

* ``delayed_s``: every marketable order is accepted with status ``delayed`` and matched that many
  seconds later against the book of that moment (live does this on sports markets); it then shows
  MATCHED in ``GET /data/order`` and its trades in ``/data/trades``, the user channel and RTDS;
* ``order_version_mismatch``: the next N orders are refused with ``order_version_mismatch`` (HTTP 400,
  ``{"error": "order_version_mismatch", "orderID": ...}``) whatever they are signed for;
* ``order_version``: the exchange version ``GET /version`` serves (2 or 3); from then on orders signed
  for the other version's exchange are refused with ``order_version_mismatch`` (a mid-run cutover).

Settlement faults (chain mode with blocks, ``--timing live``):

* ``drop_pending_next``: the settlement transactions of the next N matches are replaced before their block
  (never mined): the trade ends FAILED and its fill never reaches RTDS or the Data API;
* ``drop_pending_rate``: the same for each match with this probability.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ORDER_VERSIONS", "FaultConfigError", "FaultDecision", "Faults", "parse_scope_values"]

SURFACES = frozenset({"*", "clob", "data_api", "gamma", "clob_ws", "rtds_ws"})
ORDER_VERSIONS = (2, 3)


class FaultConfigError(ValueError):
    """A fault specification that cannot be applied (unknown surface, rate outside [0, 1], ...)."""


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do with one request: wait ``delay_s`` then answer normally or with ``status``."""

    delay_s: float = 0.0
    status: int | None = None


def _check_scope(scope: str) -> str:
    surface, _, path = scope.partition(":")
    if surface not in SURFACES:
        raise FaultConfigError(f"unknown surface {surface!r} (one of {sorted(SURFACES)})")
    if path and not path.startswith("/"):
        raise FaultConfigError(f"endpoint path must start with '/': {scope!r}")
    return scope


def parse_scope_values(specs: list[str] | tuple[str, ...], what: str) -> dict[str, float]:
    """``["clob:/book=50", "data_api=0.2"]`` → ``{"clob:/book": 50.0, "data_api": 0.2}`` (CLI syntax)."""
    out: dict[str, float] = {}
    for spec in specs:
        scope, sep, value = spec.rpartition("=")
        if not sep or not scope:
            raise FaultConfigError(f"{what}: expected SCOPE=VALUE, got {spec!r}")
        try:
            out[_check_scope(scope)] = float(value)
        except ValueError as exc:
            raise FaultConfigError(f"{what}: not a number in {spec!r}") from exc
    return out


@dataclass
class Faults:
    """The live fault settings of one simulator, shared by every surface."""

    seed: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    rate_429: dict[str, float] = field(default_factory=dict)
    rate_5xx: dict[str, float] = field(default_factory=dict)
    ws_drop_every_s: float | None = None
    ws_silence_s: float | None = None
    stale_books: bool = False
    silence_until: float = 0.0
    delayed_s: float | None = None
    order_version_mismatch: int = 0
    order_version: int = 2
    drop_pending_next: int = 0
    drop_pending_rate: float = 0.0
    version: int = 0
    listeners: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - fault draws, not cryptography
        self._validate()

    # -- configuration -------------------------------------------------------------------------

    def _validate(self) -> None:
        for table in (self.latency_ms, self.rate_429, self.rate_5xx):
            for scope in table:
                _check_scope(scope)
        for name, table in (("rate_429", self.rate_429), ("rate_5xx", self.rate_5xx)):
            for scope, rate in table.items():
                if not 0.0 <= rate <= 1.0:
                    raise FaultConfigError(f"{name}[{scope}] must be within [0, 1], got {rate}")
        for scope, ms in self.latency_ms.items():
            if ms < 0:
                raise FaultConfigError(f"latency_ms[{scope}] must be >= 0, got {ms}")
        for name, value in (("ws_drop_every_s", self.ws_drop_every_s), ("ws_silence_s", self.ws_silence_s)):
            if value is not None and value <= 0:
                raise FaultConfigError(f"{name} must be > 0, got {value}")
        self._validate_orders()

    def _validate_orders(self) -> None:
        if self.delayed_s is not None and self.delayed_s <= 0:
            raise FaultConfigError(f"delayed_s must be > 0, got {self.delayed_s}")
        if self.order_version_mismatch < 0:
            raise FaultConfigError(f"order_version_mismatch must be >= 0, got {self.order_version_mismatch}")
        if self.order_version not in ORDER_VERSIONS:
            raise FaultConfigError(f"order_version must be one of {ORDER_VERSIONS}, got {self.order_version}")
        if self.drop_pending_next < 0:
            raise FaultConfigError(f"drop_pending_next must be >= 0, got {self.drop_pending_next}")
        if not 0.0 <= self.drop_pending_rate <= 1.0:
            raise FaultConfigError(f"drop_pending_rate must be within [0, 1], got {self.drop_pending_rate}")

    def apply(self, body: Mapping[str, Any]) -> None:
        """Apply an admin ``POST /faults`` body. ``{"clear": true}`` resets everything first.

        Tables (``latency_ms``, ``rate_429``, ``rate_5xx``) merge by scope; a ``null`` value removes
        that scope. ``ws_drop_every_s`` / ``ws_silence_s`` take a number or ``null``; setting
        ``ws_silence_s`` starts the quiet window now.
        """
        unknown = set(body) - {"clear", "latency_ms", "rate_429", "rate_5xx", "ws_drop_every_s",
                               "ws_silence_s", "stale_books", "delayed_s", "order_version_mismatch",
                               "order_version", "drop_pending_next", "drop_pending_rate"}  # fmt: skip
        if unknown:
            raise FaultConfigError(f"unknown fault keys: {sorted(unknown)}")
        backup = (dict(self.latency_ms), dict(self.rate_429), dict(self.rate_5xx), self.ws_drop_every_s,
                  self.ws_silence_s, self.stale_books, self.silence_until, self.delayed_s,
                  self.order_version_mismatch, self.order_version, self.drop_pending_next,
                  self.drop_pending_rate)  # fmt: skip
        try:
            self._apply(body)
            self._validate()
        except (FaultConfigError, TypeError, ValueError) as exc:
            (self.latency_ms, self.rate_429, self.rate_5xx, self.ws_drop_every_s, self.ws_silence_s,
             self.stale_books, self.silence_until, self.delayed_s, self.order_version_mismatch,
             self.order_version, self.drop_pending_next, self.drop_pending_rate) = backup  # fmt: skip
            raise FaultConfigError(str(exc)) from exc
        self.version += 1
        for listener in self.listeners:
            listener()

    def _apply(self, body: Mapping[str, Any]) -> None:
        if body.get("clear"):
            self.latency_ms.clear()
            self.rate_429.clear()
            self.rate_5xx.clear()
            self.ws_drop_every_s = None
            self.ws_silence_s = None
            self.silence_until = 0.0
            self.stale_books = False
            self.delayed_s = None
            self.order_version_mismatch = 0
            self.order_version = ORDER_VERSIONS[0]
            self.drop_pending_next = 0
            self.drop_pending_rate = 0.0
        for name in ("latency_ms", "rate_429", "rate_5xx"):
            if name not in body:
                continue
            table: dict[str, float] = getattr(self, name)
            for scope, value in dict(body[name]).items():
                if value is None:
                    table.pop(scope, None)
                else:
                    table[_check_scope(str(scope))] = float(value)
        if "ws_drop_every_s" in body:
            value = body["ws_drop_every_s"]
            self.ws_drop_every_s = None if value is None else float(value)
        if "ws_silence_s" in body:
            value = body["ws_silence_s"]
            self.set_silence(None if value is None else float(value))
        if "stale_books" in body:
            self.stale_books = bool(body["stale_books"])
        if "delayed_s" in body:
            value = body["delayed_s"]
            self.delayed_s = None if value is None else float(value)
        if "order_version_mismatch" in body:
            self.order_version_mismatch = int(body["order_version_mismatch"] or 0)
        if "order_version" in body:
            value = body["order_version"]
            self.order_version = ORDER_VERSIONS[0] if value is None else int(value)
        self._apply_settlement(body)

    def _apply_settlement(self, body: Mapping[str, Any]) -> None:
        if "drop_pending_next" in body:
            self.drop_pending_next = int(body["drop_pending_next"] or 0)
        if "drop_pending_rate" in body:
            self.drop_pending_rate = float(body["drop_pending_rate"] or 0.0)

    def set_silence(self, seconds: float | None) -> None:
        self.ws_silence_s = seconds
        self.silence_until = 0.0 if seconds is None else time.monotonic() + seconds

    def snapshot(self) -> dict[str, Any]:
        return {
            "latency_ms": dict(self.latency_ms),
            "rate_429": dict(self.rate_429),
            "rate_5xx": dict(self.rate_5xx),
            "ws_drop_every_s": self.ws_drop_every_s,
            "ws_silence_s": self.ws_silence_s,
            "ws_silent_now": self.ws_silent(),
            "stale_books": self.stale_books,
            "delayed_s": self.delayed_s,
            "order_version_mismatch": self.order_version_mismatch,
            "order_version": self.order_version,
            "drop_pending_next": self.drop_pending_next,
            "drop_pending_rate": self.drop_pending_rate,
        }

    # -- decisions ------------------------------------------------------------------------------

    @staticmethod
    def _lookup(table: Mapping[str, float], surface: str, path: str) -> float:
        for scope in (f"{surface}:{path}", surface, "*"):
            if scope in table:
                return table[scope]
        return 0.0

    def decide(self, surface: str, path: str) -> FaultDecision:
        """The fault (if any) for one HTTP request on ``surface`` at ``path``."""
        delay = self._lookup(self.latency_ms, surface, path) / 1000.0
        status: int | None = None
        rate_429 = self._lookup(self.rate_429, surface, path)
        rate_5xx = self._lookup(self.rate_5xx, surface, path)
        if rate_429 and self._rng.random() < rate_429:
            status = 429
        elif rate_5xx and self._rng.random() < rate_5xx:
            status = 503 if self._rng.random() < 0.5 else 500
        return FaultDecision(delay_s=delay, status=status)

    def take_version_mismatch(self) -> bool:
        """True (and one fewer left) while ``order_version_mismatch`` orders remain to be refused."""
        if self.order_version_mismatch <= 0:
            return False
        self.order_version_mismatch -= 1
        return True

    def take_drop_pending(self) -> bool:
        """True if this match's settlement transaction is to be dropped (``drop_pending_*``)."""
        if self.drop_pending_next > 0:
            self.drop_pending_next -= 1
            return True
        return bool(self.drop_pending_rate) and self._rng.random() < self.drop_pending_rate

    def ws_silent(self) -> bool:
        """True while websocket frames must be withheld."""
        return self.silence_until > time.monotonic()
