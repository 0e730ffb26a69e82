"""Progress tables in cell outputs: a registry of formats.

:func:`~audiometrics.tables.find.find_tables` walks one code cell's outputs and
returns every progress display as a :class:`~audiometrics.model.ProgressTable`,
in output order.  The formats it knows, in :mod:`.registry`:

``html``      (:mod:`.html`) legacy fastprogress 0.1.20 – 1.0.x: ``<table class="dataframe">``
``html-th``   (:mod:`.html_th`) fastprogress <= 0.1.19: every cell a ``<th>``
``fasthtml``  (:mod:`.fasthtml`) fastprogress >= 1.1: ``<table class="fastprogress">``
``console``   (:mod:`.console`) ``ConsoleMasterBar`` tables on a stream, early fastai v1 ``(MM:SS)`` rows
``list``      (:mod:`.listing`) fastai v2 under ``learn.no_bar()``: ``[0, 0.54, ..., '00:05']``
``hf-html``   (:mod:`.hf_html`) HuggingFace Trainer in a notebook: first column ``Epoch``/``Step``
``hf-logs``   (:mod:`.hf_logs`) HuggingFace Trainer log dicts on a stream: ``{'loss': ..., 'epoch': ...}``
``keras``     (:mod:`.keras`) Keras' ``Progbar`` on a stream: ``Epoch 2/3`` then the epoch's final line
``lightning`` (:mod:`.lightning`) PyTorch Lightning's tqdm bar: ``Epoch 9: 100%|...| 56/56 [..., loss=0.484]``
``loop``      (:mod:`.loops`) plain training loops' epoch lines: ``Epoch: 01 | ...``, ``Ep 1 (Step 5): ...``

Not a format: :mod:`.suspect` flags cells whose outputs look like training progress no format read.

Shared pieces: :mod:`.rows` (short rows placed by meaning), :mod:`.markup`
(locating an epoch table in HTML, cells, spans), :mod:`.text` (bundle values as
text, stream lines, ``\\r``/``\\b`` redraws), :mod:`.display` and :mod:`.streams`
(the two walks that ask the registry).

Adding a format
---------------
1. Write one module here with a class following
   :class:`~audiometrics.tables.base.HtmlFormat` (tables in display HTML: a
   cheap ``detect`` on the located table, a ``parse`` to a ``ProgressTable``)
   or :class:`~audiometrics.tables.base.StreamFormat` (tables printed as lines:
   ``markers`` and ``wants`` as cheap detects, then ``start``/``add``/``close``),
   and a module-level ``FORMAT`` instance.  Set ``name`` (the
   ``ProgressTable.format`` value) and ``framework`` (the training library).
2. Add ``yourmodule.FORMAT`` to ``HTML_FORMATS`` or ``STREAM_FORMATS`` in
   :mod:`.registry`, before any format that would also accept its tables.
3. Add fixtures and tests to ``tests/test_tables.py``.

Speed: the cheap detects run on every output; parsing only where one matched,
and every pattern is linear in its input.
"""

from audiometrics.tables.find import find_tables

__all__ = ["find_tables"]
