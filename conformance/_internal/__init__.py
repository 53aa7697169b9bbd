"""Implementation of the conformance suite; nothing here is public API."""
