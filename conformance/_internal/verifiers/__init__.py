"""The suite's own small verifiers, written from the spec text and the RFCs.

They never import the reference implementation (N-version principle): where the suite
judges an answer by computation rather than by a vector, it computes the expected
value independently, and the normative vectors cross-check both implementations.
"""
