"""polymarket."""
