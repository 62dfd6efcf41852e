// The dashboard's script (services/api/dashboard.html), served by
// ladder-api as /dashboard.js. Kept out of the page: the
// Content-Security-Policy forbids inline script.
//
// Sign-in: GET /v1/session says whether the API requires its token and
// whether this browser holds a session. If it must sign in, the page asks
// for the token once and POSTs it as JSON to /v1/session, which answers
// with an HttpOnly session cookie; every later request (fetch and the
// EventSource, which cannot send headers) carries that cookie, so the token
// is never put in a URL. A 401 later on (the session expired) asks again.
"use strict";
const TIERS = ["INNOVATIVE", "SPECIALIZED", "LITTLE_GIANT"];
const COLORS = {INNOVATIVE: "var(--in)", SPECIALIZED: "var(--sp)", LITTLE_GIANT: "var(--lg)"};
const OUTCOMES = ["designated", "renewed", "revoked_review_failed", "revoked_no_submission", "cancelled"];
const $ = (id) => document.getElementById(id);
const fmt = (n) => n.toLocaleString("en-US");

// A request of the API; a 401 (no session, or it expired) asks for the
// token again and throws.
async function api(path) {
  const r = await fetch(path, {credentials: "same-origin"});
  if (r.status === 401) {
    signInNeeded();
    throw new Error("not signed in");
  }
  return r;
}

function el(tag, attrs, ...kids) {
  const ns = ["svg", "g", "rect", "text", "title"].includes(tag) ? "http://www.w3.org/2000/svg" : null;
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

function renderStats(s) {
  for (const t of TIERS) {
    const n = s.national.active[t], goal = s.national.targets[t];
    const a = $("active-" + t);
    a.textContent = fmt(n);
    a.dataset.value = n;
    $("goal-" + t).textContent = fmt(goal);
    $("pct-" + t).textContent = (100 * n / goal).toFixed(n && n < goal / 1000 ? 3 : 1) + "%";
    $("fill-" + t).style.width = Math.min(100, 100 * n / goal) + "%";
  }
  // Units, most active first, stacked by tier.
  const units = s.units.map((u) => ({u, total: TIERS.reduce((x, t) => x + u.active[t], 0)}))
    .sort((a, b) => b.total - a.total || a.u.code.localeCompare(b.u.code));
  const max = Math.max(1, ...units.map((x) => x.total));
  const svg = $("units-chart");
  const row = 16, left = 270, right = 60, width = Math.max(400, svg.clientWidth || 600);
  svg.replaceChildren();
  svg.setAttribute("height", units.length * row + 4);
  svg.setAttribute("viewBox", `0 0 ${width} ${units.length * row + 4}`);
  units.forEach(({u, total}, i) => {
    const g = el("g", {class: "unit-bar", "data-unit": u.code, "data-active": total,
                       transform: `translate(0,${i * row})`});
    const en = u.name_en.length > 22 ? u.name_en.slice(0, 21) + "…" : u.name_en;
    g.append(el("text", {x: 0, y: 12}, `${u.code} ${u.name_zh} ${en}`));
    let x = left;
    for (const t of TIERS) {
      const w = (width - left - right) * u.active[t] / max;
      if (w > 0) g.append(el("rect", {x, y: 2, width: w, height: row - 4, fill: COLORS[t]},
                             el("title", {}, `${u.name_en} ${t}: ${fmt(u.active[t])}`)));
      x += w;
    }
    g.append(el("text", {x: x + 4, y: 12}, fmt(total)));
    svg.append(g);
  });
  const body = $("batches-body");
  body.replaceChildren(...s.little_giant_batches.map((b) =>
    el("tr", {"data-batch": b.batch}, el("td", {}, String(b.batch)),
       ...OUTCOMES.map((o) => el("td", {"data-outcome": o}, fmt(b[o]))))));
  if (!s.little_giant_batches.length)
    body.append(el("tr", {}, el("td", {colspan: 6}, "no little giant yet")));
  $("updated-at").textContent = "updated " + new Date().toLocaleTimeString() +
    " · " + s.partitions + " partitions";
  document.body.dataset.loaded = "1";
}

let statsTimer = null;
async function loadStats() {
  clearTimeout(statsTimer);
  try {
    const r = await api("/v1/stats");
    const s = await r.json();
    if (!r.ok) throw new Error(s.message || r.status);
    renderStats(s);
  } catch (e) {
    $("updated-at").textContent = "statistics unavailable: " + e.message;
  }
  if ($("signin").hidden) statsTimer = setTimeout(loadStats, 10000);
}

const seen = new Set();
function addNotice(d, fresh) {
  if (seen.has(d.decision_id)) return;
  seen.add(d.decision_id);
  const li = el("li", {"data-decision-id": d.decision_id, "data-uscc": d.uscc,
                       "data-decision": d.decision, class: fresh ? "new" : ""},
    el("span", {class: "kind"}, d.decision), " ",
    (d.tier || "all tiers") + " · " + d.enterprise_name + " ",
    el("div", {class: "meta"}, `${d.uscc} · unit ${d.reporting_unit} · effective ` +
       `${d.effective_at.slice(0, 10)} · ${d.reasons.join(", ")} · id ${d.decision_id}`));
  const feed = $("notice-feed");
  feed.prepend(li);
  while (feed.children.length > 50) feed.lastChild.remove();
}

async function loadNotices() {
  try {
    const r = await api("/v1/notices?limit=20");
    const j = await r.json();
    if (r.ok) j.notices.slice().reverse().forEach((d) => addNotice(d, false));
  } catch (e) { /* the stream still runs */ }
}

let refresh = null, stream = null;
function follow() {
  const es = new EventSource("/v1/notices/stream");
  stream = es;
  es.onopen = () => { $("feed-status").textContent = "live"; };
  es.onerror = () => {
    $("feed-status").textContent = "reconnecting…";
    // A refused stream (401) is not retried by the browser: check the
    // session, and reconnect unless the page now asks for the token.
    if (es.readyState === EventSource.CLOSED && stream === es)
      setTimeout(() => { if (stream === es) session().then((s) => s && follow()); }, 2000);
  };
  es.onmessage = (m) => {
    addNotice(JSON.parse(m.data), true);
    clearTimeout(refresh);
    refresh = setTimeout(loadStats, 500);
  };
}

function showEnterprise(e) {
  const rows = TIERS.map((t) => {
    const d = e.designations[t];
    return el("tr", {}, el("td", {}, t), el("td", {}, d.status),
              el("td", {}, (d.valid_from || "").slice(0, 10)),
              el("td", {}, (d.valid_until || "").slice(0, 10)),
              el("td", {}, d.batch == null ? "" : String(d.batch)));
  });
  const hist = e.decisions.slice(0, 8).map((d) =>
    el("tr", {}, el("td", {}, d.effective_at.slice(0, 10)), el("td", {}, d.decision),
       el("td", {}, d.tier || ""), el("td", {}, d.reasons.join(", "))));
  $("uscc-result").replaceChildren(
    el("div", {}, el("strong", {}, e.enterprise_name), ` · ${e.uscc} · unit ${e.reporting_unit}` +
       (e.ban_until ? ` · banned until ${e.ban_until.slice(0, 10)}` : "") +
       (e.open_cases.length ? ` · open cases: ${e.open_cases.join(", ")}` : "")),
    el("table", {}, el("thead", {}, el("tr", {}, ...["tier", "status", "from", "until", "batch"].map((h) => el("th", {}, h)))), el("tbody", {}, ...rows)),
    el("h2", {class: "sub"}, "Recent decisions"),
    el("table", {}, el("tbody", {}, ...hist)));
}

$("uscc-search").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const u = $("uscc-input").value.trim().toUpperCase();
  $("uscc-result").textContent = "…";
  try {
    const r = await api("/v1/enterprises/" + encodeURIComponent(u));
    const j = await r.json();
    if (r.ok) showEnterprise(j);
    else $("uscc-result").replaceChildren(el("span", {class: "err"}, j.message));
  } catch (e) {
    $("uscc-result").replaceChildren(el("span", {class: "err"}, e.message));
  }
});

