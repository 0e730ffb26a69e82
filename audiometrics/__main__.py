"""``python -m audiometrics`` runs the command line."""

from audiometrics.cli import main

main(prog_name="audiometrics")
