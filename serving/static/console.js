// The agent console: triage one ticket (POST /v1/triage), show the result, take the agent's verdicts
// (POST /v1/feedback). Every word on the page comes from the message catalogue (static/i18n/<lang>.json,
// common.js); the server's reasons arrive as codes + params and are worded here in the chosen language.
"use strict";

/* ------------------------------------------------------------------ constants */

const TICKET_FIELDS = ["title", "body", "channel", "requester", "created_at", "language"];
const REQUEST_LEVEL_ERRORS = new Set(["json_invalid", "missing", "model_attributes_type", "dict_type", "model_type"]);
const TRIAGE_TIMEOUT_MS = 60000;
const HEADS = ["department", "category", "priority"];

const EXAMPLES = {
  zh: {
    title: "VPN 无法连接",
    body: "您好，从今天早上开始 VPN 连不上，报错 809，主机 srv-vpn-02 (10.2.3.4)。请尽快处理，谢谢！",
    channel: "email",
    requester: "zhang.wei@example.com",
    created_at: "2026-11-23T09:15",
    language: "auto",
  },
  en: {
    title: "Outlook keeps asking for my password",
    body: "Hi team,\nsince this morning Outlook on my laptop LT-20931 keeps asking for my password and then fails " +
      "with error 0x800CCC0E. I reset my password yesterday. The mail server is mail01.corp.example.com (10.20.1.15).\n" +
      "I have a customer call at 3pm, please help.\nThanks,\nJohn Smith, +1 415 555 0132",
    channel: "portal",
    requester: "john.smith@example.com",
    created_at: "2026-11-23T08:40",
    language: "auto",
  },
};

/* ------------------------------------------------------------------ DOM helpers (text only: never innerHTML) */

const $ = (id) => document.getElementById(id);

/**
 * Build an element. Children that are strings become text nodes, so ticket text can never become markup.
 * props: class, text, style (object), dataset (object), on<event> (function), anything else as an attribute.
 */
function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A catalogue message, or `fallback` when the catalogue has no such key. */
function tOr(key, fallback, vars) {
  return I18N.messages[key] === undefined ? fallback : t(key, vars);
}

function pct(x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "—";
  if (x > 0 && x < 0.01) return `<${fmtPercent(0.01)}`;
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: x >= 0.1 || x === 0 ? 0 : 1 }).format(x);
}

function hours(x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "—";
  return t("unit.hours", { n: fmtNumber(x, x >= 10 ? 0 : 1) });
}

function languageName(code) {
  return tOr(`console.language.${code}`, code);
}

/** A 0..1 bar; colour by level (green high, amber mid, red low), or inverted for risks (red high). */
function bar(value, ariaLabel, extraClass, invert) {
  const v = typeof value === "number" && Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
  const good = invert ? 1 - v : v;
  const level = good >= 0.8 ? "high" : good >= 0.5 ? "mid" : "low";
  return h(
    "div",
    {
      class: `bar ${level} ${extraClass || ""}`.trim(),
      role: "progressbar",
      "aria-label": ariaLabel,
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": Math.round(v * 100),
    },
    h("span", { style: { width: `${(v * 100).toFixed(1)}%` } }),
  );
}

function card(title, testid, ...children) {
  return h("section", { class: "card", "data-testid": testid }, h("h2", {}, title), ...children);
}

/** A normalised field value as a person reads it, in the page's language: dates in words (also year-less
 * ISO dates such as "--08-13T09:30"), numbers grouped, money with its currency; anything else as JSON. */
function humanValue(value) {
  const lang = locale();
  if (typeof value === "number") return value.toLocaleString(lang);
  if (typeof value === "string") {
    const noYear = /^--(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::\d{2})?)?$/.exec(value);
    if (noYear) {
      const [, month, day, hour, minute] = noYear;
      const moment = new Date(Date.UTC(2000, Number(month) - 1, Number(day), Number(hour || 0), Number(minute || 0)));
      const options = { month: "long", day: "numeric", timeZone: "UTC" };
      if (hour !== undefined && !(hour === "00" && minute === "00")) {
        Object.assign(options, { hour: "2-digit", minute: "2-digit" });
      }
      return new Intl.DateTimeFormat(lang, options).format(moment);
    }
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
      return new Intl.DateTimeFormat(lang, { dateStyle: "long", timeZone: "UTC" }).format(new Date(`${value}T00:00:00Z`));
    }
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) {
      const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(value);
      return new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short", ...(zoned ? {} : { timeZone: "UTC" }) })
        .format(new Date(zoned ? value : `${value}Z`));
    }
    return value;
  }
  if (value && typeof value === "object" && typeof value.amount === "number" && typeof value.currency === "string") {
    try {
      return new Intl.NumberFormat(lang, { style: "currency", currency: value.currency }).format(value.amount);
    } catch (_err) {
      return `${value.amount.toLocaleString(lang)} ${value.currency}`;
    }
  }
  return jsonText(value);
}

