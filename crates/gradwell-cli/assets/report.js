// The interactive report of gradwell: draws every chart described by the JSON blob
// `<script id="gw-data" type="application/json">` into its `<div class="gw-chart">`.
//
// Line charts use uPlot (inlined beside this script): hover to read the values in the
// legend, click a legend entry to hide or show that run (its theory and smoothed lines
// with it). Heat maps are drawn on a canvas with a logarithmic colour scale.
//
// After a chart is drawn its element gets `data-points` = the finite points (or cells)
// drawn; when all are drawn, `<html data-rendered="true">`.
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("gw-data").textContent);
  const colours = {};
  for (const r of data.runs) colours[r.name] = r.colour;

  // Four significant digits; exponent form for the very small and the very large.
  function fmt(v) {
    if (v == null || !Number.isFinite(v)) return "–";
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3).replace(/\.?0+e/, "e");
    return String(+v.toPrecision(4));
  }

  // A decade's label: 1e-19, 0.01, 1, 100, 1e5.
  function fmtDecade(v) {
    const e = Math.round(Math.log10(v));
    return e >= -2 && e <= 4 ? String(+v.toPrecision(1)) : "1e" + e;
  }

  // Decades lo..hi (exponents), every k-th so that labels are at least `px` apart on an
  // axis of `size` pixels, the lowest decade always included.
  function decadeSplits(lo, hi, size, px) {
    const n = Math.max(1, hi - lo);
    const k = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(size / px))));
    const out = [];
    for (let e = lo; e <= hi; e += k) out.push(Math.pow(10, e));
    return out;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function chartWidth(div) {
    return Math.max(320, Math.min(1000, div.clientWidth || 900));
  }

  // A line chart: series of [x, y] points (y null where not finite), on one x axis.
  function lineChart(div, c) {
    const xsSet = new Set();
    for (const s of c.series) for (const p of s.points) xsSet.add(p[0]);
    const xs = Array.from(xsSet).sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    let drawn = 0;
    let lo = Infinity;
    let hi = -Infinity;
    const columns = c.series.map((s) => {
      const ys = new Array(xs.length).fill(null);
      for (const [x, y] of s.points) {
        const ok = y != null && Number.isFinite(y) && (!c.log_y || y > 0);
        if (!ok) continue;
        ys[index.get(x)] = y;
        drawn += 1;
        if (y < lo) lo = y;
        if (y > hi) hi = y;
      }
      return ys;
    });
    const integerX = xs.every((x) => Number.isInteger(x));
    const width = chartWidth(div);
    const height = 320;
    const yScale = { auto: true };
    const yAxis = {
      label: c.y_label,
      size: 70,
      values: (u, splits) => splits.map(fmt),
    };
    if (c.log_y && drawn > 0) {
      const e0 = Math.floor(Math.log10(lo));
      const e1 = Math.max(e0 + 1, Math.ceil(Math.log10(hi)));
      yScale.distr = 3;
      yScale.log = 10;
      yScale.range = () => [Math.pow(10, e0), Math.pow(10, e1)];
      yAxis.splits = () => decadeSplits(e0, e1, height - 80, 24);
      // Our splits are already spaced; uPlot's own thinning would drop the lowest decade.
      yAxis.filter = (u, splits) => splits;
      yAxis.values = (u, splits) => splits.map(fmtDecade);
    }
    const xAxis = { label: c.x_label, values: (u, splits) => splits.map(fmt) };
    if (integerX) {
      xAxis.incrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
    }
    const series = [{ label: c.x_label, value: (u, v) => fmt(v) }];
    for (const s of c.series) {
      const colour = colours[s.run] || "#555";
      series.push({
        label: s.name,
        stroke: colour,
        width: s.style === "faint" ? 1 : 2,
        alpha: s.style === "faint" ? 0.35 : 1,
        dash: s.style === "dashed" ? [6, 4] : undefined,
        spanGaps: true,
        points: { show: xs.length <= 60 && s.style !== "faint", size: 5 },
        value: (u, v) => fmt(v),
      });
    }
    div.appendChild(el("div", "gw-title", c.title));
    const holder = el("div", "gw-plot");
    div.appendChild(holder);
    const opts = {
      width,
      height,
      scales: { x: { time: false }, y: yScale },
      axes: [xAxis, yAxis],
      series,
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      hooks: {
        // A click on a legend entry hides the run: its other lines (theory, smoothed)
        // follow.
        setSeries: [
          (u, i, o) => {
            if (i == null || o.show == null) return;
            const run = c.series[i - 1].run;
            c.series.forEach((s, j) => {
              if (j + 1 !== i && s.run === run && u.series[j + 1].show !== o.show) {
                u.setSeries(j + 1, { show: o.show }, false);
              }
            });
          },
        ],
      },
    };
    // eslint-disable-next-line no-undef
    new uPlot(opts, [xs].concat(columns), holder);
    if (c.note) div.appendChild(el("div", "gw-note", c.note));
    div.dataset.points = String(drawn);
  }

  // Viridis, nine stops.
  const RAMP = [
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
  ];

  function ramp(t) {
    const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
    const i = Math.min(RAMP.length - 2, Math.floor(x));
    const f = x - i;
    const c = RAMP[i].map((a, k) => Math.round(a + f * (RAMP[i + 1][k] - a)));
    return "rgb(" + c.join(",") + ")";
  }

  // A heat map: rows = layers (input side on top), columns = steps, colour = log10 value.
  function heatMap(div, c) {
    const rows = c.layers.length;
    const cols = c.steps.length;
    let lo = Infinity;
    let hi = -Infinity;
    for (const row of c.values) {
      for (const v of row) {
        if (v != null && Number.isFinite(v) && v > 0) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    const e0 = Number.isFinite(lo) ? Math.floor(Math.log10(lo)) : 0;
    const e1 = Number.isFinite(hi) ? Math.max(e0 + 1, Math.ceil(Math.log10(hi))) : 1;
    const width = chartWidth(div);
    const left = 110;
    const bar = 90;
    const top = 8;
    const bottom = 40;
    const cellH = Math.max(4, Math.min(22, Math.floor(420 / Math.max(1, rows))));
    const plotW = width - left - bar;
    const plotH = cellH * rows;
    const height = top + plotH + bottom;
    div.appendChild(el("div", "gw-title", c.title));
    const wrap = el("div", "gw-heat");
    const canvas = el("canvas");
    const ratio = window.devicePixelRatio || 1;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    wrap.appendChild(canvas);
    const tip = el("div", "gw-tip");
    wrap.appendChild(tip);
    div.appendChild(wrap);
    const g = canvas.getContext("2d");
    g.scale(ratio, ratio);
    g.font = "11px sans-serif";
    g.fillStyle = "#222";
    const cellW = plotW / Math.max(1, cols);
    const t = (v) => (Math.log10(v) - e0) / (e1 - e0);
    let drawn = 0;
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < cols; k++) {
        const v = c.values[r][k];
        const x = left + k * cellW;
        const y = top + r * cellH;
        if (v != null && Number.isFinite(v) && v > 0) {
          g.fillStyle = ramp(t(v));
          drawn += 1;
        } else {
          g.fillStyle = "#ddd";
        }
        g.fillRect(x, y, Math.ceil(cellW), cellH);
      }
    }
    // Layer labels, thinned to fit.
    g.fillStyle = "#222";
    g.textAlign = "right";
    g.textBaseline = "middle";
    const every = Math.max(1, Math.ceil(12 / cellH));
    for (let r = 0; r < rows; r += every) {
      g.fillText(c.layers[r], left - 6, top + (r + 0.5) * cellH);
    }
    // Step ticks.
    g.textAlign = "center";
    g.textBaseline = "top";
    const stepEvery = Math.max(1, Math.ceil(60 / Math.max(1, cellW)));
    for (let k = 0; k < cols; k += stepEvery) {
      g.fillText(String(c.steps[k]), left + (k + 0.5) * cellW, top + plotH + 4);
    }
    g.fillText(c.x_label, left + plotW / 2, top + plotH + 22);
    // The colour bar: one decade per label, the lowest always labelled.
    const bx = left + plotW + 16;
    const bw = 14;
    for (let i = 0; i < plotH; i++) {
      g.fillStyle = ramp(1 - i / Math.max(1, plotH - 1));
      g.fillRect(bx, top + i, bw, 1);
    }
    g.fillStyle = "#222";
    g.textAlign = "left";
    g.textBaseline = "middle";
    for (const v of decadeSplits(e0, e1, plotH, 14)) {
      const y = top + (1 - t(v)) * plotH;
      g.fillRect(bx + bw, y, 3, 1);
      g.fillText(fmtDecade(v), bx + bw + 5, y);
    }
    canvas.addEventListener("mousemove", (ev) => {
      const box = canvas.getBoundingClientRect();
      const k = Math.floor((ev.clientX - box.left - left) / cellW);
      const r = Math.floor((ev.clientY - box.top - top) / cellH);
      if (k < 0 || k >= cols || r < 0 || r >= rows) {
        tip.style.display = "none";
        return;
      }
      tip.textContent = "layer " + c.layers[r] + ", step " + c.steps[k] + ": " + c.y_label + " = " + fmt(c.values[r][k]);
      tip.style.display = "block";
      tip.style.left = Math.min(width - 220, ev.clientX - box.left + 12) + "px";
      tip.style.top = ev.clientY - box.top + 12 + "px";
    });
    canvas.addEventListener("mouseleave", () => {
      tip.style.display = "none";
    });
    if (c.note) div.appendChild(el("div", "gw-note", c.note));
    div.dataset.points = String(drawn);
  }

  for (const c of data.charts) {
    const div = document.getElementById(c.id);
    if (c.kind === "heat") heatMap(div, c);
    else lineChart(div, c);
  }
  document.documentElement.dataset.rendered = "true";
})();
