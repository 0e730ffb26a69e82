"""Skimming: extraction parses notebooks without their image payloads, cut out of the raw bytes.

What is checked: the skimmed document is the document with every string value of an
``image/*`` key emptied, and nothing else changed, whatever the strings around hold
(quotes, backslashes, the key's own spelling inside code, outputs or metadata); a file
that does not parse gets the same error as without skimming; the memory-mapped reader
skims too.
"""

from __future__ import annotations

import base64
import json
import os
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiometrics.read import content as nbmod
from audiometrics.errors import NotebookError
from audiometrics.read.notebook import _read_notebook, read_notebook
from audiometrics.read.skim import without_images
from audiometrics.pipeline import extract_notebook
from tests import nbfactory as nbf

IMAGE_KEY = re.compile(r"image/[A-Za-z0-9.+\-]+")


def blank_images(value: Any) -> Any:
    """``value`` with every string under an ``image/*`` key emptied: what skimming must give."""
    if isinstance(value, dict):
        return {
            k: "" if IMAGE_KEY.fullmatch(k) and isinstance(v, str) else blank_images(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [blank_images(v) for v in value]
    return value


def skimmed(raw: bytes) -> Any:
    return json.loads(without_images(raw) or raw)


def image(blob: str, mime: str = "image/png") -> dict:
    return {"data": {mime: blob, "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"}


TRICKY = [
    'print(\'"image/png": "not an image"\')',
    'x = "\\\\"  # a backslash, then "image/png": "..."',
    '\\"image/png\\": \\"',
    '"image/png"',
    "image/png",
]


def tricky_notebook() -> dict:
    png = base64.b64encode(os.urandom(3000)).decode()
    cells = [nbf.code_cell(text, [nbf.stream_output(text + "\n")]) for text in TRICKY]
    cells.append(
        nbf.code_cell(
            "plot()",
            [
                image(png + "\n"),
                image("<svg>\n<g/>\n</svg>", "image/svg+xml"),
                {"data": {"image/svg+xml": ["<svg>", "</svg>"], "text/plain": "x"}, "metadata": {}, "output_type": "display_data"},
                image("", "image/jpeg"),
                image('has \\ and " inside', "image/gif"),
            ],
        )
    )
    cells.append(nbf.code_cell(nbf.LEARNER))
    cells.append(nbf.code_cell("learn.fit_one_cycle(2, 1e-2)", nbf.legacy_fit_outputs(nbf.COLUMNS, nbf.epoch_rows(2))))
    doc = nbf.notebook(cells)
    doc["metadata"]["image/png"] = {"width": 3}
    doc["metadata"]["note"] = {"image/png": "metadata string"}
    return doc


@pytest.mark.parametrize("indent", [None, 1, 4])
@pytest.mark.parametrize("ascii_only", [True, False])
def test_skimming_empties_image_strings_only(indent, ascii_only):
    doc = tricky_notebook()
    raw = json.dumps(doc, indent=indent, ensure_ascii=ascii_only).encode()
    lean = without_images(raw)
    assert lean is not None and len(lean) < len(raw) - 3000
    assert json.loads(lean) == blank_images(doc)


def test_no_image_no_copy():
    raw = json.dumps(nbf.notebook([nbf.code_cell('s = "image/png"')])).encode()
    assert without_images(raw) is None


json_strings = st.text(alphabet=st.sampled_from(list('ab "\\/:image/png{}[],\n\té😀')), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | json_strings,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["image/png", "image/svg+xml", "text/plain", "a", 'image/"x']) | json_strings, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans())
def test_skimming_any_json_is_blanking_its_image_strings(value, indent, ascii_only):
    raw = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    assert skimmed(raw) == blank_images(value)


BROKEN = [
    b'{"nbformat": 4, "cells": [{"outputs": [{"data": {"image/png": "iVBORw0KGgo',  # ends inside an image
    b'{"nbformat": 4, "cells": [], "x": {"image/png": "abc"}} garbage',
    b'{"nbformat": 4, "cells": [{"outputs": [{"data": {"image/png": "ab\x01c"}}]}], ',
    b'{"nbformat": 4, "x": {"image/png": "abc"}, "cells": [1]}',
    b'{"image/png": "abc", "nbformat": 5, "cells": []}',
]


@pytest.mark.parametrize("content", BROKEN)
def test_a_file_that_does_not_parse_gets_its_own_error(tmp_path, content):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    with pytest.raises(NotebookError) as plain:
        read_notebook(path)
    with pytest.raises(NotebookError) as skim:
        _read_notebook(str(path), str(path), None, skim=True)
    assert skim.value.reason == plain.value.reason


def test_invalid_bytes_inside_an_image_are_not_read(tmp_path):
    """An image payload is skipped unread: a stray control character in it costs nothing."""
    doc = tricky_notebook()
    raw = json.dumps(doc).replace("<svg>\\n<g/>", "<svg>\x01<g/>").encode()
    path = tmp_path / "n.ipynb"
    path.write_bytes(raw)
    with pytest.raises(NotebookError, match="invalid JSON"):
        read_notebook(path)
    assert len(extract_notebook(path).runs) == 1


@pytest.mark.parametrize("indent", [None, 1])
def test_extraction_is_the_same_skimmed_and_memory_mapped(tmp_path, monkeypatch, indent):
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(tricky_notebook(), indent=indent))
    plain = read_notebook(path)
    skim = _read_notebook(str(path), str(path), None, skim=True)
    assert [c.source for c in skim.cells] == [c.source for c in plain.cells]
    assert [blank_images(list(c.outputs)) for c in skim.cells] == [blank_images(list(c.outputs)) for c in plain.cells]
    result = extract_notebook(path)
    monkeypatch.setattr(nbmod, "LARGE_FILE_BYTES", 1)
    mapped = _read_notebook(str(path), str(path), None, skim=True)
    assert [c.source for c in mapped.cells] == [c.source for c in skim.cells]
    assert extract_notebook(path) == result
