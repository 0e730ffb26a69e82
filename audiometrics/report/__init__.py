"""Reports from Runs: summaries, markdown rendering through templates, plots."""
