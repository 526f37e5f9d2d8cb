"""The platform's service layer: accounts and auth (`auth.py`), and what an account owns (followers,
leaders, copy configs, copies: `resources.py`). The HTTP API (`polyhunter.api`) calls it; every write
is audited and bumps the change counter the running engine polls (`runtime/live_sync.py`)."""
