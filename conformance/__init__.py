"""The BMDX conformance suite: a black-box certifier of BMDX implementations."""
