"""`python -m strigil` runs the command-line interface."""

from strigil.cli import main

if __name__ == "__main__":  # worker processes (the FHIR import's validators) import this too
    main()
