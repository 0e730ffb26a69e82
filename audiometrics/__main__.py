"""``python -m audiometrics`` runs the command line."""

from audiometrics.cli.main import main

main(prog_name="audiometrics")
