"""report.html: the view model, escaping, bounds, the outputs, and the page in a real headless browser."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from audiometrics.epochs.frame import frame_from_rows, phase_frame
from audiometrics.epochs.rows import rows_from_runs
from audiometrics.escaping import HTML, html_text, script_json
from audiometrics.model import Phase, Run
from audiometrics.report import html as html_report
from audiometrics.report.html import HTML_NAME, page_model, render_html
from audiometrics.report.html_charts import curve_spec, inline_script, vega_bundle
from audiometrics.report.render import write_reports
from audiometrics.report.summarize import summarize
from tests.test_report import EXTRACT_COLUMNS, _rows, extract_runs

HOSTILE = "<img src=x onerror=alert(1)></script><!--\u2028&amp;"
HAS_BUNDLE = vega_bundle() is not None
#: Set by .ci/run: there the browser test and the interactive charts must run, never skip.
REQUIRED = bool(os.environ.get("AUDIOMETRICS_REQUIRE_BROWSER"))
needs_bundle = pytest.mark.skipif(
    not HAS_BUNDLE and not REQUIRED, reason="vl-convert-python (the [html] extra) is not installed"
)


def hostile_run() -> Run:
    phases = (
        Phase(1, "fit_one_cycle", 4, "1e-2", False, 3, EXTRACT_COLUMNS, _rows(0, 4, 0.15, 0.05), "fit_one_cycle(4, 1e-2)"),
        Phase(2, "fit_one_cycle", 4, "</script>", False, 4, EXTRACT_COLUMNS, _rows(4, 4, 0.35, 0.03), "fit(4, '</script>')"),
    )
    return Run(f"nbs/{HOSTILE}.ipynb", HOSTILE, False, phases, cell=2)


def summary_of(runs: list[Run]):
    frame = frame_from_rows(rows_from_runs(runs, with_source=True), with_source=True)
    return summarize(frame, phase_frame(runs))


@pytest.fixture(scope="module")
def summary():
    return summary_of([*extract_runs(), hostile_run()])


# --------------------------------------------------------------------------- escaping


def test_html_style_escapes_markup_and_collapses_lines() -> None:
    assert html_text(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;!-- &amp;amp;"
    assert HTML.code("a<b") == "<code>a&lt;b</code>"
    assert html_text('"q" \'s\'\x1b[31m') == "&quot;q&quot; &#x27;s&#x27;"


def test_script_json_cannot_end_its_element_and_round_trips() -> None:
    value = {"name": HOSTILE, "lone": "\ud800", "values": [1.5, float("nan"), float("inf"), None]}
    text = script_json(value)
    assert not re.search(r"</|<!--|[\u2028\u2029]|[^\x20-\x7e]", text)
    back = json.loads(text)
    assert back["name"] == HOSTILE and back["values"] == [1.5, None, None, None]


def test_inline_script_only_touches_what_ends_an_element() -> None:
    code = 'a = "</SCRIPT>"; b = /</g; c = "<!--"; d = 1</2'
    assert inline_script(code) == 'a = "<\\/SCRIPT>"; b = /</g; c = "<\\!--"; d = 1</2'


# --------------------------------------------------------------------------- view model and page


def test_page_model_rows_and_curves(summary) -> None:
    page = page_model(summary, csv_name="m.csv")
    assert [r.name for r in page.runs] == [r.name for r in summary.runs]
    assert {r["run"]: len(r["x"]) for r in page.curves["runs"]} == {r.name: r.epochs for r in summary.runs if r.epochs}
    assert [r["run"] for r in page.curves["runs"]] == [e.run for e in summary.ranking]  # best ranked first
    hostile = next(r for r in page.curves["runs"] if HOSTILE in r["run"])
    assert hostile["phases"] == [[4, "P2 </script>"]] and hostile["best"][1] == pytest.approx(0.44)
    empty = next(r for r in page.runs if r.epochs == 0)
    assert not empty.curve and not empty.plottable and empty.detail and page.curves_left_out == 0
    assert "runs (no tick box in the table) are in the CSV" not in render_html(page)
    warned = {r.name: r.warnings for r in page.runs}
    assert sum(warned.values()) >= len([w for w in summary.warnings if w.runs]) > 0


def test_page_escapes_every_notebook_value(summary) -> None:
    text = render_html(page_model(summary, csv_name="m.csv", interactive=False))
    assert "<img src=x" not in text and "<!--\u2028" not in text
    soup = BeautifulSoup(text, "html.parser")
    scripts = soup.find_all("script")
    assert text.count("</script>") == len(scripts)
    name = next(r.name for r in summary.runs if "onerror" in r.name)
    assert name in [td.get_text() for td in soup.select("#am-runs tbody td")]  # shown as text
    assert name in [run["run"] for run in json.loads(soup.find(id="am-curves").string)["runs"]]
    assert soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"].startswith("default-src 'none'")


def test_page_has_the_overviews_insights_and_recommendations(summary) -> None:
    """The insights and recommendations of EXTRACTION_SUMMARY.md, in HTML: the same sentences, every
    notebook value escaped, no markdown syntax left over."""
    assert summary.insights and summary.recommendations
    page = render_html(page_model(summary, csv_name="metrics.csv", interactive=False))
    soup = BeautifulSoup(page, "html.parser")
    section = soup.find("section", id="insights")
    titles = [h.get_text() for h in section.find_all("h3")]
    assert titles[0].startswith("1. ") and len(titles) == len(summary.insights)
    assert len(section.find("ol", class_="recommendations").find_all("li")) == len(summary.recommendations)
    text = section.get_text()
    assert HOSTILE.split("\u2028")[0] in text  # shown as text...
    assert not section.find("img") and not section.find("script")  # ...never as markup
    assert "`" not in text and "**" not in text
    assert soup.find("nav").find("a", href="#insights") is not None


def test_no_external_references(summary) -> None:
    """Nothing on the page points outside it: only fragments and data: URIs."""
    text = render_html(page_model(summary, csv_name="m.csv"))
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup.find_all(src=True):
        assert tag["src"].startswith("data:"), tag.name
    for tag in soup.find_all(href=True):
        assert tag["href"].startswith("#"), tag["href"]
    assert not re.search(r"url\((?!data:)", "".join(s.get_text() for s in soup.find_all("style")))


def test_fallback_embeds_the_pngs_and_says_how_to_get_charts(monkeypatch, tmp_path, summary) -> None:
    monkeypatch.setattr(html_report, "vega_bundle", lambda: None)
    page = page_model(summary, csv_name="m.csv", images={"a.png": ("Title <b>", "cap", b"\x89PNG")})
    text = render_html(page)
    assert page.charts is None and "window.vegaEmbed=" not in text and "id=\"am-charts\"" not in text
    assert 'src="data:image/png;base64,iVBORw=="' in text and "Title &lt;b&gt;" in text
    assert "[html]" in text and "pip install" in text


@needs_bundle
def test_interactive_page_inlines_the_bundle(summary) -> None:
    page = page_model(summary, csv_name="m.csv", images={"a.png": ("t", "c", b"png")})
    text = render_html(page)
    assert page.charts is not None and list(page.charts) == ["metric", "losses"]
    assert "window.vegaEmbed=" in text and "data:image/png" not in text


@needs_bundle
def test_bundle_is_cached_per_version(monkeypatch, tmp_path) -> None:
    from audiometrics.report import html_charts

    monkeypatch.setenv("AUDIOMETRICS_CACHE_DIR", str(tmp_path / "audiometrics"))
    html_charts.vega_bundle.cache_clear()
    try:
        first = html_charts.vega_bundle()
        cached = list((tmp_path / "audiometrics").glob("vega-bundle-*.js"))
        assert len(cached) == 1 and "window.vegaEmbed=" in cached[0].read_text(encoding="utf-8")
        cached[0].write_text("/* kept */ window.vegaEmbed=1; '</script>'", encoding="utf-8")
        html_charts.vega_bundle.cache_clear()
        assert html_charts.vega_bundle() == "/* kept */ window.vegaEmbed=1; '<\\/script>'"  # read back, made safe
        cached[0].write_text("truncated", encoding="utf-8")
        html_charts.vega_bundle.cache_clear()
        assert html_charts.vega_bundle() == first  # an incomplete file is rebuilt
    finally:
        html_charts.vega_bundle.cache_clear()


def test_curve_spec_layers() -> None:
    assert [layer["mark"]["type"] for layer in curve_spec("loss", best=False)["layer"]] == ["rule", "text", "line"]
    spec = curve_spec("error_rate", lower_is_better=True)
    assert spec["layer"][2]["encoding"]["y"]["title"] == "error_rate (lower is better)"


def test_page_is_bounded_at_a_thousand_runs(summary) -> None:
    base = [r for r in summary.runs if r.epochs]
    runs = []
    for i in range(1000):
        run = base[i % len(base)]
        rank = i + 1 if i % 3 == 0 else None
        runs.append(dataclasses.replace(run, index=i + 1, name=f"{run.name} #{i + 1}", rank=rank))
    big = dataclasses.replace(summary, runs=runs, warnings=summary.warnings * 200)
    started = time.perf_counter()
    page = page_model(big, csv_name="m.csv")
    text = render_html(page)
    elapsed = time.perf_counter() - started
    print(f"1,000 runs: {len(text.encode()) / 1e6:.2f} MB in {elapsed:.2f} s")
    assert sum(r.curve for r in page.runs) == html_report.MAX_CURVES
    assert sum(r.detail for r in page.runs) == html_report.MAX_DETAILS
    curved = [r.rank for r in page.runs if r.curve]
    assert curved == sorted(curved) and curved[-1] == 3 * (html_report.MAX_CURVES - 1) + 1  # the best ranked
    assert f"the other {1000 - html_report.MAX_CURVES} runs" in text or not HAS_BUNDLE
    assert f"the other {1000 - html_report.MAX_DETAILS} are in" in text
    assert "more warnings not listed here" in text
    assert len(text.encode()) < 6_000_000


def test_write_reports_writes_the_page_in_the_set(tmp_path) -> None:
    runs = extract_runs()
    frame = frame_from_rows(rows_from_runs(runs, with_source=True), with_source=True)
    result = write_reports(frame, tmp_path, phases=phase_frame(runs))
    assert result.paths[-1] == tmp_path / HTML_NAME and (tmp_path / HTML_NAME).is_file()
    manifest = json.loads((tmp_path / ".audiometrics-manifest.json").read_text())
    assert HTML_NAME in json.dumps(manifest)
    write_reports(frame, tmp_path, phases=phase_frame(runs), html=False)
    assert not (tmp_path / HTML_NAME).exists()  # the set replaces the previous one: the old page goes


def test_cli_writes_report_html_unless_no_html(tmp_path) -> None:
    from click.testing import CliRunner

    from audiometrics.cli.main import main as cli

    examples = Path(__file__).resolve().parents[1] / "examples" / "notebooks"
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["extract", str(examples), "--out", str(out), "-q", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert (out / HTML_NAME).is_file()
    result = CliRunner().invoke(cli, ["extract", str(examples), "--out", str(out), "-q", "--jobs", "1", "--no-html"])
    assert result.exit_code == 0, result.output
    assert not (out / HTML_NAME).exists() and (out / "EXTRACTION_SUMMARY.md").is_file()


# --------------------------------------------------------------------------- a real browser


def chromium() -> str | None:
    for name in (os.environ.get("AUDIOMETRICS_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


needs_chromium = pytest.mark.skipif(
    chromium() is None and not REQUIRED, reason="no chromium (CI installs Debian's chromium in .ci/run)"
)


def run_chromium(url: str, *args: str) -> tuple[str, str]:
    """Headless chromium with networking off (an unreachable proxy); returns stdout and the console lines."""
    with tempfile.TemporaryDirectory(prefix="am-chromium-") as profile:
        command = [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-quic", "--disable-extensions", f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000",
            *args, url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, "\n".join(console)


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory, summary) -> Path:
    out = tmp_path_factory.mktemp("report-html")
    page = page_model(summary, csv_name="training_metrics_extracted.csv")
    path = out / HTML_NAME
    path.write_text(render_html(page), encoding="utf-8")
    return path


@needs_chromium
def test_page_in_headless_chromium(browser_page, summary) -> None:
    assert chromium() is not None, "AUDIOMETRICS_REQUIRE_BROWSER is set but no chromium was found"
    assert HAS_BUNDLE or not REQUIRED, "AUDIOMETRICS_REQUIRE_BROWSER is set but vl-convert-python is missing"
    dom, console = run_chromium(browser_page.as_uri() + "#am-selftest=resnet18", "--dump-dom")
    assert console == "", console  # no errors, no warnings, no CSP violation
    found = re.search(r'<pre id="am-selftest">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    result = json.loads(BeautifulSoup(found.group(0), "html.parser").get_text())
    assert result["errors"] == [] and result["resources"] == []  # nothing fetched: the page is self-contained
    best = {r.name: r.best.value for r in summary.runs if r.best is not None}
    expected = sorted(best, key=best.get) + [r.name for r in summary.runs if r.name not in best]
    assert result["sortColumn"] == "best lwlrap"
    assert result["ascending"] == expected
    assert result["descending"] == sorted(best, key=best.get, reverse=True) + expected[len(best):]
    assert result["filtered"] and all("resnet18" in name for name in result["filtered"])
    assert result["count"] == f"{len(result['filtered'])} of {len(summary.runs)} runs"
    if HAS_BUNDLE:
        drawn = [r for r in summary.runs if r.epochs]
        charts = result["charts"]
        assert charts["metric"]["svg"] == 1 and charts["metric"]["lines"] == len(drawn)
        assert charts["losses"]["lines"] == 2 * len(drawn)
        assert "P2 3e-3" in charts["metric"]["texts"] and "lwlrap (higher is better)" in charts["metric"]["texts"]
        assert result["afterNone"]["metric"]["svg"] == 0 and result["afterTop"] == charts


@needs_chromium
def test_screenshot_artifact(browser_page) -> None:
    shot = browser_page.with_name("report.png")
    _, console = run_chromium(browser_page.as_uri(), f"--screenshot={shot}", "--window-size=1280,2200", "--hide-scrollbars")
    assert console == "", console
    assert shot.is_file() and shot.stat().st_size > 20_000
    print(f"report.html screenshot: {shot}", file=sys.stderr)