function jsonText(value) {
  try {
    return JSON.stringify(value);
  } catch (_err) {
    return String(value);
  }
}

/* ------------------------------------------------------------------ reasons (codes + params from the server) */

/** One reason in the page's language; null when the catalogue does not know its code (a newer server). */
function reasonText(reason) {
  if (!reason || typeof reason.code !== "string") return null;
  const p = reason.params || {};
  const head = typeof p.head === "string" ? p.head : null;
  const quoted = (items) => (items || []).map((w) => t("console.quoted", { text: w })).join(t("console.listSep"));
  const vars = {};
  for (const [name, value] of Object.entries(p)) {
    if (["value", "from", "boost"].includes(name) && head) vars[name] = label(head, value);
    else if (name === "head") vars.head = t(`head.${value}`);
    else if (name === "confidence" || name === "threshold") vars[name] = pct(value);
    else if (name === "words") vars.words = quoted(value);
    else if (name === "examples" || name === "fields") vars[name] = (value || []).join(t("console.listSep"));
    else if (name === "known") vars.known = (value || []).map(languageName).join(t("console.listSep"));
    else if (name === "language") vars.language = languageName(value);
    else if (name === "field") vars.field = t(`console.field.${value}`);
    else if (name === "by") vars.by = fmtNumber(value);
    else vars[name] = value === null || value === undefined ? "—" : String(value);
  }
  let code = reason.code;
  if (code === "rule_raised" && (p.from === null || p.from === undefined)) code = "rule_raised_to";
  if (code === "rule_boosted" && p.from !== undefined && p.from !== null) code = "rule_boosted_changed";
  const key = `reason.${code}`;
  if (I18N.messages[key] === undefined) return null;
  let text = t(key, vars);
  if (Array.isArray(reason.because) && reason.because.length) {
    const parts = reason.because.map(reasonText);
    if (parts.includes(null)) return null;
    text += t("reason.because", { conditions: parts.join(t("reason.sep")) });
  }
  return text;
}

/** A prediction's explanation in the page's language, else the server's English line. */
function explain(pred) {
  const reasons = Array.isArray(pred.reasons) ? pred.reasons : [];
  const parts = reasons.map(reasonText);
  if (!reasons.length || parts.includes(null)) return pred.reason || "";
  return parts.join(t("reason.sep"));
}

/* ------------------------------------------------------------------ service status (GET /readyz) */

let statusTimer = null;

function setStatus(state, text, details) {
  const box = $("service-status");
  box.dataset.state = state;
  box.querySelector(".state-text").textContent = text;
  const holder = box.querySelector(".status-details");
  holder.replaceChildren(...(details || []).map((d) => h("span", { class: "chip" }, d)));
}

async function refreshStatus() {
  clearTimeout(statusTimer);
  let next = 30000;
  try {
    const res = await fetch("/readyz", { cache: "no-store", headers: await authHeaders() });
    let data = null;
    try {
      data = await res.json();
    } catch (_err) {
      data = null;
    }
    const status = data && typeof data.status === "string" ? data.status : null;
    const details = [];
    if (data && data.model_version) details.push(t("console.status.model", { version: data.model_version }));
    if (data && data.encoder) details.push(t("console.status.encoder", { encoder: data.encoder }));
    if (data && typeof data.cases === "number") details.push(t("console.status.cases", { n: fmtNumber(data.cases, 0) }));
    if (res.ok && status === "ready") {
      if (!Object.keys(knownLabels).length) await loadLabels();
      setStatus("ready", t("console.status.ready"), details);
    } else if (status === "loading" || res.status === 503) {
      setStatus("loading", t("console.status.loading"), details);
      next = 2000;
    } else {
      setStatus("down", t("console.status.notReady", { status: status || `HTTP ${res.status}` }), details);
      next = 5000;
    }
  } catch (_err) {
    setStatus("down", t("console.status.unreachable"), []);
    next = 5000;
  }
  statusTimer = setTimeout(refreshStatus, next);
}

/** Every label the active model knows, per head (GET /v1/labels): the correction lists offer them all. */
let knownLabels = {};
async function loadLabels() {
  try {
    const res = await fetchWithRetry("/v1/labels", { headers: { Accept: "application/json", ...(await authHeaders()) } });
    if (res.ok) knownLabels = (await res.json()).labels || {};
  } catch (_err) {
    knownLabels = {};
  }
}

/* ------------------------------------------------------------------ form */

function fillExample(lang) {
  const ex = EXAMPLES[lang];
  for (const name of TICKET_FIELDS) $(name).value = ex[name] ?? "";
  clearErrors();
  $("body").focus();
}

function clearForm() {
  for (const name of TICKET_FIELDS) $(name).value = name === "language" ? "auto" : "";
  clearErrors();
  showEmpty();
  $("title").focus();
}

