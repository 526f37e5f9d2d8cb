"""Onboarding of a new own wallet (`polyhunter wallet setup` / `wallet new`)."""
