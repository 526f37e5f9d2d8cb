"""Readiness checks: what `polyhunter doctor` reports and what `polyhunter run` checks before it starts.

Each check answers one question (is the database at head? does the venue accept this wallet's key?)
with a `CheckResult`: its name, pass / fail / skip, a reason and a one-line fix. Every check is bounded
by a timeout and they run concurrently, so a dead host costs one timeout, never a hang.
"""

from polyhunter.readiness.checks import CheckResult, Status
from polyhunter.readiness.runner import critical_checks, doctor_checks

__all__ = ["CheckResult", "Status", "critical_checks", "doctor_checks"]
