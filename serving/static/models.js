// The model page: versions, active and candidate side by side with their gate report, the live
// shadow/canary comparison, and promote / roll back behind a confirmation.
"use strict";

const METRICS = ["accuracy", "macro_f1", "ece", "coverage_at_90", "expected_coverage"];
let state = null;

function tenant() {
  return document.getElementById("tenant").value || "default";
}

function say(text, isError) {
  const line = document.getElementById("message");
  line.textContent = text;
  line.classList.toggle("error", Boolean(isError));
}

function confirmAction(title, text, gate) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  const gateBox = document.getElementById("confirm-gate");
  gateBox.replaceChildren();
  if (gate) renderGate(gateBox, gate);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

function renderGate(container, gate) {
  renderTable(container, "models.gate", ["metric", "candidate", "active", "margin", "ok"],
    gate.checks.map((c) => [t(`metric.${c.metric}`), c.candidate, c.active, c.margin, c.ok ? t("yes") : t("no")]),
    { candidate: (v) => fmtNumber(v, 3), active: (v) => fmtNumber(v, 3) });
  if (gate.regressions.length) container.append(el("p", { class: "error", text: t("models.regressions", { n: gate.regressions.length }) }));
}

async function promote(version) {
  const gate = await api(`/v1/models/${encodeURIComponent(version)}/gate?tenant=${encodeURIComponent(tenant())}`);
  const force = gate.regressions.length > 0;
  const ok = await confirmAction(t("models.promoteTitle", { version }), t(force ? "models.promoteForce" : "models.promoteText", { version }), gate);
  if (!ok) return;
  try {
    await api(`/v1/models/${encodeURIComponent(version)}/promote`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tenant: tenant(), force, by: "models page" }) });
    say(t("models.promoted", { version }));
  } catch (e) {
    say(t(e.status === 401 || e.status === 403 ? "error.forbidden" : "error.load", { message: e.message }), true);
  }
  await load();
}

async function rollback() {
  const ok = await confirmAction(t("models.rollbackTitle"), t("models.rollbackText", { version: state.active }));
  if (!ok) return;
  try {
    await api("/v1/models/rollback", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tenant: tenant(), by: "models page" }) });
    say(t("models.rolledBack"));
  } catch (e) {
    say(t(e.status === 401 || e.status === 403 ? "error.forbidden" : "error.load", { message: e.message }), true);
  }
  await load();
}

function role(version) {
  if (version === state.active) return t("models.active");
  if (version === state.candidate) return t(`models.${state.candidate_mode || "shadow"}`);
  return "";
}

async function load() {
  try {
    state = await api(`/v1/models?tenant=${encodeURIComponent(tenant())}`);
  } catch (e) {
    say(t("error.load", { message: e.message }), true);
    return;
  }
  const rows = state.versions.map((v) => [v.version, role(v.version), v.created, v.parent, v.n_train, ...METRICS.map((m) => v.metrics[m] ?? null), v.version]);
  renderTable(document.getElementById("versions-table"), "models.versions",
    ["version", "role", "created", "parent", "n_train", ...METRICS, "action"], rows,
    Object.assign({ created: fmtTime, action: (v) => v === state.active ? "" :
      el("button", { type: "button", class: "primary", text: t("models.promote"), "aria-label": t("models.promoteTitle", { version: v }), onclick: () => promote(v) }) },
      Object.fromEntries(METRICS.map((m) => [m, (v) => fmtNumber(v, 3)]))));
  document.getElementById("rollback").disabled = !state.history.some((h) => h.action === "promote" && h.previous);
  const pick = (v) => state.versions.find((x) => x.version === v);
  const active = pick(state.active);
  const other = pick(state.candidate) || state.versions.filter((v) => v.version !== state.active).slice(-1)[0];
  renderTable(document.getElementById("side-table"), "models.sideBySide", ["metric", "active", "candidate"],
    METRICS.map((m) => [t(`metric.${m}`), active ? active.metrics[m] ?? null : null, other ? other.metrics[m] ?? null : null]),
    { active: (v) => fmtNumber(v, 3), candidate: (v) => fmtNumber(v, 3) });
  const gateBox = document.getElementById("gate-table");
  gateBox.replaceChildren();
  if (other) {
    try {
      renderGate(gateBox, await api(`/v1/models/${encodeURIComponent(other.version)}/gate?tenant=${encodeURIComponent(tenant())}`));
    } catch (e) {
      gateBox.append(el("p", { class: "error", text: e.message }));
    }
  } else gateBox.append(el("p", { class: "empty", text: t("models.noCandidate") }));
  const compare = await api(`/v1/models:compare?tenant=${encodeURIComponent(tenant())}`).catch(() => null);
  const dl = document.getElementById("compare-body");
  dl.replaceChildren();
  const facts = compare ? [
    ["models.candidateNow", state.candidate ? `${state.candidate} (${t(`models.${state.candidate_mode}`)}${state.candidate_mode === "canary" ? ` ${fmtPercent(state.canary_share)}` : ""})` : t("models.noCandidate")],
    ["models.ticketsCompared", fmtNumber(compare.tickets_compared)],
    ["models.agreement", fmtPercent(compare.agreement)],
    ["models.withFeedback", fmtNumber(compare.with_feedback)],
    ["models.accuracyActive", fmtPercent(compare.accuracy_active)],
    ["models.accuracyCandidate", fmtPercent(compare.accuracy_candidate)],
  ] : [];
  for (const [key, value] of facts) dl.append(el("dt", { text: t(key) }), el("dd", { text: value }));
  renderTable(document.getElementById("history-table"), "models.history", ["action", "version", "previous", "forced", "by", "at"],
    [...state.history].reverse().map((h) => [t(`models.action.${h.action}`), h.version ?? null, h.previous ?? null, h.forced ? t("yes") : "", h.by || "", h.at]),
    { at: fmtTime });
}

async function start() {
  await loadLanguage(pickLanguage());
  await authHeaders();
  if (AUTH.tenant) document.getElementById("tenant").value = AUTH.tenant;
  setupLanguageSwitch(load);
  document.getElementById("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  document.getElementById("rollback").addEventListener("click", rollback);
  await load();
  document.body.dataset.ready = "true";
}

start();
