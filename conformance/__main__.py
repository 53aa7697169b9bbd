from bmdx.conformance.cli import main

main()
