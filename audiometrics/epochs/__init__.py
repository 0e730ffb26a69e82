"""The epoch table: CSV rows from Runs, the CSV file, the typed loader, and CSV back to Runs.

Modules, in the order data flows through them:

* :mod:`~audiometrics.epochs.schema` — the columns, the file name, learning-rate spelling;
* :mod:`~audiometrics.epochs.values` — displayed text as numbers (:func:`~audiometrics.epochs.values.parse_number`);
* :mod:`~audiometrics.epochs.rows` — Runs → one dict of CSV text per epoch;
* :mod:`~audiometrics.epochs.csv_file` — writing and reading the CSV (spreadsheet-formula guard);
* :mod:`~audiometrics.epochs.labels` — which rows form a run, and its label;
* :mod:`~audiometrics.epochs.loader` — CSV text → typed DataFrame (:func:`~audiometrics.epochs.loader.load_metrics`);
* :mod:`~audiometrics.epochs.frame` — typed epoch and phase frames straight from Runs;
* :mod:`~audiometrics.epochs.csv_runs` — the CSV back to Runs (what ``report`` reads).

Streaming the CSV during extraction is the sink :class:`audiometrics.sinks.csv.CsvSink`.
"""
