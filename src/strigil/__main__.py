"""`python -m strigil` runs the command-line interface."""

from strigil.cli import main

main()