/** "2026-11-23T09:15" in the browser's time zone -> "2026-11-23T09:15:00+08:00". */
function withOffset(local) {
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return local;
  const minutes = -d.getTimezoneOffset();
  const sign = minutes >= 0 ? "+" : "-";
  const abs = Math.abs(minutes);
  const pad = (n) => String(n).padStart(2, "0");
  const base = local.length === 16 ? `${local}:00` : local;
  return `${base}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function readTicket() {
  const ticket = { title: $("title").value, body: $("body").value };
  const channel = $("channel").value;
  const requester = $("requester").value.trim();
  const createdAt = $("created_at").value;
  const language = $("language").value;
  if (channel) ticket.channel = channel;
  if (requester) ticket.requester = requester;
  if (createdAt) ticket.created_at = withOffset(createdAt);
  if (language && language !== "auto") ticket.language = language;
  return ticket;
}

function clearErrors() {
  const general = $("form-error");
  general.hidden = true;
  general.textContent = "";
  for (const name of TICKET_FIELDS) {
    const box = $(`error-${name}`);
    box.hidden = true;
    box.textContent = "";
    $(name).removeAttribute("aria-invalid");
  }
}

function addGeneralError(message) {
  const general = $("form-error");
  general.textContent = general.textContent ? `${general.textContent}\n${message}` : message;
  general.hidden = false;
}

function addFieldError(name, message) {
  const box = $(`error-${name}`);
  box.textContent = box.textContent ? `${box.textContent} ${message}` : message;
  box.hidden = false;
  $(name).setAttribute("aria-invalid", "true");
}

/** Which form field a FastAPI/pydantic error location names, or null for the request as a whole. */
function fieldOfLoc(loc, type) {
  if (!Array.isArray(loc) || loc.length === 0) return null;
  const parts = loc[0] === "body" ? loc.slice(1) : loc;
  if (parts.length === 0) {
    // ["body"] alone is the whole request body unless the error is about a value (then it is the "body" field).
    return REQUEST_LEVEL_ERRORS.has(type) ? null : "body";
  }
  const name = String(parts[0]);
  return TICKET_FIELDS.includes(name) ? name : null;
}

function cleanMsg(msg) {
  return String(msg ?? t("console.error.invalid")).replace(/^Value error,\s*/, "");
}

/** Show a problem+json error: its `errors` [{loc, msg, type}] next to the fields, else its `detail` on top.
 * The server's own words (which field, what to do) stay as it wrote them; the frame is in the page's language. */
function showApiError(status, payload, rawText) {
  const detail = payload && typeof payload === "object"
    ? (Array.isArray(payload.errors) ? payload.errors : payload.detail)
    : undefined;
  let shown = false;
  let onField = false;
  if (Array.isArray(detail)) {
    for (const item of detail) {
      if (!item || typeof item !== "object") continue;
      const msg = cleanMsg(item.msg);
      const field = fieldOfLoc(item.loc, item.type);
      if (field) {
        addFieldError(field, msg);
        onField = true;
      } else {
        const where = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body" || item.loc.length === 1).join(".") : "";
        addGeneralError(where ? `${where}: ${msg}` : msg);
      }
      shown = true;
    }
    if (onField) addGeneralError(t("console.error.fixFields"));
  } else if (typeof detail === "string" && detail) {
    addGeneralError(detail);
    shown = true;
  }
  if (!shown) {
    const text = (rawText || "").trim().slice(0, 300);
    addGeneralError(text ? `HTTP ${status}: ${text}` : `HTTP ${status}`);
  }
  const prefix = status === 401 || status === 403
    ? t("console.error.notAllowed")
    : status >= 500
      ? t("console.error.server", { status })
      : status === 429
        ? t("console.error.tooMany")
        : null;
  if (prefix) addGeneralError(prefix);
}

let inFlight = null;
/** The ticket whose result is on screen (with the id the console gave it), for feedback. */
let currentTicket = { id: null, title: "", body: "" };
/** What is on screen, kept so that a change of language words it again without losing the agent's verdicts. */
let view = null;

async function submitTicket(event) {
  if (event) event.preventDefault();
  if (inFlight) inFlight.abort();
  clearErrors();
  const ticket = readTicket();
  ticket.id = `console-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const controller = new AbortController();
  inFlight = controller;
  const timer = setTimeout(() => controller.abort(), TRIAGE_TIMEOUT_MS);
  const button = $("triage-btn");
  button.disabled = true;
  button.dataset.i18n = "console.triaging";
  button.textContent = t("console.triaging");
  $("results").setAttribute("aria-busy", "true");
  $("result").dataset.state = "loading";
  const started = performance.now();
  try {
    const res = await fetchWithRetry("/v1/triage", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...(await authHeaders()) },
      body: JSON.stringify(ticket),
      signal: controller.signal,
    });
    const rawText = await res.text();
    let payload = null;
    try {
      payload = rawText ? JSON.parse(rawText) : null;
    } catch (_err) {
      payload = null;
    }
    if (!res.ok) {
      showApiError(res.status, payload, rawText);
      showEmpty("error");
      return;
    }
    if (!payload || typeof payload !== "object" || !payload.department) {
      addGeneralError(t("console.error.notAResult"));
      showEmpty("error");
      return;
    }
    currentTicket = ticket;
    view = { data: payload, ticket, roundTripMs: performance.now() - started, duplicates: null, verdicts: {}, judged: {}, accepted: {} };
    renderResult(true);
    await checkDuplicates(ticket, controller.signal);
  } catch (err) {
    if (controller.signal.aborted && inFlight !== controller) return; // replaced by a newer request
    addGeneralError(
      controller.signal.aborted
        ? t("console.error.timeout")
        : t("console.error.unreachable", { message: err && err.message ? err.message : String(err) }),
    );
    showEmpty("error");
  } finally {
    clearTimeout(timer);
    if (inFlight === controller) {
      inFlight = null;
      button.disabled = false;
      button.dataset.i18n = "console.triage";
      button.textContent = t("console.triage");
      $("results").setAttribute("aria-busy", "false");
    }
  }
}

