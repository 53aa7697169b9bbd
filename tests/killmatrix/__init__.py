"""The kill matrix: deliberately broken variants of the reference the suite must fail."""
