from bmdx.reference.cli import main

main()
