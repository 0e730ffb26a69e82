"""Read a notebook file into a :class:`~audiometrics.model.Notebook`, layer by layer.

Like nbformat's reader, in layers, each its own module:

1. bytes (:mod:`.content`, :mod:`.skim`): the file read or memory-mapped, image
   payloads skimmed off, the encoding (UTF-8, or UTF-16/32 by byte-order mark);
2. JSON (:mod:`.jsonload`): parsed, with messages that tell truncated from
   invalid, long integers read as floats, media dropped on request;
3. structure (:mod:`.structure`): the keys extraction relies on checked,
   nbformat 3 upgraded to 4;
4. cells (:mod:`.cells`): the code cells, in document order.

Every problem becomes a :class:`~audiometrics.errors.NotebookError` naming the
file and the reason.  The order cells ran in is alignment's policy
(:func:`audiometrics.runs.order.in_execution_order`), not the reader's.

Speed: extraction reads a notebook *skimmed*: the string values of ``image/*``
keys are cut out of the raw bytes before the JSON is parsed, so they are
neither decoded nor parsed. If the skimmed copy does not parse, the file is
parsed as it is, so errors always describe the file itself.
"""

from __future__ import annotations

import os

from audiometrics.errors import NotebookError
from audiometrics.model import Notebook
from audiometrics.read.cells import code_cells
from audiometrics.read.content import read_content
from audiometrics.read.jsonload import drop_media as _drop_media
from audiometrics.read.jsonload import load_json
from audiometrics.read.structure import check_structure

__all__ = ["read_notebook", "parse_notebook"]


def read_notebook(path: str | os.PathLike[str], *, drop_media: bool | None = False) -> Notebook:
    """Read and check the notebook at ``path``; its code cells in document order.

    Raises :class:`NotebookError` for a file that is missing, binary, not JSON,
    truncated, not a notebook, or of an unsupported nbformat version.

    ``drop_media=True`` replaces the value of every mime type other than
    ``text/html``, ``text/plain`` and ``text/markdown`` (images, PDFs, widget
    and plotly JSON, ...) by ``""`` while parsing, which bounds memory on
    notebooks full of media; ``None`` does so for files of
    :data:`~audiometrics.read.content.LARGE_FILE_BYTES` or more only. Extraction
    reads none of those values.
    """
    name = os.fspath(path)
    return _read_notebook(name, name, drop_media)


def _read_notebook(location: str, name: str, drop_media: bool | None, *, skim: bool = False, plain: bool = False) -> Notebook:
    """Read the file at ``location``, naming it ``name`` in the result and in errors.

    ``skim`` (implied by dropping media) parses the file without its image payloads
    (:func:`~audiometrics.read.skim.without_images`), whose values then read as
    ``""``. If that copy does not parse, the file is read again as it is
    (``plain``), so that errors describe the file itself.
    """
    content, drop, skimmed = read_content(location, name, drop_media, skim=skim, plain=plain)
    hook = _drop_media if drop else None
    if not skimmed:
        return _parse(content, name, hook)
    try:
        return _parse(content, name, hook)
    except NotebookError:
        del content
    return _read_notebook(location, name, drop_media, plain=True)


def parse_notebook(data: bytes | str, path: str = "<notebook>", *, drop_media: bool = False) -> Notebook:
    """Parse notebook JSON (bytes or text) into a :class:`Notebook`; see :func:`read_notebook`."""
    return _parse(data, path, _drop_media if drop_media else None)


def _parse(data: bytes | str, path: str, hook) -> Notebook:
    document = load_json(data, path, hook)
    del data
    cells, minor, notes = check_structure(document, path)
    del document
    return Notebook(
        path=path,
        cells=tuple(code_cells(cells, path)),
        order="document",
        nbformat=4,
        nbformat_minor=minor,
        notes=notes,
    )
