/* report.html: sort and filter the runs table, draw the picked runs' curves (Vega-Lite, when bundled).
   Opening the page as report.html#am-selftest runs a self-check and writes its result into the page
   (used by the headless-browser test). */
(function () {
  "use strict";
  var table = document.getElementById("am-runs");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filterBox = document.getElementById("am-filter");
  var count = document.getElementById("am-count");
  var state = { column: -1, direction: 1 };

  function key(row, column) { return row.cells[column].getAttribute("data-sort") || ""; }
  function index(row) { return Number(row.getAttribute("data-index")); }

  function compare(column, numeric, direction) {
    return function (a, b) {
      var x = key(a, column), y = key(b, column), order;
      if (x === "" || y === "") { order = x === y ? 0 : (x === "" ? 1 : -1); return order || index(a) - index(b); }
      order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, undefined, { numeric: true, sensitivity: "base" });
      return order * direction || index(a) - index(b);
    };
  }

  function sortBy(column, direction) {
    var numeric = headers[column].getAttribute("data-type") === "num";
    rows.slice().sort(compare(column, numeric, direction)).forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (cell, index) {
      if (index === column) { cell.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending"); }
      else { cell.removeAttribute("aria-sort"); }
    });
    state = { column: column, direction: direction };
  }

  headers.forEach(function (cell, index) {
    cell.addEventListener("click", function () {
      sortBy(index, state.column === index ? -state.direction : 1);
    });
  });

  function applyFilter() {
    var terms = filterBox.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var match = terms.every(function (term) { return text.indexOf(term) >= 0; });
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " runs";
  }
  filterBox.addEventListener("input", applyFilter);

  /* ------------------------------------------------------------------ charts */
  var curves = JSON.parse(document.getElementById("am-curves").textContent);
  var specElement = document.getElementById("am-charts");
  var specs = specElement ? JSON.parse(specElement.textContent) : null;
  var views = {};
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input.am-pick"));
  var allNames = curves.runs.map(function (run) { return run.run; });

  function picked() {
    return boxes.filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
  }

  function yScale(values) {
    /* Values over three decades (a first-epoch loss of 1e8): log scale. Otherwise a spike far above
       the rest would flatten every curve: the axis stops above the 98th percentile (zoom out to see it). */
    if (values.length < 2) { return null; }
    var sorted = values.slice().sort(function (a, b) { return a - b; });
    var low = sorted[0], top = sorted[sorted.length - 1];
    if (low > 0 && top / low > 1000) { return { scale: { type: "log" }, note: "Log scale: the values span " + Math.round(Math.log10(top / low)) + " decades." }; }
    var high = sorted[Math.floor(0.98 * (sorted.length - 1))], span = high - low;
    if (values.length < 10 || !(span > 0) || top <= high + 4 * span) { return null; }
    return { scale: { domain: [low, high + 0.15 * span] }, note: "A spike is cut off at the top: zoom out (mouse wheel) to see it." };
  }

  function datasets(chart, names) {
    var columns = chart === "metric" ? [curves.metric] : curves.losses;
    var points = [], best = [], labels = {}, values = [];
    curves.runs.forEach(function (run) {
      if (names.indexOf(run.run) < 0) { return; }
      columns.forEach(function (column) {
        var ys = run.series[column] || [];
        ys.forEach(function (y, i) {
          if (y === null) { return; }
          points.push({ run: run.run, x: run.x[i], y: y, column: column });
          values.push(y);
        });
      });
      run.phases.forEach(function (phase) {
        var at = labels[phase[0]] || (labels[phase[0]] = []);
        if (at.indexOf(phase[1]) < 0) { at.push(phase[1]); }
      });
      if (chart === "metric" && run.best) { best.push({ run: run.run, x: run.best[0], y: run.best[1] }); }
    });
    var phases = Object.keys(labels).map(function (x) {
      var texts = labels[x];
      return { x: Number(x), label: texts.length > 2 ? texts.slice(0, 2).join(" / ") + " …" : texts.join(" / ") };
    });
    return { data: { points: points, phases: phases, best: best }, y: yScale(values) };
  }

  function drawChart(chart, names) {
    var element = document.getElementById("am-chart-" + chart);
    var note = document.getElementById("am-note-" + chart);
    var spec = JSON.parse(JSON.stringify(specs[chart]));
    var prepared = datasets(chart, names);
    spec.datasets = prepared.data;
    spec.layer.forEach(function (layer) {
      var encoding = layer.encoding || {};
      if (encoding.color && encoding.color.scale) {  /* a run keeps its colour whichever runs are picked */
        encoding.color.scale.domain = allNames;
        encoding.color.scale.scheme = allNames.length <= 10 ? "tableau10" : "tableau20";
      }
      if (prepared.y && layer.data.name === "points") {
        if (prepared.y.scale.type === "log") { delete encoding.y.scale.zero; }
        Object.assign(encoding.y.scale, prepared.y.scale);
      }
    });
    if (note) { note.textContent = prepared.y ? prepared.y.note : ""; }
    if (views[chart]) { views[chart].finalize(); delete views[chart]; }
    if (!names.length) {
      element.textContent = "No run picked: tick runs in the table's plot column.";
      return Promise.resolve(null);
    }
    return vegaEmbed(element, spec, { renderer: "svg", actions: false }).then(function (result) {
      views[chart] = result.view;
      element.setAttribute("data-runs", String(names.length));
      return result;
    }).catch(function (error) {
      element.textContent = "This chart could not be drawn: " + error;
      console.error(error);
    });
  }

  function draw() {
    if (!specs || typeof window.vegaEmbed !== "function") { return Promise.resolve([]); }
    var names = picked();
    return Promise.all(Object.keys(specs).map(function (chart) { return drawChart(chart, names); }));
  }

  function pick(names) {
    boxes.forEach(function (box) { box.checked = names.indexOf(box.value) >= 0; });
    return draw();
  }

  boxes.forEach(function (box) { box.addEventListener("change", draw); });
  function onClick(id, handler) {
    var button = document.getElementById(id);
    if (button) { button.addEventListener("click", handler); }
  }
  onClick("am-top", function () { pick(curves.shown); });
  onClick("am-none", function () { pick([]); });
  onClick("am-visible", function () {
    pick(boxes.filter(function (box) { return !box.closest("tr").hidden; }).map(function (box) { return box.value; }));
  });

  /* ------------------------------------------------------------------ self-check (#am-selftest) */
  function order() {
    return Array.prototype.slice.call(body.rows).filter(function (row) { return !row.hidden; })
      .map(function (row) { return row.getAttribute("data-run"); });
  }

  function chartState() {
    var out = {};
    Object.keys(specs || {}).forEach(function (chart) {
      var element = document.getElementById("am-chart-" + chart);
      out[chart] = {
        svg: element.querySelectorAll("svg").length,
        lines: element.querySelectorAll("svg .mark-line path").length,
        texts: Array.prototype.slice.call(element.querySelectorAll("svg .mark-text text")).map(function (t) { return t.textContent; })
      };
    });
    return out;
  }

  function selfTest(term) {
    var result = { errors: [] };
    var column = headers.findIndex(function (cell) { return /^best /.test(cell.textContent); });
    if (column < 0) { column = headers.findIndex(function (cell) { return cell.textContent === "epochs"; }); }
    return draw().then(function () {
      result.charts = chartState();
      result.sortColumn = headers[column].textContent;
      headers[column].dispatchEvent(new MouseEvent("click", { bubbles: true }));
      result.ascending = order();
      headers[column].dispatchEvent(new MouseEvent("click", { bubbles: true }));
      result.descending = order();
      filterBox.value = term;
      filterBox.dispatchEvent(new Event("input", { bubbles: true }));
      result.filtered = order();
      result.count = count.textContent;
      filterBox.value = "";
      filterBox.dispatchEvent(new Event("input", { bubbles: true }));
      return pick([]);
    }).then(function () {
      result.afterNone = chartState();
      return pick(curves.shown);
    }).then(function () {
      result.afterTop = chartState();
      result.resources = performance.getEntriesByType("resource").map(function (entry) { return entry.name; });
    }).catch(function (error) {
      result.errors.push(String(error));
    }).then(function () {
      var out = document.createElement("pre");
      out.id = "am-selftest";
      out.textContent = JSON.stringify(result);
      document.body.appendChild(out);
    });
  }

  var hash = decodeURIComponent(window.location.hash || "");
  if (hash.indexOf("#am-selftest") === 0) {
    selfTest(hash.slice("#am-selftest=".length));
  } else {
    draw();
  }
}());
