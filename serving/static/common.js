// Shared by the console, the dashboard and the model page: the message catalogue (static/i18n/<lang>.json), the
// language switch (browser language by default, remembered), formatting as a person reads it, API
// calls, and the table view + CSV export every chart has.
"use strict";

const LANGS = ["en", "zh"];
const LANG_KEY = "triage.lang";
const I18N = { lang: "en", messages: {} };

function pickLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (LANGS.includes(saved)) return saved;
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return browser.toLowerCase().startsWith("zh") ? "zh" : "en";
}

async function loadLanguage(lang) {
  const response = await fetch(`/static/i18n/${lang}.json`);
  I18N.messages = await response.json();
  I18N.lang = lang;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  localStorage.setItem(LANG_KEY, lang);
  applyMessages(document);
}

// t("volume.title") or t("drift.n", {n: 3}); a missing key shows the key (easy to spot in review).
function t(key, vars) {
  let text = I18N.messages[key];
  if (text === undefined) text = key;
  if (vars) for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

// A label value as people call it ("label.department.IT"), or the value itself.
function label(head, value) {
  if (value === null || value === undefined || value === "") return "—";
  const key = `label.${head}.${value}`;
  return I18N.messages[key] === undefined ? String(value) : I18N.messages[key];
}

function applyMessages(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  const title = document.querySelector("meta[name=i18n-title]");
  if (title) document.title = t(title.content);
}

function locale() {
  return I18N.lang === "zh" ? "zh-CN" : "en-GB";
}

function fmtNumber(value, digits) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits === undefined ? 2 : digits }).format(value);
}

function fmtPercent(value) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(value);
}

// An ISO instant, or a bucket prefix ("2026-03-01" / "2026-03-01T09", UTC), in the reader's words and time zone.
function fmtTime(value) {
  if (!value) return "—";
  const text = String(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(new Date(text + "T00:00:00Z"));
  }
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}$/.test(text) ? text + ":00:00Z" : text;
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return text;
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(moment);
}

function fmtHours(value) {
  if (value === null || value === undefined) return "—";
  return t("unit.hours", { n: fmtNumber(value, 1) });
}

// The API key: one pasted into the console this session, else a console session key the server gives a
// browser on its own machine (GET /console/session), else none (a server without keys).
const AUTH = { key: null, tenant: null };
async function authHeaders() {
  if (AUTH.key === null) {
    AUTH.key = sessionStorage.getItem("triage-api-key") || "";
    if (!AUTH.key) {
      try {
        const response = await fetch("/console/session", { cache: "no-store" });
        if (response.ok) {
          const session = await response.json();
          AUTH.key = session.key || "";
          AUTH.tenant = session.tenant || null;
        }
      } catch (_) {
        AUTH.key = "";
      }
    }
  }
  return AUTH.key ? { Authorization: `Bearer ${AUTH.key}` } : {};
}

// A file from the API (CSV export) downloaded with the key, which a plain link cannot send.
async function download(path, filename) {
  const response = await fetchWithRetry(path, { headers: await authHeaders() });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// A page sends at most API_SLOTS requests at once (the dashboard has a dozen panels; the service sheds
// work beyond its bound on requests in flight), and a request the service refused before doing any work
// (429 rate, 503 at its bound or still loading) is sent again after its Retry-After, a few times.
const API_SLOTS = 3;
const API_RETRIES = 4;
let apiBusy = 0;
const apiWaiting = [];
async function apiSlot() {
  if (apiBusy < API_SLOTS) {
    apiBusy += 1;
    return;
  }
  await new Promise((resolve) => apiWaiting.push(resolve));
}
function apiRelease() {
  const next = apiWaiting.shift();
  if (next) next();
  else apiBusy -= 1;
}
async function fetchWithRetry(path, opts) {
  for (let attempt = 0; ; attempt += 1) {
    await apiSlot();
    let response;
    try {
      response = await fetch(path, opts);
    } finally {
      apiRelease();
    }
    if ((response.status !== 429 && response.status !== 503) || attempt >= API_RETRIES) return response;
    const after = Number(response.headers.get("Retry-After"));
    const seconds = Number.isFinite(after) && after > 0 ? Math.min(after, 10) : 1;
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000 * (0.75 + Math.random() / 2)));
  }
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = Object.assign({ Accept: "application/json" }, await authHeaders(), opts.headers || {});
  const response = await fetchWithRetry(path, opts);
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (!response.ok) {
    const detail = body && (body.detail || body.title);
    const message = typeof detail === "string" ? detail : JSON.stringify(detail || response.status);
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return body;
}

function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children || []) node.append(child);
  return node;
}

// A table of {columns, rows}: headers through the catalogue ("col.<name>"), cells through format[column].
function renderTable(container, captionKey, columns, rows, format) {
  container.replaceChildren();
  if (!rows.length) {
    container.append(el("p", { class: "empty", text: t("empty") }));
    return;
  }
  const numeric = columns.map((_, i) => rows.every((r) => r[i] === null || typeof r[i] === "number"));
  const head = el("tr", {}, columns.map((c, i) => el("th", { scope: "col", class: numeric[i] ? "num" : "", text: t(`col.${c}`) })));
  const body = rows.map((r) =>
    el("tr", {}, r.map((v, i) => {
      let shown;
      if (v instanceof Node) shown = v;
      else if (format && format[columns[i]]) shown = format[columns[i]](v, r);
      else shown = numeric[i] ? fmtNumber(v) : v === null ? "—" : String(v);
      const cell = el("td", { class: numeric[i] ? "num" : "" });
      cell.append(shown instanceof Node ? shown : document.createTextNode(shown));
      return cell;
    })),
  );
  container.append(el("table", {}, [el("caption", { text: t(captionKey) }), el("thead", {}, [head]), el("tbody", {}, body)]));
}

function setupLanguageSwitch(onChange) {
  const select = document.getElementById("lang");
  select.value = I18N.lang;
  select.addEventListener("change", async () => {
    localStorage.setItem(LANG_KEY, select.value); // remembered at once, even if the page is left mid-load
    await loadLanguage(select.value);
    onChange();
  });
}

const PALETTE = ["#1d4fb8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#475569"];
