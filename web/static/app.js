// Tracehouse dashboard enhancements. Every page works without this script;
// it adds auto-refresh (off by default), drag-to-zoom on time charts,
// collapsible waterfall subtrees and project switching on change.
"use strict";

(function () {
  document.documentElement.classList.add("js");

  const REFRESH_KEY = "tracehouse.autoRefresh";
  const REFRESH_MS = 30000;

  function storedRefresh() {
    try { return window.localStorage.getItem(REFRESH_KEY) === "on"; } catch (_) { return false; }
  }

  function storeRefresh(on) {
    try { window.localStorage.setItem(REFRESH_KEY, on ? "on" : "off"); } catch (_) { /* private mode */ }
  }

  function setUpRefresh() {
    const box = document.getElementById("auto-refresh");
    if (!box) return;
    const label = box.closest("label");
    if (label) label.hidden = false;
    let timer = null;
    const apply = function () {
      if (timer) window.clearTimeout(timer);
      timer = box.checked ? window.setTimeout(function () { window.location.reload(); }, REFRESH_MS) : null;
    };
    box.checked = storedRefresh();
    box.addEventListener("change", function () { storeRefresh(box.checked); apply(); });
    apply();
  }

  function setUpAutosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { if (select.form) select.form.submit(); });
    });
  }

  // Drag across a time chart: the page reloads with that range.
  function setUpZoom(svg) {
    const start = Number(svg.dataset.startMs);
    const end = Number(svg.dataset.endMs);
    const left = Number(svg.dataset.plotLeft);
    const right = Number(svg.dataset.plotRight);
    const width = Number(svg.dataset.viewWidth);
    if (!(end > start) || !(right > left) || !(width > 0)) return;
    const ns = "http://www.w3.org/2000/svg";
    let from = null;
    let band = null;
    const toView = function (event) {
      const box = svg.getBoundingClientRect();
      const x = (event.clientX - box.left) / box.width * width;
      return Math.min(right, Math.max(left, x));
    };
    const toTime = function (x) { return Math.round(start + (x - left) / (right - left) * (end - start)); };
    svg.addEventListener("pointerdown", function (event) {
      from = toView(event);
      band = document.createElementNS(ns, "rect");
      band.setAttribute("class", "zoom-band");
      band.setAttribute("y", "0");
      band.setAttribute("height", "100%");
      band.setAttribute("x", String(from));
      band.setAttribute("width", "0");
      svg.appendChild(band);
      svg.setPointerCapture(event.pointerId);
    });
    svg.addEventListener("pointermove", function (event) {
      if (from === null || !band) return;
      const x = toView(event);
      band.setAttribute("x", String(Math.min(from, x)));
      band.setAttribute("width", String(Math.abs(x - from)));
    });
    svg.addEventListener("pointerup", function (event) {
      if (from === null) return;
      const x = toView(event);
      const a = toTime(Math.min(from, x));
      const b = toTime(Math.max(from, x));
      from = null;
      if (band) { band.remove(); band = null; }
      if (b - a < 1000) return;
      const url = new URL(window.location.href);
      url.searchParams.set("from", String(a));
      url.searchParams.set("to", String(b));
      url.searchParams.delete("cursor");
      window.location.assign(url.toString());
    });
  }

  // A waterfall row's toggle hides or shows the rows of its subtree.
  function setUpWaterfall(table) {
    const rows = Array.from(table.querySelectorAll("tbody tr[data-depth]"));
    rows.forEach(function (row, index) {
      const button = row.querySelector("button.toggle");
      if (!button) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        const collapse = button.getAttribute("aria-expanded") !== "false";
        button.setAttribute("aria-expanded", collapse ? "false" : "true");
        button.textContent = collapse ? "▸" : "▾";
        const depth = Number(row.dataset.depth);
        for (let next = index + 1; next < rows.length; next += 1) {
          const other = rows[next];
          if (Number(other.dataset.depth) <= depth) break;
          other.classList.toggle("hidden", collapse);
          const inner = other.querySelector("button.toggle");
          if (!collapse && inner) { inner.setAttribute("aria-expanded", "true"); inner.textContent = "▾"; }
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpRefresh();
    setUpAutosubmit();
    document.querySelectorAll("svg.zoomable").forEach(setUpZoom);
    document.querySelectorAll("table.waterfall").forEach(setUpWaterfall);
  });
})();
