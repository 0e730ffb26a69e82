"""Alignment of analysed code and progress tables into Runs, and the Run boundary."""
