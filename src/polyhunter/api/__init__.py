"""HTTP API: metrics, health, status (the dashboard joins later)."""