// ---- sign-in ----------------------------------------------------------------

function stop() {
  clearTimeout(statsTimer);
  clearTimeout(refresh);
  if (stream) stream.close();
  stream = null;
}

function signInNeeded() {
  if (!$("signin").hidden) return;
  stop();
  $("main").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  document.body.dataset.signin = "1";
  $("signin-token").focus();
}

function start(required) {
  $("signin").hidden = true;
  delete document.body.dataset.signin;
  $("main").hidden = false;
  $("signout").hidden = !required;
  loadStats();
  loadNotices().then(() => { if ($("signin").hidden) follow(); });
}

// Whether the page may read the API: true when it is open or this browser
// is signed in; otherwise it asks for the token and answers false.
async function session() {
  try {
    const r = await fetch("/v1/session", {credentials: "same-origin"});
    const s = await r.json();
    if (!s.required || s.signed_in) return s;
  } catch (e) {
    $("signin-error").textContent = "ladder-api did not answer: " + e.message;
  }
  signInNeeded();
  return null;
}

$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("signin-token");
  $("signin-error").textContent = "";
  try {
    const r = await fetch("/v1/session", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({token: input.value})});
    const j = await r.json();
    if (!r.ok) throw new Error(j.message || r.status);
    input.value = "";
    start(true);
  } catch (e) {
    $("signin-error").textContent = "not signed in: " + e.message;
  }
});

$("signout").addEventListener("click", async () => {
  stop();
  try {
    await fetch("/v1/session/end", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: "{}"});
  } finally {
    signInNeeded();
  }
});

session().then((s) => s && start(s.required));
