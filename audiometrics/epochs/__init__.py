"""The epoch table: CSV rows from Runs, the typed loader, and CSV back to Runs."""
