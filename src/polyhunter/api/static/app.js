// PolyHunter dashboard: plain JavaScript over /api/v1 (no build step).
"use strict";
const API = "/api/v1";
const state = { csrf: sessionStorage.getItem("ph_csrf"), me: null, followers: [], leaders: [], stream: null, copies: new Map() };

const $ = (sel, root = document) => root.querySelector(sel);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const short = (a) => (a && a.length > 12 ? a.slice(0, 6) + "…" + a.slice(-4) : a || "");

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const token = sessionStorage.getItem("ph_token");
  if (token) headers["Authorization"] = "Bearer " + token;
  const resp = await fetch(API + path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) { const err = new Error(typeof data?.detail === "string" ? data.detail : "request failed"); err.status = resp.status; err.detail = data?.detail; throw err; }
  return data;
}

function flash(text) { const el = $("#flash"); el.textContent = text; el.hidden = !text; }

function showErrors(form, err) {
  form.querySelectorAll("[data-error]").forEach((el) => (el.textContent = ""));
  if (Array.isArray(err.detail)) {
    for (const d of err.detail) {
      const field = d.loc[d.loc.length - 1];
      const el = form.querySelector(`[data-error="${field}"]`) || form.querySelector('[data-error="config"]') || form.querySelector("[data-error]");
      el.textContent = (el.textContent ? el.textContent + "; " : "") + d.msg;
    }
  } else { flash(err.message); }
}

function formData(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (v !== "") out[k] = v;
  return out;
}

// ------------------------------------------------------------------ views
const VIEWS = ["signin", "copies", "leaders", "configs", "followers", "analytics"];
async function route() {
  let view = (location.hash.slice(1) || "copies").split("?")[0];
  if (!VIEWS.includes(view)) view = "copies";
  if (!state.me && view !== "signin") view = "signin";
  for (const v of VIEWS) $("#view-" + v).hidden = v !== view;
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === "#" + view));
  $("#nav").hidden = !state.me; $("#signout").hidden = !state.me;
  $("#who").textContent = state.me ? state.me.username : "";
  if (view === "copies") await loadCopies();
  if (view === "leaders") await loadLeaders();
  if (view === "configs") await loadConfigs();
  if (view === "followers") await loadFollowers();
  if (view === "analytics") await loadAnalytics();
}

async function loadFollowers() {
  state.followers = await api("GET", "/followers");
  $("#followers-table tbody").innerHTML = state.followers.map((f) => `<tr><td>${f.id}</td><td>${esc(f.name)}</td><td>${esc(f.custody)}</td><td class="mono">${esc(short(f.wallet_address))}</td><td>${esc(f.cash_usdc ?? "")}</td><td>${esc(f.realized_pnl_usdc ?? "")}</td><td>${esc(Object.entries(f.copies).map(([k, v]) => k + " " + v).join(", "))}</td><td><button class="link" data-remove-follower="${f.id}">remove</button></td></tr>`).join("");
}

async function loadLeaders() {
  state.leaders = await api("GET", "/leaders");
  $("#leaders-table tbody").innerHTML = state.leaders.map((l) => `<tr><td class="mono" title="${esc(l.address)}">${esc(short(l.address))}</td><td>${esc(l.label ?? "")}</td><td>${l.fills_24h}</td><td>${esc(l.volume_24h_usdc)}</td><td>${esc(l.last_fill ? new Date(l.last_fill).toLocaleTimeString() : "")}</td><td>${l.configs}</td><td><button class="link" data-remove-leader="${l.id}">remove</button></td></tr>`).join("");
}

async function loadConfigs() {
  await loadFollowers(); await loadLeaders();
  $("#config-form select[name=follower_id]").innerHTML = state.followers.map((f) => `<option value="${f.id}">${esc(f.name)}</option>`).join("");
  $("#leader-list").innerHTML = state.leaders.map((l) => `<option value="${esc(l.address)}">${esc(l.label ?? "")}</option>`).join("");
  if (!$("#config-form input[name=leader]").value && state.leaders.length) $("#config-form input[name=leader]").value = state.leaders[state.leaders.length - 1].address;
  const names = Object.fromEntries(state.followers.map((f) => [f.id, f.name]));
  const configs = await api("GET", "/configs");
  $("#configs-table tbody").innerHTML = configs.map((c) => `<tr><td>${c.id}</td><td>${esc(names[c.follower_id] ?? c.follower_id)}</td><td class="mono">${esc(short(c.leader))}</td><td>${esc(c.sizing)} ${esc(c.sizing_value)}</td><td>${esc(c.max_trade_usdc ?? "")}</td><td>${c.paused ? "paused: " + esc(c.paused_reason) : "copying"}</td><td><button class="link" data-toggle-config="${c.id}" data-paused="${c.paused}">${c.paused ? "resume" : "pause"}</button></td></tr>`).join("");
}

