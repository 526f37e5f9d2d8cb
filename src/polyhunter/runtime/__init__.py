"""Assembling and running the whole system: run files, provisioning, the supervisor, the demo."""