/* ------------------------------------------------------------------ rendering */

function showEmpty(state) {
  const result = $("result");
  result.hidden = true;
  result.replaceChildren();
  result.dataset.state = state || "empty";
  $("empty").hidden = false;
  view = null;
}

/** Draw `view` (first: a fresh result, brought into view and given the focus). */
function renderResult(first) {
  const { data, ticket, roundTripMs } = view;
  const result = $("result");
  const parts = [
    h("div", { id: "duplicates", class: "card duplicates", "data-testid": "duplicates", role: "status", hidden: true }),
    renderOverview(data),
    h("div", { class: "grid3" }, HEADS.map((head) => renderPrediction(head, data[head]))),
    renderFields(data.fields || [], ticket),
    h("div", { class: "grid2" }, renderCompleteness(data.completeness, data.language), renderHandlingTime(data.handling_time)),
    renderSimilar(data.similar_cases || []),
    renderArticles(data.articles || []),
    renderMeta(data, roundTripMs),
  ];
  result.replaceChildren(h("div", { style: { display: "flex", flexDirection: "column", gap: "1rem" } }, parts));
  $("empty").hidden = true;
  result.hidden = false;
  result.dataset.state = "done";
  if (view.duplicates) renderDuplicates(view.duplicates);
  else if (first) result.dataset.duplicates = "checking";
  if (!first) return;
  // On a phone the form fills the screen: bring the result into view, and give it the focus so a
  // screen reader or keyboard user lands on it too.
  result.setAttribute("tabindex", "-1");
  if (window.matchMedia("(max-width: 959px)").matches) result.scrollIntoView({ block: "start" });
  result.focus({ preventScroll: true });
}

/* Open cases this ticket may repeat (POST /v1/duplicates), shown above the result; the result's
   data-duplicates says how the check ended: found, none or unavailable. */
async function checkDuplicates(ticket, signal) {
  const result = $("result");
  let state = "unavailable";
  try {
    const res = await fetchWithRetry("/v1/duplicates", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...(await authHeaders()) },
      body: JSON.stringify({ ...ticket, k: 3 }),
      signal,
    });
    const data = res.ok ? await res.json() : null;
    if (currentTicket !== ticket || !view) return;
    const found = data && Array.isArray(data.duplicates) ? data.duplicates : null;
    if (found) state = found.length ? "found" : "none";
    if (found && found.length) {
      view.duplicates = data;
      renderDuplicates(data);
    }
  } catch (_err) {
    if (currentTicket !== ticket) return;
  }
  result.dataset.duplicates = state;
}

function renderDuplicates(data) {
  const box = $("duplicates");
  box.replaceChildren(
    h("h2", {}, t("console.duplicates.title")),
    h(
      "ul",
      { class: "plain" },
      data.duplicates.map((d) =>
        h(
          "li",
          { "data-testid": "duplicate", "data-case-id": d.id },
          h("strong", {}, d.id),
          ` · ${d.title} · ${label("status", String(d.status).toLowerCase())} · ${pct(d.score)}`,
        )),
    ),
    h("p", { class: "hint" }, t("console.duplicates.threshold", { threshold: pct(data.threshold), language: languageName(data.threshold_language) })),
  );
  box.hidden = false;
}

function renderOverview(data) {
  const lang = data.language || "other";
  return h(
    "section",
    { class: "card", "data-testid": "overview" },
    h("h2", {}, t("console.summary")),
    h("p", { class: "headline", "data-testid": "headline" }, h("strong", {}, data.headline || "—")),
    h("p", { class: "summary", "data-testid": "summary" }, data.summary || ""),
    h(
      "div",
      { class: "chips" },
      h("span", { class: "chip", "data-testid": "language", "data-value": lang }, t("console.languageIs", { language: languageName(lang) })),
      data.ticket_id ? h("span", { class: "chip" }, t("console.ticketId", { id: data.ticket_id })) : null,
    ),
  );
}

