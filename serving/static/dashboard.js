// The operations dashboard: every figure is one GET /v1/stats/... (SQL aggregates) drawn with Chart.js,
// with its table view and CSV export (the same URL with format=csv).
"use strict";

const HEADS = ["department", "category", "priority"];
const charts = {};
let timer = null;

function query(extra) {
  const params = new URLSearchParams({ tenant: document.getElementById("tenant").value || "default" });
  const range = document.getElementById("range").value;
  params.set("range", range);
  if (range === "custom") {
    const since = document.getElementById("since").value;
    const until = document.getElementById("until").value;
    if (since) params.set("since", since + "T00:00:00Z");
    // The "to" date is inclusive: the range ends at the start of the next day.
    if (until) params.set("until", new Date(Date.parse(until + "T00:00:00Z") + 86_400_000).toISOString());
  }
  for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
  return params;
}

function card(id, titleKey, options) {
  let section = document.getElementById(id);
  if (section) return section;
  const opts = options || {};
  section = el("section", { class: "card" + (opts.wide ? " wide" : ""), id, "aria-labelledby": `${id}-title` });
  const actions = el("div", { class: "card-actions" });
  if (opts.extra) actions.append(opts.extra);
  if (!opts.tableOnly) {
    actions.append(el("button", { type: "button", class: "toggle", "aria-expanded": "false", "aria-controls": `${id}-table`, "data-i18n": "show.table",
      onclick: (e) => {
        const table = section.querySelector(".table-wrap");
        table.hidden = !table.hidden;
        e.currentTarget.setAttribute("aria-expanded", String(!table.hidden));
        e.currentTarget.dataset.i18n = table.hidden ? "show.table" : "show.chart";
        e.currentTarget.textContent = t(e.currentTarget.dataset.i18n);
        section.querySelector(".chart").hidden = !table.hidden;
      } }));
  }
  actions.append(el("a", { class: "csv", href: "#", download: `${id}.csv`, "data-i18n": "csv",
    onclick: (e) => {
      e.preventDefault();
      download(e.currentTarget.getAttribute("href"), `${id}.csv`).catch((err) => {
        const error = section.querySelector(".error");
        error.hidden = false;
        error.textContent = t("error.load", { message: err.message });
      });
    } }));
  section.append(el("div", { class: "card-head" }, [el("h2", { id: `${id}-title`, "data-i18n": titleKey }), actions]));
  if (!opts.tableOnly) {
    section.append(el("div", { class: "chart" }, [el("canvas", { role: "img", "data-i18n-aria": titleKey })]));
  }
  section.append(el("div", { class: "table-wrap", id: `${id}-table`, tabindex: "0", hidden: "" }));
  if (opts.tableOnly) section.querySelector(".table-wrap").hidden = false;
  section.append(el("p", { class: "status-line error", role: "alert", hidden: "" }));
  document.getElementById("figures").append(section);
  applyMessages(section);
  return section;
}

function draw(id, config) {
  const canvas = document.querySelector(`#${id} canvas`);
  if (!canvas || typeof Chart === "undefined") return;
  if (charts[id]) charts[id].destroy();
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { position: "bottom" } } }, config.options || {});
  charts[id] = new Chart(canvas, config);
}

async function figure(id, titleKey, path, extra, render, options) {
  const section = card(id, titleKey, options);
  const params = query(extra);
  const error = section.querySelector(".error");
  section.querySelector("a.csv").href = `${path}?${params}&format=csv`;
  try {
    const data = await api(`${path}?${params}`);
    error.hidden = true;
    render(section, data);
  } catch (e) {
    error.hidden = false;
    error.textContent = t("error.load", { message: e.message });
  }
}

function pivot(rows, xIndex, seriesIndex, valueIndex) {
  const xs = [...new Set(rows.map((r) => r[xIndex]))].sort();
  const names = [...new Set(rows.map((r) => r[seriesIndex]))].sort();
  const series = names.map((name) => xs.map((x) => {
    const row = rows.find((r) => r[xIndex] === x && r[seriesIndex] === name);
    return row ? row[valueIndex] : 0;
  }));
  return { xs, names, series };
}

function timeFormat() {
  return { bucket: fmtTime, at: fmtTime, created_at: fmtTime, due_at: fmtTime };
}

