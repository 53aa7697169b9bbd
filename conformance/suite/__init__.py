"""The conformance tests, one module per profile; run by ``bmdx-conformance run``.

Not imported by anything else: the runner hands this package's directory to pytest with
the suite's own plugin (``bmdx.conformance._internal.plugin``).
"""
