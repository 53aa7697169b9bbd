"""The subcommands of ``bmdx-conformance``, one module each."""