async function refresh() {
  const by = (document.getElementById("volume-by") || {}).value || "department";
  const tasks = [
    figure("volume", "volume.title", "/v1/stats/volume", { by }, (section, data) => {
      const p = pivot(data.rows, 0, 1, 2);
      draw("volume", { type: "bar", data: { labels: p.xs.map(fmtTime),
        datasets: p.names.map((n, i) => ({ label: label(by, n), data: p.series[i], backgroundColor: PALETTE[i % PALETTE.length] })) },
        options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } });
      renderTable(section.querySelector(".table-wrap"), "volume.title", data.columns, data.rows,
        Object.assign(timeFormat(), { key: (v) => label(by, v) }));
    }, { extra: volumeBySelect(by) }),
    figure("routing", "routing.title", "/v1/stats/routing", {}, (section, data) => {
      const totals = HEADS.map((h) => data.rows.filter((r) => r[0] === h).reduce((a, r) => [a[0] + r[2], a[1] + r[3]], [0, 0]));
      draw("routing", { type: "bar", data: { labels: HEADS.map((h) => t(`head.${h}`)), datasets: [
        { label: t("col.auto_routed"), data: totals.map((x) => x[0]), backgroundColor: PALETTE[2] },
        { label: t("col.needs_human"), data: totals.map((x) => x[1]), backgroundColor: PALETTE[1] }] },
        options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } });
      renderTable(section.querySelector(".table-wrap"), "routing.title", data.columns, data.rows,
        Object.assign(timeFormat(), { head: (v) => t(`head.${v}`) }));
    }),
    figure("coverage", "coverage.title", "/v1/stats/coverage", {}, (section, data) => {
      lineByHeadVersion("coverage", data, 4);
      renderTable(section.querySelector(".table-wrap"), "coverage.title", data.columns, data.rows,
        Object.assign(timeFormat(), { head: (v) => t(`head.${v}`), coverage: fmtPercent, mean_confidence: fmtPercent }));
    }),
    figure("accuracy", "accuracy.title", "/v1/stats/accuracy", {}, (section, data) => {
      lineByHeadVersion("accuracy", data, 4);
      renderTable(section.querySelector(".table-wrap"), "accuracy.title", data.columns, data.rows,
        Object.assign(timeFormat(), { head: (v) => t(`head.${v}`), accuracy: fmtPercent }));
    }),
    figure("confusion", "confusion.title", "/v1/stats/confusion", { head: "department" }, (section, data) => {
      matrix(section, data, "confusion.title", null);
      barOfOffDiagonal("confusion", data);
    }),
    figure("handoffs", "handoffs.title", "/v1/stats/handoffs", {}, (section, data) => {
      const merged = {};
      for (const [from, to, , n] of data.rows) merged[`${from}\u0000${to}`] = (merged[`${from}\u0000${to}`] || 0) + n;
      const rows = Object.entries(merged).map(([k, n]) => [...k.split("\u0000"), n]);
      matrix(section, { columns: ["from_department", "to_department", "tickets"], rows }, "handoffs.title", showCell);
      const top = rows.sort((a, b) => b[2] - a[2]).slice(0, 10);
      draw("handoffs", { type: "bar", data: { labels: top.map((r) => `${label("department", r[0])} → ${label("department", r[1])}`),
        datasets: [{ label: t("col.tickets"), data: top.map((r) => r[2]), backgroundColor: PALETTE[4] }] },
        options: { indexAxis: "y", plugins: { legend: { display: false } } } });
    }, { wide: true }),
    figure("sla", "sla.title", "/v1/stats/sla-risk", {}, (section, data) => {
      renderTable(section.querySelector(".table-wrap"), "sla.title", data.columns, data.rows,
        Object.assign(timeFormat(), { department: (v) => label("department", v), breach_risk: fmtPercent,
          hours_left: fmtHours, p50_hours: fmtHours, p90_hours: fmtHours }));
    }, { tableOnly: true }),
    figure("handling", "handling.title", "/v1/stats/handling", {}, (section, data) => {
      draw("handling", { type: "bar", data: { labels: data.rows.map((r) => label("department", r[0])), datasets: [
        { label: t("col.predicted_p50_hours"), data: data.rows.map((r) => r[2]), backgroundColor: PALETTE[0] },
        { label: t("col.real_hours"), data: data.rows.map((r) => r[3]), backgroundColor: PALETTE[1] }] } });
      renderTable(section.querySelector(".table-wrap"), "handling.title", data.columns, data.rows,
        { department: (v) => label("department", v), within_p90: fmtPercent });
    }),
    figure("suggestions", "suggestions.title", "/v1/stats/suggestions", {}, (section, data) => {
      const top = data.rows.slice(0, 10);
      draw("suggestions", { type: "bar", data: { labels: top.map((r) => r[0]), datasets: [
        { label: t("col.helpful"), data: top.map((r) => r[1]), backgroundColor: PALETTE[2] },
        { label: t("col.not_helpful"), data: top.map((r) => r[2]), backgroundColor: PALETTE[4] }] },
        options: { indexAxis: "y" } });
      renderTable(section.querySelector(".table-wrap"), "suggestions.title", data.columns, data.rows);
    }),
    figure("duplicates", "duplicates.title", "/v1/stats/duplicates", {}, (section, data) => {
      const top = data.rows.slice(0, 10);
      draw("duplicates", { type: "bar", data: { labels: top.map((r) => r[0]),
        datasets: [{ label: t("col.tickets"), data: top.map((r) => r[4]), backgroundColor: PALETTE[6] }] },
        options: { indexAxis: "y", plugins: { legend: { display: false } } } });
      renderTable(section.querySelector(".table-wrap"), "duplicates.title", data.columns, data.rows,
        Object.assign(timeFormat(), { department: (v) => label("department", v), best_score: fmtPercent,
          first_seen: fmtTime, last_seen: fmtTime, status: (v) => label("status", String(v).toLowerCase()) }));
    }),
    spikes(),
    drift(),
  ];
  await Promise.all(tasks);
  document.getElementById("updated").textContent = t("updated", { time: fmtTime(new Date().toISOString()) });
}

