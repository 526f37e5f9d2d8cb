"""Progress of long work as lines on stderr (`label: 45% (120.0 of 266.0 MiB)`), one per 5 % step:
readable in a terminal and in a log alike, and never mixed into the report on stdout."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import TextIO

BIG_FILE = 16 << 20  # files from this size show their progress unless told otherwise
STEP = 5  # percent


class ProgressLine:
    def __init__(self, label: str, enabled: bool, unit: str = "MiB", out: TextIO | None = None) -> None:
        self.label, self.enabled, self.unit = label, enabled, unit
        self.out = out if out is not None else sys.stderr
        self._shown = -STEP

    @classmethod
    def for_file(cls, label: str, path: Path, force: bool | None) -> ProgressLine:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        return cls(label, force if force is not None else size >= BIG_FILE)

    def _amount(self, n: int) -> str:
        return f"{n / (1 << 20):.1f}" if self.unit == "MiB" else f"{n:,}"

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        percent = min(100, done * 100 // total)
        if percent >= self._shown + STEP or (percent == 100 and self._shown < 100):
            self._shown = percent - percent % STEP if percent < 100 else 100
            print(
                f"{self.label}: {percent}% ({self._amount(done)} of {self._amount(total)} {self.unit})",
                file=self.out,
                flush=True,
            )

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None
