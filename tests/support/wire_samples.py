"""The sample values of the edge-validation tests (tests/unit/adapters/test_wire_validation.py,
test_wire_poisoned_inputs.py): a fill's leader, hashes, token, and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

NOW_S = 1_790_000_000
SEEN = datetime.fromtimestamp(NOW_S, UTC)
LEADER = "0xAbCdEf0123456789abcdef0123456789ABCDEF01"
TX = "0x" + "ef" * 32
CONDITION = "0x" + "cd" * 32
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
YEAR_3000 = 32_503_680_000
