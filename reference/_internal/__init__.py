"""Implementation of the reference node; nothing here is public API."""