function renderPrediction(key, pred) {
  const name = t(`head.${key}`);
  const box = h("section", { class: "card pred", "data-testid": `${key}-card` }, h("h3", {}, name));
  if (!pred) {
    box.append(h("p", { class: "muted small", "data-testid": `${key}-value` }, t("console.notPredicted")));
    return box;
  }
  const alternatives = Array.isArray(pred.alternatives) ? pred.alternatives.slice(0, 3) : [];
  box.append(
    h(
      "div",
      { class: "pred-head" },
      h("span", { class: "pred-value", "data-testid": `${key}-value`, "data-value": pred.value }, label(key, pred.value)),
      pred.abstained
        ? h("span", { class: "badge warn", "data-testid": `${key}-abstained`, title: t("console.belowThreshold") }, t("console.needsHuman"))
        : null,
    ),
    h(
      "div",
      { class: "conf", "data-testid": `${key}-confidence` },
      bar(pred.confidence, t("console.confidenceOf", { head: name })),
      h("span", { class: "conf-num" }, pct(pred.confidence)),
    ),
    alternatives.length
      ? h(
        "ol",
        { class: "alts", "aria-label": t("console.alternativesOf", { head: name }), "data-testid": `${key}-alternatives` },
        alternatives.map((a) =>
          h(
            "li",
            {},
            h("span", { class: "alt-value", title: label(key, a.value), "data-value": a.value }, label(key, a.value)),
            bar(a.confidence, t("console.confidenceOf", { head: label(key, a.value) }), "thin"),
            h("span", { class: "conf-num" }, pct(a.confidence)),
          )),
      )
      : null,
    h("p", { class: "reason", "data-testid": `${key}-reason` }, explain(pred)),
  );
  const extras = [];
  for (const phrase of pred.phrases || []) extras.push(h("span", { class: "chip", title: t("console.keyword") }, phrase));
  if (extras.length) box.append(h("div", { class: "chips", style: { marginTop: ".5rem" } }, extras));
  // Any label the model knows, searchable (typed text filters the list); the alternatives come first.
  const known = [...new Set([...alternatives.map((a) => a.value), ...(knownLabels[key] || [])])].filter((v) => v !== pred.value);
  const listId = `labels-${key}`;
  const correction = h("input", {
    type: "text",
    list: listId,
    autocomplete: "off",
    placeholder: t("console.correctTo"),
    "aria-label": t("console.correctAria", { head: name }),
    "data-testid": `${key}-correct`,
  });
  const verdict = h("span", { class: "verdict small muted", "data-testid": `${key}-verdict`, role: "status" });
  const submitCorrection = () => {
    const typed = correction.value.trim();
    if (!typed) return;
    // The list shows each label's name in the page's language: accept the code or that name.
    const value = known.includes(typed) ? typed : known.find((v) => label(key, v) === typed);
    if (!value) {
      verdict.textContent = t("console.unknownLabel", { head: name, value: typed });
      verdict.dataset.state = "error";
      return;
    }
    judgeLabel(key, pred.value, value, verdict);
  };
  correction.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      submitCorrection();
    }
  });
  const past = view && view.verdicts[key];
  if (past) showVerdict(verdict, key, past);
  box.append(
    h("datalist", { id: listId }, known.map((v) => h("option", { value: v }, label(key, v)))),
    h(
      "div",
      { class: "verdict-row" },
      h(
        "button",
        { type: "button", class: "small", "data-testid": `${key}-accept`, onclick: () => judgeLabel(key, pred.value, null, verdict) },
        t("console.accept"),
      ),
      correction,
      h("button", { type: "button", class: "small", "data-testid": `${key}-correct-submit`, onclick: submitCorrection }, t("console.correct")),
      verdict,
    ),
  );
  return box;
}

/** The text the server's field offsets index into: title + "\n" + body (both stripped), or body alone. */
function spannedText(ticket) {
  const title = (ticket.title || "").trim();
  const body = (ticket.body || "").trim();
  return title ? `${title}\n${body}` : body;
}

function renderHighlighted(text, fields) {
  // Offsets are Python string indices (code points): index an array of code points, not UTF-16 units.
  const chars = Array.from(text);
  const spans = [];
  fields.forEach((f, index) => {
    let start = f.start;
    let end = f.end;
    const valid = Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= chars.length &&
      chars.slice(start, end).join("") === f.text;
    if (!valid) {
      const at = f.text ? text.indexOf(f.text) : -1;
      if (at < 0) return;
      start = Array.from(text.slice(0, at)).length;
      end = start + Array.from(f.text).length;
    }
    spans.push({ start, end, field: f, index });
  });
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out = h("div", { class: "ticket-text", "data-testid": "highlighted-text" });
  let pos = 0;
  for (const span of spans) {
    if (span.start < pos) continue; // overlapping span: the table still lists it
    if (span.start > pos) out.append(chars.slice(pos, span.start).join(""));
    const kind = label("field", span.field.type);
    out.append(
      h(
        "mark",
        {
          class: span.field.pii ? "hl pii" : "hl",
          title: `${kind}: ${humanValue(span.field.value)}`,
          "data-type": span.field.type,
          "data-field-index": span.index,
        },
        chars.slice(span.start, span.end).join(""),
        h("span", { class: "hl-type", "aria-hidden": "true" }, kind),
      ),
    );
    pos = span.end;
  }
  if (pos < chars.length) out.append(chars.slice(pos).join(""));
  return out;
}