function volumeBySelect(current) {
  const select = el("select", { id: "volume-by", "data-i18n-aria": "volume.by" },
    ["department", "category", "priority", "language"].map((v) => el("option", { value: v, "data-i18n": `by.${v}` })));
  select.value = current;
  select.addEventListener("change", refresh);
  return select;
}

function lineByHeadVersion(id, data, valueIndex) {
  const keys = [...new Set(data.rows.map((r) => `${r[0]} · ${r[1]}`))].sort();
  const xs = [...new Set(data.rows.map((r) => r[2]))].sort();
  draw(id, { type: "line", data: { labels: xs.map(fmtTime), datasets: keys.map((k, i) => ({
    label: `${t(`head.${k.split(" · ")[0]}`)} · ${k.split(" · ")[1]}`,
    data: xs.map((x) => { const r = data.rows.find((row) => `${row[0]} · ${row[1]}` === k && row[2] === x); return r ? r[valueIndex] : null; }),
    borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length], spanGaps: true })) },
    options: { scales: { y: { min: 0, max: 1, ticks: { callback: (v) => fmtPercent(v) } } } } });
}

function barOfOffDiagonal(id, data) {
  const wrong = data.rows.filter((r) => r[0] !== r[1]).sort((a, b) => b[2] - a[2]).slice(0, 10);
  draw(id, { type: "bar", data: { labels: wrong.map((r) => `${label("department", r[0])} → ${label("department", r[1])}`),
    datasets: [{ label: t("col.tickets"), data: wrong.map((r) => r[2]), backgroundColor: PALETTE[1] }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } } } });
}

// A from × to matrix as a table (rows: from / predicted; columns: to / chosen); onCell opens the tickets behind a cell.
function matrix(section, data, captionKey, onCell) {
  const wrap = section.querySelector(".table-wrap");
  wrap.replaceChildren();
  if (!data.rows.length) {
    wrap.append(el("p", { class: "empty", text: t("empty") }));
    return;
  }
  const froms = [...new Set(data.rows.map((r) => r[0]))].sort();
  const tos = [...new Set(data.rows.map((r) => r[1]))].sort();
  const head = el("tr", {}, [el("th", { scope: "col", text: `${t(`col.${data.columns[0]}`)} \\ ${t(`col.${data.columns[1]}`)}` }),
    ...tos.map((to) => el("th", { scope: "col", class: "num", text: label("department", to) }))]);
  const body = froms.map((from) => el("tr", {}, [el("th", { scope: "row", text: label("department", from) }),
    ...tos.map((to) => {
      const row = data.rows.find((r) => r[0] === from && r[1] === to);
      const cell = el("td", { class: "num" });
      if (!row) cell.textContent = "·";
      else if (onCell && from !== to) cell.append(el("button", { type: "button", class: "cell", text: fmtNumber(row[2]),
        "aria-label": t("handoffs.cell", { from: label("department", from), to: label("department", to), n: row[2] }),
        onclick: () => onCell(from, to) }));
      else cell.textContent = fmtNumber(row[2]);
      return cell;
    })]));
  wrap.append(el("table", {}, [el("caption", { text: t(captionKey) }), el("thead", {}, [head]), el("tbody", {}, body)]));
  wrap.hidden = false;
}

