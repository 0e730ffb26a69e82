"""Reports from Runs: summaries, markdown rendering through templates, plots.

:func:`~audiometrics.report.summarize.summarize` composes one module per job into a
:class:`~audiometrics.report.model.Summary` (phases, metric, runs, ranking, quality,
insights and recommendations, as facts of :mod:`~audiometrics.report.facts`),
comparing runs only within the groups of :mod:`~audiometrics.report.groups` and
reading each run's rows as plain lists (:mod:`~audiometrics.report.rows`);
:mod:`~audiometrics.report.render` words and lays it out with the
Jinja templates (filters from :mod:`~audiometrics.report.formatting`), and
:mod:`~audiometrics.report.plots` draws it. The ``report`` command is
:mod:`audiometrics.cli.report`.
"""
