"""Generators of the spec examples (spec/examples/)."""