async function showCell(from, to) {
  const dialog = document.getElementById("cell-dialog");
  document.getElementById("cell-title").textContent = t("handoffs.cellTitle", { from: label("department", from), to: label("department", to) });
  const body = document.getElementById("cell-body");
  body.replaceChildren(el("p", { text: t("loading") }));
  dialog.showModal();
  const data = await api(`/v1/stats/handoffs/tickets?${query({ from, to })}`);
  renderTable(body, "handoffs.tickets", data.columns, data.rows, Object.assign(timeFormat(), { source: (v) => t(`source.${v}`) === `source.${v}` ? v : t(`source.${v}`) }));
}

async function spikes() {
  const section = card("spikes", "spikes.title", { tableOnly: true });
  const tenant = document.getElementById("tenant").value || "default";
  section.querySelector("a.csv").hidden = true;
  try {
    const data = await api(`/v1/spikes?tenant=${encodeURIComponent(tenant)}`);
    const rows = data.spikes.map((s) => [s.terms.join(" · "), s.size, s.baseline, s.first_seen, s.last_seen, s.case_ids.slice(0, 5).join(", ")]);
    renderTable(section.querySelector(".table-wrap"), "spikes.title", ["terms", "tickets", "baseline", "first_seen", "last_seen", "cases"], rows,
      { first_seen: fmtTime, last_seen: fmtTime });
  } catch (e) {
    section.querySelector(".error").hidden = false;
    section.querySelector(".error").textContent = t("error.load", { message: e.message });
  }
}

async function drift() {
  const section = card("drift", "drift.title", { tableOnly: true, wide: true });
  const tenant = document.getElementById("tenant").value || "default";
  section.querySelector("a.csv").hidden = true;
  const rows = [];
  for (const head of HEADS) {
    try {
      const d = await api(`/v1/drift?tenant=${encodeURIComponent(tenant)}&head=${head}`);
      const band = (b) => el("span", { class: `band-${String(b).split(" ")[0]}`, text: b ? t(`band.${b}`) : "—" });
      const interval = (i) => (i ? `${fmtNumber(i[0], 3)} – ${fmtNumber(i[1], 3)}` : "—");
      rows.push([t(`head.${head}`), d.model_version, d.n_live, d.label_psi ?? null, interval(d.label_psi_interval), band(d.label_drift),
        d.confidence_psi ?? null, interval(d.confidence_psi_interval), band(d.confidence_drift)]);
    } catch (e) {
      rows.push([t(`head.${head}`), "—", null, null, e.message, "", null, "", ""]);
    }
  }
  renderTable(section.querySelector(".table-wrap"), "drift.title",
    ["head", "version", "n_live", "label_psi", "interval", "label_drift", "confidence_psi", "interval", "confidence_drift"], rows,
    { label_psi: (v) => fmtNumber(v, 3), confidence_psi: (v) => fmtNumber(v, 3) });
  section.append(el("p", { class: "muted", text: t("drift.note") }));
  for (const old of section.querySelectorAll("p.muted")) if (old !== section.lastChild) old.remove();
}

function schedule() {
  clearInterval(timer);
  if (document.getElementById("auto").checked) timer = setInterval(refresh, 60_000);
}

async function start() {
  await loadLanguage(pickLanguage());
  await authHeaders();
  if (AUTH.tenant) document.getElementById("tenant").value = AUTH.tenant;
  setupLanguageSwitch(refresh);
  const range = document.getElementById("range");
  range.addEventListener("change", () => {
    for (const label of document.querySelectorAll("label.custom")) label.hidden = range.value !== "custom";
  });
  document.getElementById("filters").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  document.getElementById("auto").addEventListener("change", schedule);
  schedule();
  await refresh();
  document.body.dataset.ready = "true";
}

start();
