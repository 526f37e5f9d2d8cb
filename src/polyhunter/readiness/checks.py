"""One check's result, how it is printed, and the timeout every check runs under."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

DEFAULT_TIMEOUT_S = 3.0


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a check status, not a password
    FAIL = "fail"
    SKIP = "skip"  # not applicable to this configuration (no Redis, no EOA wallet, ...)


_MARKS = {Status.PASS: "✓", Status.FAIL: "✗", Status.SKIP: "-"}


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: Status
    reason: str
    fix: str = ""

    def line(self) -> str:
        """`✗ venue.clob: unreachable (...) — fix: start the venue or set venue.clob_url`."""
        text = f"{_MARKS[self.status]} {self.name}: {self.reason}"
        if self.status is Status.FAIL and self.fix:
            text += f" — fix: {self.fix}"
        return text

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        return data


def passed(name: str, reason: str) -> CheckResult:
    return CheckResult(name, Status.PASS, reason)


def failed(name: str, reason: str, fix: str) -> CheckResult:
    return CheckResult(name, Status.FAIL, reason, fix)


def skipped(name: str, reason: str) -> CheckResult:
    return CheckResult(name, Status.SKIP, reason)


def one_line(exc: BaseException) -> str:
    """An exception as a short single line (its type when it has no message)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text[:300] or type(exc).__name__


async def bounded(name: str, work: Awaitable[CheckResult], timeout_s: float, fix: str) -> CheckResult:
    """`work` within `timeout_s`; a timeout or an unexpected error is a failed check, never a raise."""
    try:
        return await asyncio.wait_for(work, timeout_s)
    except TimeoutError:
        return failed(name, f"no answer within {timeout_s:g} s", fix)
    except Exception as exc:  # noqa: BLE001 - a check reports what went wrong; it never crashes the doctor
        return failed(name, f"{type(exc).__name__}: {one_line(exc)}", fix)
