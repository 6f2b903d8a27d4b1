"""Entry point for `python -m mailflow`."""

from mailflow.cli import main

main()