function linkHover(container) {
  const toggle = (index, on) => {
    container.querySelectorAll(`[data-field-index="${index}"]`).forEach((n) => n.classList.toggle("active", on));
  };
  container.addEventListener("mouseover", (e) => {
    const target = e.target instanceof Element ? e.target.closest("[data-field-index]") : null;
    if (target) toggle(target.dataset.fieldIndex, true);
  });
  container.addEventListener("mouseout", (e) => {
    const target = e.target instanceof Element ? e.target.closest("[data-field-index]") : null;
    if (target) toggle(target.dataset.fieldIndex, false);
  });
}

function renderFields(fields, ticket) {
  const box = card(t("console.fields"), "fields");
  box.append(renderHighlighted(spannedText(ticket), fields));
  if (!fields.length) {
    box.append(h("p", { class: "muted small" }, t("console.noFields")));
    return box;
  }
  const rows = fields.map((f, index) =>
    h(
      "tr",
      { "data-field-index": index, "data-testid": "field-row" },
      h("td", { "data-value": f.type }, label("field", f.type)),
      h("td", {}, f.text),
      h("td", { title: jsonText(f.value) }, humanValue(f.value)),
      h("td", {}, f.pii ? h("span", { class: "badge pii" }, t("console.pii")) : ""),
      h("td", { class: "muted" }, f.source ? tOr(`console.source.${f.source}`, f.source) : ""),
    ));
  box.append(
    h(
      "div",
      { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("console.fields") },
      h(
        "table",
        { "data-testid": "fields-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["type", "text", "value", "pii", "source"].map((c) => h("th", { scope: "col" }, t(`console.fieldsCol.${c}`))),
          ),
        ),
        h("tbody", {}, rows),
      ),
    ),
  );
  linkHover(box);
  return box;
}

