"""Ethereum JSON-RPC client, hand-written ABI encoding and the exchange event layouts (no web3)."""
