"""Reading notebooks: files and folders (:mod:`.inputs`) to code cells (:mod:`.notebook`).

The reader is layered like nbformat's: bytes (:mod:`.content`, :mod:`.skim`) →
JSON (:mod:`.jsonload`) → structure and version (:mod:`.structure`) → cells
(:mod:`.cells`).  Cells come in document order; the order they ran in is
decided by alignment (:mod:`audiometrics.runs.order`).
"""