async function copyText(text, button) {
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch (_err) {
    ok = false;
  }
  if (!ok) {
    const area = h("textarea", { class: "offscreen", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    try {
      ok = document.execCommand("copy");
    } catch (_err) {
      ok = false;
    }
    area.remove();
  }
  button.textContent = ok ? t("console.copied") : t("console.copyFailed");
  setTimeout(() => {
    button.textContent = t("console.copy");
  }, 1500);
}

function renderCompleteness(c, ticketLanguage) {
  const box = card(t("console.completeness"), "completeness");
  if (!c) {
    box.append(h("p", { class: "muted small" }, t("console.noTemplate")));
    return box;
  }
  const names = (c.labels && c.labels[I18N.lang]) || {};
  const named = (n) => names[n] || n;
  const missing = c.missing || [];
  const present = c.present || [];
  box.append(
    h(
      "dl",
      { class: "kv" },
      h("dt", {}, t("console.template")),
      h("dd", {}, label("department", c.department)),
      h("dt", {}, t("console.missing")),
      h(
        "dd",
        {},
        missing.length
          ? h("div", { class: "chips", "data-testid": "missing" }, missing.map((m) => h("span", { class: "chip missing", "data-value": m }, named(m))))
          : h("span", { class: "badge ok", "data-testid": "missing" }, t("console.complete")),
      ),
      h("dt", {}, t("console.present")),
      h(
        "dd",
        {},
        present.length ? h("div", { class: "chips" }, present.map((m) => h("span", { class: "chip", "data-value": m }, named(m)))) : "—",
      ),
    ),
  );
  if (c.question) {
    const button = h("button", { type: "button", class: "small", "data-testid": "copy-question" }, t("console.copy"));
    button.addEventListener("click", () => copyText(c.question, button));
    const questionLang = ticketLanguage === "zh" || ticketLanguage === "mixed" ? "zh" : "en";
    const meaning = questionLang !== I18N.lang && c.questions && c.questions[I18N.lang];
    box.append(
      h("h3", { style: { marginTop: ".8rem" } }, t("console.question", { language: languageName(questionLang) })),
      h("div", { class: "question" }, h("p", { "data-testid": "question", lang: questionLang === "zh" ? "zh-CN" : "en" }, c.question), button),
      meaning ? h("p", { class: "question-meaning", "data-testid": "question-meaning" }, t("console.questionMeaning", { text: meaning })) : null,
    );
  }
  return box;
}

function renderHandlingTime(ht) {
  const box = card(t("console.handling"), "handling-time");
  if (!ht) {
    box.append(h("p", { class: "muted small" }, t("console.noEstimate")));
    return box;
  }
  const risk = typeof ht.breach_risk === "number" ? ht.breach_risk : null;
  box.append(
    h(
      "dl",
      { class: "kv" },
      h("dt", {}, t("console.p50")),
      h("dd", { "data-testid": "p50" }, hours(ht.p50_hours)),
      h("dt", {}, t("console.p90")),
      h("dd", { "data-testid": "p90" }, hours(ht.p90_hours)),
      h("dt", {}, t("console.sla")),
      h("dd", { "data-testid": "sla" }, ht.sla_hours == null ? "—" : hours(ht.sla_hours)),
      h("dt", {}, t("console.breachRisk")),
      h(
        "dd",
        { "data-testid": "breach-risk" },
        risk == null
          ? "—"
          : h("div", { class: "conf" }, bar(risk, t("console.breachRisk"), "", true), h("span", { class: "conf-num" }, pct(risk))),
      ),
    ),
  );
  return box;
}

/** Send an agent's verdict to POST /v1/feedback; resolves to true when the server stored it. */
async function sendFeedback(payload) {
  try {
    const res = await fetchWithRetry("/v1/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...(await authHeaders()) },
      body: JSON.stringify({ ticket_id: currentTicket.id, ...payload }),
    });
    if (res.ok) return true;
    const payloadText = await res.text();
    addGeneralError(t("console.error.feedback", { status: res.status, message: payloadText.slice(0, 300) }));
  } catch (err) {
    addGeneralError(t("console.error.unreachable", { message: err && err.message ? err.message : String(err) }));
  }
  return false;
}

/** The agent accepts a similar case's resolution for this ticket: recorded as helpful feedback. */
async function acceptSolution(caseId) {
  const selector = `[data-case-id="${CSS.escape(String(caseId))}"]`;
  const item = document.querySelector(`#result .case${selector}`);
  if (!item) return false;
  const button = item.querySelector("button.accept");
  if (button) button.disabled = true;
  const ok = await sendFeedback({ case_id: String(caseId), helpful: true });
  if (!ok) {
    if (button) button.disabled = false;
    return false;
  }
  if (view) view.accepted[caseId] = true;
  markAccepted(item);
  return true;
}

function markAccepted(item) {
  item.dataset.accepted = "true";
  const button = item.querySelector("button.accept");
  if (button) {
    button.disabled = false;
    button.textContent = t("console.accepted");
    button.setAttribute("aria-pressed", "true");
  }
}

/** "Helpful" / "Not helpful" on a suggested case or article: recorded as case feedback. */
function helpfulButtons(id, title) {
  const note = h("span", { class: "verdict small muted", "data-testid": "helpful-verdict", role: "status" });
  const yes = h("button", { type: "button", class: "small", "aria-pressed": "false", "data-testid": "helpful",
    "aria-label": t("console.helpfulAria", { title }) }, t("console.helpful"));
  const no = h("button", { type: "button", class: "small", "aria-pressed": "false", "data-testid": "not-helpful",
    "aria-label": t("console.notHelpfulAria", { title }) }, t("console.notHelpful"));
  const show = (helpful) => {
    (helpful ? yes : no).setAttribute("aria-pressed", "true");
    (helpful ? no : yes).setAttribute("aria-pressed", "false");
    note.textContent = helpful ? t("console.markedHelpful") : t("console.markedNotHelpful");
  };
  const judge = async (helpful, button) => {
    button.disabled = true;
    const ok = await sendFeedback({ case_id: String(id), helpful });
    button.disabled = false;
    if (!ok) return;
    if (view) view.judged[id] = helpful;
    show(helpful);
  };
  yes.addEventListener("click", () => judge(true, yes));
  no.addEventListener("click", () => judge(false, no));
  if (view && view.judged[id] !== undefined) show(view.judged[id]);
  return h("div", { class: "verdict-row" }, yes, no, note);
}

function showVerdict(note, key, verdict) {
  note.textContent = verdict.correct ? t("console.correctedTo", { value: label(key, verdict.correct) }) : t("console.acceptedLabel");
  note.dataset.state = verdict.correct ? "corrected" : "accepted";
}

/** Accept a predicted label, or correct it to another one: recorded for retraining. */
async function judgeLabel(key, predicted, correct, note) {
  const payload = { head: key, predicted, text: spannedText(currentTicket) };
  if (correct && correct !== predicted) payload.correct = correct;
  else payload.accepted = true;
  const ok = await sendFeedback(payload);
  if (!ok) return false;
  const verdict = { correct: payload.correct || null };
  if (view) view.verdicts[key] = verdict;
  showVerdict(note, key, verdict);
  return true;
}

function renderSimilar(cases) {
  const box = card(t("console.similar"), "similar");
  if (!cases.length) {
    box.append(h("p", { class: "muted small" }, t("console.noSimilar")));
    return box;
  }
  box.append(
    h(
      "ol",
      { class: "cases" },
      cases.map((c) => {
        const item = h(
          "li",
          { class: "case", "data-testid": "similar-case", "data-case-id": c.id, "data-accepted": "false" },
          h(
            "div",
            { class: "case-head" },
            h("span", { class: "case-title" }, c.title || t("console.noTitle")),
            h("span", { class: "case-id" }, c.id, c.department ? ` · ${label("department", c.department)}` : ""),
          ),
          h("p", { class: "case-resolution" }, c.resolution || t("console.noResolution")),
          h(
            "div",
            { class: "case-foot" },
            h(
              "div",
              { class: "case-score", title: t("console.similarity") },
              bar(c.score, t("console.similarityOf", { id: c.id })),
              h("span", { class: "conf-num" }, pct(c.score)),
            ),
            (c.matched_terms || []).length
              ? h("div", { class: "chips" }, c.matched_terms.map((term) => h("span", { class: "chip" }, term)))
              : null,
            h(
              "button",
              {
                type: "button",
                class: "small accept",
                "data-testid": "accept-solution",
                "aria-pressed": "false",
                onclick: () => acceptSolution(c.id),
              },
              t("console.acceptSolution"),
            ),
            helpfulButtons(c.id, c.title || c.id),
          ),
        );
        if (view && view.accepted[c.id]) markAccepted(item);
        return item;
      }),
    ),
  );
  return box;
}

function renderArticles(articles) {
  const box = card(t("console.articles"), "articles");
  if (!articles.length) {
    box.append(h("p", { class: "muted small" }, t("console.noArticles")));
    return box;
  }
  box.append(
    h(
      "ol",
      { class: "cases" },
      articles.map((a) =>
        h(
          "li",
          { class: "case", "data-testid": "article", "data-article-id": a.id },
          h(
            "div",
            { class: "case-head" },
            h("span", { class: "case-title" }, a.title || a.id),
            h("span", { class: "case-id" }, a.id, " · ", pct(a.score)),
          ),
          h("details", {}, h("summary", {}, t("console.read")), h("p", { class: "case-resolution" }, a.resolution || "")),
          h("div", { class: "case-foot" }, helpfulButtons(a.id, a.title || a.id)),
        )),
    ),
  );
  return box;
}

function renderMeta(data, roundTripMs) {
  const timings = data.timings_ms && typeof data.timings_ms === "object" ? Object.entries(data.timings_ms) : [];
  const total = timings.reduce((sum, [, ms]) => sum + (typeof ms === "number" ? ms : 0), 0);
  const fmt = (ms) => (typeof ms === "number" ? t("console.ms", { n: fmtNumber(ms, 1) }) : "—");
  return h(
    "section",
    { class: "card meta", "data-testid": "meta" },
    h("h3", {}, t("console.meta")),
    h("p", { style: { margin: "0 0 .4rem" } }, t("console.modelVersion"), " ", h("code", { "data-testid": "model-version" }, data.model_version || "—")),
    h(
      "table",
      { "data-testid": "timings" },
      h("caption", { class: "offscreen" }, t("console.timings")),
      h(
        "tbody",
        {},
        timings.map(([stage, ms]) => h("tr", {}, h("td", {}, tOr(`console.stage.${stage}`, stage)), h("td", {}, fmt(ms)))),
        h("tr", {}, h("td", {}, h("strong", {}, t("console.serverTotal"))), h("td", {}, fmt(total))),
        h("tr", {}, h("td", {}, t("console.roundTrip")), h("td", {}, fmt(roundTripMs))),
      ),
    ),
  );
}

/* ------------------------------------------------------------------ wiring */

async function start() {
  await loadLanguage(pickLanguage());
  setStatus("unknown", t("console.status.checking"), []);
  setupLanguageSwitch(() => {
    if (view) renderResult(false);
    refreshStatus();
  });
  $("ticket-form").addEventListener("submit", submitTicket);
  $("example-zh").addEventListener("click", () => fillExample("zh"));
  $("example-en").addEventListener("click", () => fillExample("en"));
  $("clear-btn").addEventListener("click", clearForm);
  $("body").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submitTicket(e);
  });
  for (const name of TICKET_FIELDS) {
    $(name).addEventListener("input", () => {
      const box = $(`error-${name}`);
      if (!box.hidden) {
        box.hidden = true;
        box.textContent = "";
        $(name).removeAttribute("aria-invalid");
      }
    });
  }
  // The key: one typed here (kept in this tab), else the short-lived key the service gives a browser on
  // its own machine (common.js asks GET /console/session); shown here either way.
  await authHeaders();
  if (AUTH.key) $("api-key").value = AUTH.key;
  $("api-key").addEventListener("change", () => {
    AUTH.key = $("api-key").value.trim();
    try {
      sessionStorage.setItem("triage-api-key", AUTH.key);
    } catch (_err) {
      /* storage unavailable: the key just is not remembered */
    }
    knownLabels = {};
    refreshStatus();
  });
  await refreshStatus();
  document.body.dataset.ready = "true";
}

start();
