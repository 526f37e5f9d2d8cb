"""Garbage-collector settings for a long-running supervisor.

After start-up the heap holds hundreds of thousands of long-lived objects (modules, SQLAlchemy's
compiled statements, the config cache). CPython's full collections walk all of them, so a signal
that fans out to thousands of configs (and allocates enough to trigger several collections) paid
~100 ms in full collections here. ``gc.freeze()`` moves what exists at start-up out of the collector's
view, and a larger young-generation threshold collects less often while a fan-out allocates. Cycles
are still collected: only the frequency changes.
"""

from __future__ import annotations

import gc

from polyhunter.log import get_logger

log = get_logger(__name__)


def tune_gc(gen0_threshold: int, *, freeze: bool = True) -> None:
    """Apply after start-up (imports done, caches warm). ``gen0_threshold`` 0 leaves CPython's defaults."""
    if gen0_threshold <= 0:
        return
    if freeze:
        gc.collect()
        gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, max(gen1, 20), max(gen2, 100))
    log.debug("gc tuned", thresholds=gc.get_threshold(), frozen=gc.get_freeze_count())
