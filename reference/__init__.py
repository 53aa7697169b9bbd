"""The BMDX reference ledger: a minimal but real node, and the ``bmdx`` tools."""