// ------------------------------------------------------------------ analytics
async function loadAnalytics() {
  await loadFollowers(); await loadLeaders();
  const select = $("#pnl-form select[name=follower_id]"); const chosen = select.value;
  select.innerHTML = state.followers.map((f) => `<option value="${f.id}">${esc(f.name)}</option>`).join("");
  if (chosen && state.followers.some((f) => String(f.id) === chosen)) select.value = chosen;
  const input = $("#rank-form input[name=addresses]");
  if (!input.value) input.value = state.leaders.slice(0, 10).map((l) => l.address).join(" ");
  if (state.followers.length) await loadPnl();
}

async function loadPnl() {
  const id = $("#pnl-form select[name=follower_id]").value;
  const days = await api("GET", `/followers/${encodeURIComponent(id)}/pnl/daily`);
  $("#pnl-table tbody").innerHTML = days.slice().reverse().map((d) => `<tr data-day="${esc(d.day)}"><td>${esc(d.day)}</td><td>${esc(d.realized_pnl_usdc)}</td><td>${esc(d.fees_usdc)}</td><td>${esc(d.unrealized_pnl_usdc)}</td><td>${esc(d.invested_usdc)}</td><td><strong>${esc(d.total_pnl_usdc)}</strong></td></tr>`).join("") || `<tr><td colspan="6">no PnL recorded yet</td></tr>`;
}

async function loadRanking(form) {
  const body = formData(form);
  const addresses = (body.addresses || "").split(/[\s,]+/).filter(Boolean);
  const query = addresses.map((a) => "address=" + encodeURIComponent(a)).join("&") + "&by=" + encodeURIComponent(body.by || "pnl");
  const pct = (x) => (x == null ? "–" : (Number(x) * 100).toFixed(1) + " %");
  const r = await api("GET", "/leaders/rank?" + query);
  $("#rank-table tbody").innerHTML = r.leaders.map((s, i) => `<tr data-leader="${esc(s.leader)}"><td>${i + 1}</td><td class="mono" title="${esc(s.leader)}">${esc(short(s.leader))}</td><td>${esc(s.total_pnl)}</td><td>${esc(s.realized_pnl_resolved)}</td><td>${pct(s.roi)}</td><td>${pct(s.win_rate)}</td><td>${esc(s.volume)}</td><td>${s.markets}</td><td>${esc(s.max_drawdown)}</td><td>${esc(s.avg_hold_hours ?? "–")}</td></tr>`).join("");
}

function copyRow(c, names) {
  const t = new Date(c.created_at).toLocaleTimeString();
  return `<tr data-copy="${c.id}"><td>${c.id}</td><td>${esc(t)}</td><td>${esc(names[c.follower_id] ?? c.follower_id)}</td><td class="mono">${esc(short(c.leader))}</td><td>${esc(c.side)}</td><td class="${esc(c.state)}">${esc(c.state)}</td><td>${esc(c.reason ?? "")}</td><td>${esc(c.requested_usdc)}</td><td>${esc(c.filled_price ?? c.requested_price)}</td><td>${c.slippage_bps ?? ""}</td><td>${c.latency_ms == null ? "" : c.latency_ms + " ms"}</td></tr>`;
}

function renderCopies() {
  const names = Object.fromEntries(state.followers.map((f) => [f.id, f.name]));
  const rows = [...state.copies.values()].sort((a, b) => b.id - a.id).slice(0, 100);
  $("#copies-table tbody").innerHTML = rows.map((c) => copyRow(c, names)).join("");
  const byState = {};
  for (const c of state.copies.values()) byState[c.state] = (byState[c.state] || 0) + 1;
  $("#summary").innerHTML = state.followers.map((f) => `<div><strong>${esc(f.name)}</strong><br>${esc(f.custody)} · cash ${esc(f.cash_usdc ?? "–")} · PnL ${esc(f.realized_pnl_usdc ?? "–")}</div>`).join("") + `<div>${Object.entries(byState).map(([k, v]) => `${esc(k)} <strong data-count="${esc(k)}">${v}</strong>`).join(" · ") || "no copies yet"}</div>`;
}

async function loadCopies() {
  await loadFollowers();
  const page = await api("GET", "/copies?limit=100");
  for (const c of page.items) state.copies.set(c.id, c);
  renderCopies();
  openStream();
}

