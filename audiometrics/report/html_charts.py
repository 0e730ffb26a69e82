"""The interactive charts of ``report.html``: Vega-Lite specifications and the offline bundle.

The page draws its learning curves with `Vega-Lite <https://vega.github.io/vega-lite/>`_
(SVG, zoom and pan, a legend that picks runs, tooltips). The JavaScript comes
from ``vl-convert-python`` (the ``[html]`` extra): :func:`vega_bundle` returns
its offline bundle of Vega, Vega-Lite and Vega-Embed (about 0.9 MB, inlined in
the page, so that the page needs no network). Without the extra it returns
``None`` and the page shows the PNG plots instead.

The specifications here hold no data: the page's script fills the named data
sets ``points`` (``run``, ``x``, ``y``, ``column``), ``phases`` (``x``,
``label``) and ``best`` (``run``, ``x``, ``y``) with the runs the reader picks.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

__all__ = ["BUNDLE_MODULE", "vega_bundle", "curve_spec", "bundle_missing_hint", "inline_script"]

#: The module that provides the offline bundle (the ``[html]`` extra).
BUNDLE_MODULE = "vl_convert"


_ENDS_SCRIPT = re.compile(r"<(/script|!--)", re.IGNORECASE)


def inline_script(code: str) -> str:
    """JavaScript ``code`` made safe to inline in a ``<script>`` element.

    ``</script`` would end the element and ``<!--`` changes how HTML parses it;
    a backslash before ``/`` or ``!`` keeps the meaning inside JavaScript strings,
    regular expressions and comments, where such text can be. Nothing else changes.

    Examples
    --------
    >>> print(inline_script('x = "</SCRIPT><!--"; y = /</g'))
    x = "<\\/SCRIPT><\\!--"; y = /</g
    """
    return _ENDS_SCRIPT.sub(lambda match: "<\\" + match.group(1), code)


def _cache_file(version: str) -> Path:
    from audiometrics.cache import default_dir  # the one user cache folder (results live there too)

    return default_dir() / f"vega-bundle-{re.sub(r'[^0-9A-Za-z.+-]', '_', version)}.js"


def _read_cached(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text if _COMPLETE in text else None


def _write_cached(path: Path, text: str) -> None:
    """Keep the bundle for the next run (best effort: an unwritable cache only costs time)."""
    from audiometrics.atomic import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError:
        pass


#: Text the bundle ends with (a cached file without it is incomplete and rebuilt).
_COMPLETE = "window.vegaEmbed="


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str | None:
    """The offline Vega/Vega-Lite/Vega-Embed bundle (defines ``window.vegaEmbed``), or ``None`` without the extra.

    The text is made safe to inline in a ``<script>`` element (``</script`` and
    ``<!--`` cannot appear in it). ``vl_convert`` builds it in a few seconds, so it
    is kept per process and in the user cache folder (:func:`audiometrics.cache.default_dir`)
    per vl-convert-python version.
    """
    try:
        import vl_convert  # noqa: PLC0415 - optional (the [html] extra), imported when a page is written
    except ImportError:
        return None
    try:
        from importlib.metadata import version

        cache = _cache_file(version("vl-convert-python"))
    except Exception:  # noqa: BLE001 - no metadata: no cache
        cache = None
    bundle = _read_cached(cache) if cache is not None else None
    if bundle is None:
        try:
            bundle = str(vl_convert.javascript_bundle())
        except Exception:  # noqa: BLE001 - a broken install must not lose the other outputs: PNG fallback
            return None
        if _COMPLETE not in bundle:
            return None
        if cache is not None:
            _write_cached(cache, bundle)
    return inline_script(bundle)


def bundle_missing_hint() -> str:
    """The command that installs the interactive charts."""
    from audiometrics.hints import install_hint

    return install_hint("html")


def _color() -> dict[str, Any]:
    return {"field": "run", "type": "nominal", "title": "run", "scale": {"scheme": "tableau20"}, "sort": None}


def curve_spec(
    y_title: str, *, dashed_by_column: bool = False, lower_is_better: bool | None = None, best: bool = True
) -> dict[str, Any]:
    """A Vega-Lite layered line chart: curves by run, phase boundaries with their labels, best-epoch markers.

    ``y_title`` is plain text (Vega renders text, never markup). With
    ``dashed_by_column`` the lines are dashed by the ``column`` field (train
    and validation loss in one chart). Zoom and pan with the wheel and drag
    (double-click resets); clicking a legend entry highlights that run
    (shift-click for several). ``best``: a layer of best-epoch markers (data set ``best``).

    Examples
    --------
    >>> spec = curve_spec("lwlrap")
    >>> [layer["mark"]["type"] for layer in spec["layer"]]
    ['rule', 'text', 'line', 'point']
    """
    direction = "" if lower_is_better is None else (" (lower is better)" if lower_is_better else " (higher is better)")
    x = {"field": "x", "type": "quantitative", "title": "epoch (counted across phases)", "axis": {"tickMinStep": 1}}
    line_encoding: dict[str, Any] = {
        "x": x,
        "y": {"field": "y", "type": "quantitative", "title": y_title + direction, "scale": {"zero": False}},
        "color": _color(),
        "opacity": {"condition": {"param": "pick", "value": 1}, "value": 0.15},
        "tooltip": [
            {"field": "run", "title": "run"},
            {"field": "column", "title": "column"},
            {"field": "x", "title": "epoch"},
            {"field": "y", "title": "value", "format": ".6g"},
        ],
    }
    if dashed_by_column:
        line_encoding["strokeDash"] = {"field": "column", "type": "nominal", "title": "column"}
    layers = [_phase_rules(), _phase_labels(), _lines(line_encoding)]
    if best:
        layers.append(_best_markers(x))
    return {
        "width": "container",
        "height": 320,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": {"legend": {"labelLimit": 260, "symbolLimit": 40}},
        "layer": layers,
    }


def _phase_rules() -> dict[str, Any]:
    return {
        "data": {"name": "phases"},
        "mark": {"type": "rule", "strokeDash": [3, 3], "color": "#888", "opacity": 0.7},
        "encoding": {"x": {"field": "x", "type": "quantitative"}},
    }


def _phase_labels() -> dict[str, Any]:
    return {
        "data": {"name": "phases"},
        "mark": {"type": "text", "angle": 270, "align": "right", "baseline": "top", "dx": -4, "dy": 3,
                 "fontSize": 10, "color": "#555"},
        "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"value": 0}, "text": {"field": "label"}},
    }


def _lines(encoding: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {"name": "points"},
        "mark": {"type": "line", "clip": True, "point": {"size": 14, "filled": True}},
        "params": [
            {"name": "zoom", "select": "interval", "bind": "scales"},
            {"name": "pick", "select": {"type": "point", "fields": ["run"]}, "bind": "legend"},
        ],
        "encoding": encoding,
    }


def _best_markers(x: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {"name": "best"},
        "mark": {"type": "point", "shape": "diamond", "size": 140, "filled": True, "stroke": "black",
                 "strokeWidth": 0.8, "clip": True},
        "encoding": {
            "x": x,
            "y": {"field": "y", "type": "quantitative"},
            "color": _color(),
            "tooltip": [
                {"field": "run", "title": "best epoch of"},
                {"field": "x", "title": "epoch"},
                {"field": "y", "title": "value", "format": ".6g"},
            ],
        },
    }
