// The branch manager's page: signs in, asks the server for the branch's state every
// poll_s seconds (the server's number, from the overview), reports the manager's own
// activity at most every activity_s seconds, and draws the day's chart itself (no library).
"use strict";

const API = "api/";
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

let pollTimer = null;
let pollS = 2;
let activityS = 30;
let lastActivity = 0;
let signedIn = false;
let firstPoll = true;
let offsetMin = 0; // the branch's time zone: times are shown as the branch's clocks show them
const seenAlerts = new Set();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

const local = (epoch) => new Date((epoch + offsetMin * 60) * 1000).toISOString();
const clock = (epoch) => local(epoch).slice(11, 19);
const seconds = (v) => (v === null || v === undefined ? "—" : `${v.toFixed(1)} s`);
const share = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 1000) / 10} %`);
const count = (v) => (v === null || v === undefined ? "0" : String(v)); // no tickets: none

async function problemOf(reply) {
  try {
    const body = await reply.json();
    return body.detail || body.error || `HTTP ${reply.status}`;
  } catch (e) {
    return `HTTP ${reply.status}`;
  }
}

// -- signing in and out ------------------------------------------------------------------

function showSignIn(note) {
  signedIn = false;
  clearTimeout(pollTimer);
  $("board").hidden = true;
  $("sign-out").hidden = true;
  $("manager-name").textContent = "";
  $("sign-in-panel").hidden = false;
  $("session-note").hidden = !note;
  $("session-note").textContent = note || "";
  $("manager-id").focus();
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("sign-in-error").textContent = "";
  const reply = await fetch(API + "sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ id: $("manager-id").value.trim(), pin: $("pin").value }),
  });
  $("pin").value = "";
  if (!reply.ok) {
    $("sign-in-error").textContent = await problemOf(reply);
    return;
  }
  $("sign-in-panel").hidden = true;
  firstPoll = true;
  await poll();
  if (signedIn) loadRecordings(true);
});

$("sign-out").addEventListener("click", async () => {
  await fetch(API + "sign-out", { method: "POST" });
  showSignIn("");
});

// The manager's own activity keeps the session; the page's refreshes do not.
function activity() {
  if (!signedIn) return;
  const now = Date.now();
  if (now - lastActivity < activityS * 1000) return;
  lastActivity = now;
  fetch(API + "activity", { method: "POST" }).catch(() => {});
}
for (const kind of ["pointerdown", "keydown", "wheel"]) {
  document.addEventListener(kind, activity, { passive: true });
}

// -- the state ---------------------------------------------------------------------------

async function poll() {
  clearTimeout(pollTimer);
  let reply;
  try {
    reply = await fetch(API + "overview" + (firstPoll ? "" : "?background=1"));
  } catch (e) {
    $("updated").textContent = "server tidak terjangkau / server unreachable";
    pollTimer = setTimeout(poll, pollS * 1000);
    return;
  }
  if (reply.status === 401 || reply.status === 403) {
    const body = await reply.json().catch(() => ({}));
    showSignIn(body.error === "not_signed_in" ? "" : body.detail || "");
    return;
  }
  if (!reply.ok) {
    $("updated").textContent = await problemOf(reply);
    pollTimer = setTimeout(poll, pollS * 1000);
    return;
  }
  const state = await reply.json();
  if (firstPoll) lastActivity = Date.now();
  firstPoll = false;
  signedIn = true;
  pollS = state.poll_s;
  offsetMin = state.utc_offset_min;
  activityS = state.activity_s;
  render(state);
  pollTimer = setTimeout(poll, pollS * 1000);
}

function render(state) {
  $("board").hidden = false;
  $("sign-out").hidden = false;
  $("manager-name").textContent = state.manager;
  $("branch").textContent = state.branch;
  $("updated").textContent = "diperbarui / updated " + clock(state.now);
  renderAlerts(state.alerts);
  renderQueue(state.queue);
  renderOfficers(state.officers);
  renderBooths(state.booths, state.devices);
  renderFigures(state.figures, state.services);
  renderOutbox(state.outbox);
  renderChart(state.figures.hours, Number(local(state.now).slice(11, 13)));
  if (!$("export-from").value) {
    const today = local(state.now).slice(0, 10);
    $("export-from").value = today;
    $("export-to").value = today;
  }
}

function renderAlerts(alerts) {
  const list = $("alerts");
  list.replaceChildren();
  $("alert-count").textContent = alerts.length;
  $("alert-count").classList.toggle("some", alerts.length > 0);
  if (!alerts.length) list.append(el("li", { class: "none" }, "Tidak ada / None"));
  for (const alert of alerts) {
    const item = el("li", { "data-id": alert.id, "data-kind": alert.kind,
                            "data-subject": alert.subject },
                    el("time", {}, clock(alert.since)), alert.detail);
    if (!seenAlerts.has(alert.id)) item.classList.add("new");
    seenAlerts.add(alert.id);
    list.append(item);
  }
}

function renderQueue(queue) {
  const body = $("queue").tBodies[0];
  body.replaceChildren();
  for (const row of queue) {
    const numbers = row.waiting.map((t) => t.number + (t.appointment ? " (R)" : "")).join(", ");
    body.append(el("tr", { "data-service": row.service },
      el("td", {}, `${row.service} (${row.letter})`),
      el("td", { class: "num", "data-figure": "waiting" }, row.count),
      el("td", {}, numbers || "—")));
  }
}

function renderOfficers(officers) {
  const body = $("officers").tBodies[0];
  body.replaceChildren();
  if (!officers.length) body.append(el("tr", {}, el("td", { colspan: 5 }, "Belum ada / None signed in")));
  for (const o of officers) {
    body.append(el("tr", { "data-officer": o.officer },
      el("td", { class: o.online ? "" : "offline" }, o.officer),
      el("td", {}, o.hub),
      el("td", {}, o.booths.join(", ") || "—"),
      el("td", { class: "num", "data-figure": "load" }, `${o.load} / ${o.capacity}`),
      el("td", {}, o.all_services ? "semua / all" : o.skills.join(", "))));
  }
}

function partsCell(parts) {
  const cell = el("td", {});
  for (const part of parts) {
    cell.append(el("span", { class: "part" + (part.fault ? " fault" : ""), "data-part": part.kind,
                             "data-health": part.health, title: part.detail },
                   `${part.kind}: ${part.health}` + (part.detail && part.fault ? ` (${part.detail})` : "")));
  }
  if (!parts.length) cell.append("—");
  return cell;
}

function renderBooths(booths, devices) {
  const body = $("booths").tBodies[0];
  body.replaceChildren();
  for (const b of booths) {
    const state = b.faulty ? `${b.state} · ${b.fault}` : b.state;
    body.append(el("tr", { "data-booth": b.id },
      el("td", { class: b.online ? "" : "offline" }, b.label),
      el("td", { class: b.faulty ? "state-faulty" : "", "data-figure": "state" }, state),
      el("td", {}, b.number || "—"),
      el("td", {}, b.hub || "—"),
      partsCell(b.health)));
  }
  const others = $("devices").tBodies[0];
  others.replaceChildren();
  for (const d of devices) {
    others.append(el("tr", { "data-device": d.id },
      el("td", {}, d.id), el("td", {}, d.role),
      el("td", { class: d.online ? "" : "offline" }, d.online ? "online" : "offline"),
      partsCell(d.health)));
  }
}

// "2 h 5 min", "12 min", "40 s" (en) or "2 j 5 mnt", "12 mnt", "40 dtk" (Bahasa Indonesia).
function age(s, en) {
  if (s === null || s === undefined) return "—";
  const [h, m, sec] = en ? ["h", "min", "s"] : ["j", "mnt", "dtk"];
  const minutes = Math.floor(s / 60), hours = Math.floor(minutes / 60);
  if (hours) return minutes % 60 ? `${hours} ${h} ${minutes % 60} ${m}` : `${hours} ${h}`;
  return minutes ? `${minutes} ${m}` : `${Math.floor(s)} ${sec}`;
}
const ageBoth = (s) => (s === null || s === undefined ? "—" : `${age(s, false)} / ${age(s, true)}`);

// The evidence bundles the head office has not acknowledged yet, and the oldest one's age.
function renderOutbox(outbox) {
  $("outbox-panel").classList.toggle("late", outbox.late);
  const backlog = $("outbox").querySelector('[data-figure="backlog"]');
  backlog.textContent = outbox.backlog;
  backlog.setAttribute("data-value", outbox.backlog);
  const oldest = $("outbox").querySelector('[data-figure="oldest_age"]');
  oldest.textContent = ageBoth(outbox.oldest_age_s);
  oldest.classList.toggle("late", outbox.late);
  $("outbox-head-office").textContent = outbox.head_office
    ? `Dikirim otomatis; peringatan setelah ${age(outbox.alert_s, false)} / Sent automatically; alert after ${age(outbox.alert_s, true)}`
    : "Kantor pusat belum diatur: bukti disimpan di cabang / No head office set: evidence is kept at the branch";
}

const FIGURES = [
  ["issued", (f) => f.issued, count],
  ["claims", (f) => f.claims, count],
  ["wait_p50_s", (f) => (f.wait ? f.wait.p50_s : null), seconds],
  ["wait_p95_s", (f) => (f.wait ? f.wait.p95_s : null), seconds],
  ["handle_p50_s", (f) => (f.handle ? f.handle.p50_s : null), seconds],
  ["appointments_within_sla", (f) => f.appointments_within_sla, share],
  ["no_shows", (f) => f.no_shows, count],
  ["rescans", (f) => f.rescans, count],
];

function figureRow(service, label, figures) {
  const row = el("tr", { "data-service": service }, el("td", {}, label));
  for (const [name, pick, show] of FIGURES) {
    const value = pick(figures);
    row.append(el("td", { class: "num", "data-figure": name,
                          "data-value": value === undefined ? "null" : JSON.stringify(value) },
                  show(value)));
  }
  return row;
}

function renderFigures(figures, services) {
  const body = $("figures").tBodies[0];
  body.replaceChildren();
  for (const [service, f] of Object.entries(figures.services)) {
    body.append(figureRow(service, `${service} (${services[service] || "?"})`, f));
  }
  const rescans = Object.values(figures.services).reduce((n, f) => n + (f.rescans || 0), 0);
  body.append(figureRow("all", "Semua / All", { ...figures.day, rescans }));
}

// The working day as bars (tickets issued per hour) and a line (the hour's wait p50), from
// 08 to 16 at least and stretched to any hour with data or the hour it is now.
function renderChart(hours, nowHour) {
  const chart = $("chart");
  chart.replaceChildren();
  const known = Object.keys(hours).map(Number);
  const first = Math.min(8, nowHour, ...known), last = Math.max(16, nowHour, ...known);
  const W = 720, H = 200, top = 16, bottom = 22, left = 30;
  const span = last - first + 1;
  const slot = (W - left) / span;
  const at = (h) => hours[String(h).padStart(2, "0")] || {};
  const maxIssued = Math.max(1, ...known.map((h) => at(h).issued || 0));
  const maxWait = Math.max(1, ...known.map((h) => (at(h).wait && at(h).wait.p50_s) || 0));
  const y = (v, max) => H - bottom - (v / max) * (H - top - bottom);
  const label = (x, yy, text, cls = "") => {
    const node = svg("text", { x, y: yy, class: cls });
    node.textContent = text;
    chart.append(node);
  };
  const points = [];
  for (let h = first; h <= last; h++) {
    const hh = String(h).padStart(2, "0");
    const figures = at(h);
    const issued = figures.issued || 0;
    const x = left + (h - first) * slot;
    if (issued) {
      chart.append(svg("rect", { class: "bar", "data-hour": hh, "data-issued": issued,
                                 x: x + slot * 0.15, width: slot * 0.7, y: y(issued, maxIssued),
                                 height: H - bottom - y(issued, maxIssued) }));
    }
    label(x + slot / 2 - 7, H - 6, hh, h === nowHour ? "now" : "");
    const wait = figures.wait ? figures.wait.p50_s : null;
    if (wait !== null && wait !== undefined) {
      points.push(`${x + slot / 2},${y(wait, maxWait)}`);
      chart.append(svg("circle", { class: "dot", "data-hour": hh, cx: x + slot / 2,
                                   cy: y(wait, maxWait), r: 3 }));
    }
  }
  if (known.length) label(2, top, String(maxIssued));
  if (points.length) label(W - 60, top, `${maxWait.toFixed(0)} s`, "wait");
  if (points.length > 1) chart.append(svg("polyline", { class: "line", points: points.join(" ") }));
  if (!known.length) label(left + 10, H / 2, "Belum ada data / No data yet");
}

// -- session recordings -----------------------------------------------------------------

// A case's recordings (by ticket or claim reference), or today's with no case. Loaded by the
// page itself (background) after sign-in, or asked for by the manager (Find: activity).
async function loadRecordings(background = false) {
  $("recordings-error").textContent = "";
  const query = new URLSearchParams({ case: $("recording-case").value.trim() });
  if (background) query.set("background", "1");
  const reply = await fetch(API + "recordings?" + query);
  if (reply.status === 401 || reply.status === 403) {
    const body = await reply.json().catch(() => ({}));
    showSignIn(body.detail || "");
    return;
  }
  if (!reply.ok) {
    $("recordings-error").textContent = await problemOf(reply);
    return;
  }
  const found = (await reply.json()).recordings;
  const body = $("recordings").tBodies[0];
  body.replaceChildren();
  if (!found.length) body.append(el("tr", {}, el("td", { colspan: 5 }, "Tidak ada rekaman / No recordings")));
  for (const r of found) {
    const button = el("button", { type: "button", class: "play" }, "Putar / Play");
    if (r.status === "deleted") button.disabled = true;
    button.addEventListener("click", () => playRecording(r.id));
    body.append(el("tr", { "data-recording": r.id, "data-ticket": r.ticket },
      el("td", {}, clock(r.at)), el("td", {}, r.ticket), el("td", {}, r.booth),
      el("td", { class: "num" }, `${(r.size / 1048576).toFixed(1)} MB`), el("td", {}, button)));
  }
}

function playRecording(id) {
  const player = $("recording-player");
  player.hidden = false;
  player.setAttribute("data-recording", id);
  player.src = API + "recordings/" + encodeURIComponent(id);
  player.play().catch(() => {}); // a browser may wait for the manager's own click to play
}

$("recordings-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadRecordings();
});

// -- export ------------------------------------------------------------------------------

$("export-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("export-error").textContent = "";
  const from = $("export-from").value, to = $("export-to").value;
  const query = new URLSearchParams({ from, to });
  const reply = await fetch(API + "export.csv?" + query);
  if (reply.status === 401 || reply.status === 403) {
    const body = await reply.json().catch(() => ({}));
    showSignIn(body.detail || "");
    return;
  }
  if (!reply.ok) {
    $("export-error").textContent = await problemOf(reply);
    return;
  }
  const blob = await reply.blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: `bilik-${from}-${to}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
});

poll().then(() => { if (signedIn) loadRecordings(true); });