function openStream() {
  if (state.stream) return;
  const es = new EventSource(API + "/copies/stream");
  state.stream = es;
  es.addEventListener("copy", (ev) => {
    const c = JSON.parse(ev.data); state.copies.set(c.id, c);
    if ($("#view-copies").hidden) return;
    renderCopies();
    if (Date.now() - (state.followersAt || 0) > 3000) { // cash and PnL move with the copies
      state.followersAt = Date.now();
      loadFollowers().then(renderCopies).catch(() => {});
    }
  });
  es.onopen = () => $("#live").classList.remove("off");
  es.onerror = () => $("#live").classList.add("off");
}

// ------------------------------------------------------------------ actions
async function signedIn(session) {
  state.csrf = session.csrf_token; sessionStorage.setItem("ph_csrf", state.csrf);
  sessionStorage.removeItem("ph_token");
  state.me = session.account;
  location.hash = "#copies"; await route();
}

$("#signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target; const action = ev.submitter?.value || "login";
  try { await signedIn(await api("POST", "/auth/" + action, formData(form))); flash(""); }
  catch (err) { showErrors(form, err); }
});

$("#leader-form").addEventListener("submit", async (ev) => {
  ev.preventDefault(); const form = ev.target;
  try { await api("POST", "/leaders", formData(form)); form.reset(); showErrors(form, {}); flash("Leader added"); await loadLeaders(); }
  catch (err) { showErrors(form, err); }
});

$("#config-form").addEventListener("submit", async (ev) => {
  ev.preventDefault(); const form = ev.target; const body = formData(form);
  body.follower_id = Number(body.follower_id); if (body.max_slippage_bps) body.max_slippage_bps = Number(body.max_slippage_bps);
  try { await api("POST", "/configs", body); showErrors(form, {}); flash("Config saved: copying starts within seconds"); await loadConfigs(); }
  catch (err) { showErrors(form, err); }
});

$("#follower-form").addEventListener("submit", async (ev) => {
  ev.preventDefault(); const form = ev.target; const body = formData(form);
  if (body.custody === "PAPER") delete body.private_key; else delete body.starting_cash_usdc;
  try { await api("POST", "/followers", body); form.reset(); showErrors(form, {}); flash("Follower added"); await loadFollowers(); }
  catch (err) { showErrors(form, err); }
});

$("#pnl-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try { await loadPnl(); } catch (err) { flash(err.message); }
});

$("#rank-form").addEventListener("submit", async (ev) => {
  ev.preventDefault(); const form = ev.target;
  form.querySelector('[data-error="addresses"]').textContent = "";
  try { await loadRanking(form); }
  catch (err) { form.querySelector('[data-error="addresses"]').textContent = err.message; }
});

document.addEventListener("click", async (ev) => {
  const t = ev.target;
  try {
    if (t.dataset.removeLeader) { await api("DELETE", "/leaders/" + t.dataset.removeLeader); await loadLeaders(); }
    if (t.dataset.removeFollower) { await api("DELETE", "/followers/" + t.dataset.removeFollower); await loadFollowers(); }
    if (t.dataset.toggleConfig) { await api("POST", `/configs/${t.dataset.toggleConfig}/${t.dataset.paused === "true" ? "resume" : "pause"}`); await loadConfigs(); }
  } catch (err) { flash(err.message); }
});

$("#stop-all").addEventListener("click", async () => {
  try { const r = await api("POST", "/stop"); flash(`Stopped: ${r.configs} config(s) paused`); } catch (err) { flash(err.message); }
});
$("#resume-all").addEventListener("click", async () => {
  try { const r = await api("POST", "/resume"); flash(`Resumed ${r.configs} config(s)`); } catch (err) { flash(err.message); }
});
$("#signout").addEventListener("click", async () => {
  try { await api("POST", "/auth/logout"); } catch (err) { /* signed out anyway */ }
  sessionStorage.clear(); state.me = null; state.csrf = null; if (state.stream) { state.stream.close(); state.stream = null; }
  location.hash = "#signin"; await route();
});

window.addEventListener("hashchange", () => route().catch((err) => flash(err.message)));

(async function start() {
  const m = location.hash.match(/^#token=([A-Za-z0-9_\-]+)/);
  if (m) { // the demo's sign-in link: trade the bearer token for a browser session
    sessionStorage.setItem("ph_token", m[1]); history.replaceState(null, "", "/#copies");
    try { await signedIn(await api("POST", "/auth/session")); return; } catch (err) { sessionStorage.removeItem("ph_token"); }
  }
  try { state.me = await api("GET", "/me"); } catch (err) { state.me = null; }
  await route();
})();
