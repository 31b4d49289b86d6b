// The officer console: renders the hub's state feed, sends the officer's actions.
// Plain JavaScript, no build step. State lives in the hub (and the branch server);
// the page keeps only what the officer is typing and the checklist ticks (localStorage),
// so a reload loses nothing.
"use strict";

const HEADERS = { "Content-Type": "application/json", "X-Bilik-Console": "1" };
const SLA_REASONS = {
  not_attended: "BELUM DILAYANI / NOT ATTENDED",
  predicted_late: "AKAN TERLAMBAT / RUNNING LATE",
  no_officer: "TANPA PETUGAS / NO OFFICER",
  not_checked_in: "BELUM HADIR / NOT CHECKED IN",
};
// What the officer reads for a document's status and a ticket's service (raw code if unknown).
const DOC_STATUS = {
  uploaded: "diterima / received",
  accepted: "diterima baik / accepted",
  rescan: "pindai ulang / rescan",
  rescan_requested: "pindai ulang diminta / rescan asked",
  rejected: "ditolak / rejected",
  deleted: "dihapus / deleted",
};
const SERVICES = {
  jht: "JHT, jaminan hari tua / old-age savings",
  old_age_savings: "JHT, jaminan hari tua / old-age savings",
  jkk: "JKK, kecelakaan kerja / work accident",
  jkm: "JKM, kematian / death benefit",
  jp: "JP, pensiun / pension",
  pension: "JP, pensiun / pension",
};
// What the booth's OCR read from a document, shown beside it, and the mismatches found
// between the claim's documents (bilik/documents/crosscheck.py), in words.
const FLAGS = {
  nik_not_on_kk: "NIK KTP tidak ada di KK / The KTP's NIK is not on the family card",
  nik_differs: "NIK berbeda antar dokumen / A different NIK on another document",
  name_differs: "Nama berbeda antar dokumen / A different name on another document",
  too_young_for_pension: "Usia dari NIK belum cukup untuk pensiun / The NIK's birth date is too young for a pension",
};

function readLine(read) {
  if (!read || (!read.nik && !read.name)) return "";
  const confidence = read.confidence ? ` (${Math.round(read.confidence)}%)` : "";
  const rows = (read.people || []).length ? ` · ${read.people.length} anggota / members` : "";
  return `<div class="read">NIK <b>${escape(read.nik || "–")}</b> · ${escape(read.name || "–")}${confidence}${rows}</div>`;
}

let state = null;
let lists = null;
let view = { zoom: 1, rotate: 0 };
const tiles = new Map(); // booth -> tile element

const $ = (id) => document.getElementById(id);
const fmt = (s) => {
  if (s === null || s === undefined) return "–";
  s = Math.max(0, Math.round(s));
  const m = Math.floor(s / 60), r = s % 60;
  return `${m}:${String(r).padStart(2, "0")}`;
};

async function post(path, body) {
  const reply = await fetch(path, { method: "POST", headers: HEADERS, body: JSON.stringify(body || {}) });
  let data = {};
  try { data = await reply.json(); } catch (e) { /* empty body */ }
  if (!reply.ok) throw new Error(data.detail || data.error || `HTTP ${reply.status}`);
  return data;
}

function showError(id, err) { $(id).textContent = err ? String(err.message || err) : ""; }

// -- the feed -----------------------------------------------------------------------------
function connect(delay = 500) {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/console/ws`);
  ws.onmessage = (event) => { state = JSON.parse(event.data); render(); };
  ws.onopen = () => { delay = 500; };
  ws.onclose = () => { setTimeout(() => connect(Math.min(delay * 2, 5000)), delay); };
}

function booth(id) { return state && state.booths.find((b) => b.booth === id); }
function focusedBooth() { return state && state.focused ? booth(state.focused) : null; }

function render() {
  $("hub-id").textContent = state.hub || "";
  $("signaling").textContent = state.signaling;
  const signedIn = !!state.officer;
  $("sign-in-panel").hidden = signedIn;
  $("desk").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  const skills = (state.skills || []).length ? state.skills.join(", ") : "semua / all";
  $("officer-name").textContent = signedIn ? `Petugas / Officer: ${state.officer} · layanan / services: ${skills}` : "";
  $("idle-note").hidden = signedIn || state.signed_out_because !== "idle";
  if (!signedIn) { BilikMedia.stop(); return; }
  BilikMedia.start();
  renderMedia();
  renderMosaic();
  renderParked();
  renderQueue();
  renderCase();
  renderRecordings();
}

function renderMosaic() {
  const mosaic = $("mosaic");
  const bySlot = new Map(state.booths.map((b) => [b.slot, b]));
  const seen = new Set();
  for (let slot = 1; slot <= state.max_booths; slot++) {
    const b = bySlot.get(slot);
    let el = mosaic.querySelector(`[data-slot="${slot}"]`);
    if (!el || (b ? el.dataset.booth !== b.booth : el.dataset.booth)) {
      const fresh = b ? makeTile(b) : makeEmpty(slot);
      if (el) mosaic.replaceChild(fresh, el); else mosaic.appendChild(fresh);
      el = fresh;
    }
    if (b) { updateTile(el, b); seen.add(b.booth); }
  }
  for (const id of [...tiles.keys()]) if (!seen.has(id)) tiles.delete(id);
}

const SOURCES = {
  browser: "Kamera & mikrofon konsol / Console camera & microphone",
  synthetic: "Petugas sintetis (tanpa media konsol) / Synthetic officer (no console media)",
  none: "Belum ada media konsol: peserta melihat kartu tunggu / No console media yet: participants see the waiting card",
};

function renderMedia() {
  const m = state.media || {};
  $("media-source").textContent = SOURCES[m.source] || m.source || "";
  $("media-source").dataset.source = m.source || "";
  BilikMedia.render(m);
}

function makeEmpty(slot) {
  const el = document.createElement("div");
  el.className = "tile empty";
  el.dataset.slot = slot;
  el.innerHTML = `<span class="key">${slot}</span><span>Kosong / Free</span>`;
  return el;
}

function makeTile(b) {
  const el = document.createElement("div");
  el.className = "tile";
  el.dataset.slot = b.slot;
  el.dataset.booth = b.booth;
  el.innerHTML = `<span class="key">${b.slot}</span><span class="badges"></span>
    <div class="picture"></div><div class="bar"><span class="name"></span><span class="timers"></span></div>`;
  el.addEventListener("click", () => focus(b.booth));
  // The seat's video element stays the same as booths come and go: it carries the
  // connection's track for that seat (media.js).
  const video = BilikMedia.seatVideo(b.slot);
  video.setAttribute("aria-label", b.booth);
  el.querySelector(".picture").appendChild(video);
  tiles.set(b.booth, el);
  return el;
}

function updateTile(el, b) {
  el.classList.toggle("focused", b.focused);
  el.classList.toggle("lost", b.state === "lost");
  el.classList.toggle("parked", b.parked);
  el.classList.toggle("sla", !!b.sla);
  el.classList.toggle("away", b.away_s !== null && b.away_s !== undefined);
  el.dataset.state = b.state;
  el.querySelector(".name").textContent = `${b.booth}${b.number ? " · " + b.number : ""}`;
  el.querySelector(".timers").textContent =
    `sesi ${fmt(b.in_session_s)} · dilayani ${b.focused ? "sekarang/now" : fmt(b.since_attended_s ?? b.in_session_s) + " lalu/ago"}`;
  const badges = [];
  if (b.focused) badges.push(`<span class="badge focus">FOKUS / FOCUS</span>`);
  if (b.state === "lost") badges.push(`<span class="badge lost">TERPUTUS / LOST</span>`);
  if (b.away_s !== null && b.away_s !== undefined) {
    badges.push(`<span class="badge away" title="Kursi peserta kosong / The participant's seat is empty">🚶 PERGI / AWAY ${fmt(b.away_s)}</span>`);
  }
  if (b.sla) {
    badges.push(`<span class="badge sla" title="${escape(b.sla.kind)}: ${escape(b.sla.detail)}">⚠ SLA ${escape(SLA_REASONS[b.sla.reason] || b.sla.reason || b.sla.kind)}</span>`);
  }
  if (b.device_fault) {
    badges.push(`<span class="badge fault" title="${escape(b.device_fault.detail)}">⚠ PERANGKAT RUSAK / DEVICE FAULT: ${escape(String(b.device_fault.reason || "").replace(/^device: /, ""))}</span>`);
  }
  if (b.hand.raised) badges.push(`<span class="badge hand">✋ ${b.hand.reason === "help" ? "BANTUAN / HELP" : "SIAP / READY"}</span>`);
  if (b.speaking) badges.push(`<span class="badge speaking">🔊 BICARA / SPEAKING</span>`);
  if (b.documents_waiting) badges.push(`<span class="badge docs">📄 ${b.documents_waiting}</span>`);
  if (b.parked) badges.push(`<span class="badge">DITUNDA / PARKED</span>`);
  if (b.recording) badges.push(`<span class="badge rec">⏺ REKAM / REC</span>`);
  if (b.consent && !b.consent.accepted) badges.push(`<span class="badge refused">⛔ TANPA REKAMAN / NOT RECORDED</span>`);
  el.querySelector(".badges").innerHTML = badges.join("");
}

// A parked case keeps its tile (the participant waits at the booth): its timer, a mark
// once it is parked longer than the server's limit, its history, and Resume.
function renderParked() {
  const box = $("parked");
  const parked = state.parked || [];
  for (const el of [...box.children]) {
    if (!parked.some((c) => c.booth === el.dataset.parked)) el.remove();
  }
  for (const c of parked) {
    let el = box.querySelector(`[data-parked="${CSS.escape(c.booth)}"]`);
    if (!el) {
      el = document.createElement("div");
      el.className = "tile parked";
      el.dataset.parked = c.booth;
      el.innerHTML = `<span class="badges"></span><div class="bar"><span class="name"></span><span class="timers"></span></div>
        <ul class="history"></ul><button type="button" class="resume">Lanjutkan / Resume</button>`;
      el.querySelector(".resume").addEventListener("click", () => resume(c.booth));
      box.appendChild(el);
    }
    el.classList.toggle("overdue", c.overdue);
    el.querySelector(".name").textContent = `${c.booth}${c.number ? " · " + c.number : ""}`;
    el.querySelector(".timers").textContent = `ditunda / parked ${fmt(c.parked_s)}`;
    el.querySelector(".badges").innerHTML = `<span class="badge">DITUNDA / PARKED</span>` +
      (c.overdue ? `<span class="badge overdue">⚠ TERLALU LAMA / PARKED TOO LONG (&gt; ${fmt(c.limit_s)})</span>` : "");
    const events = [...(c.case.decisions || []).map((d) => ({ at: d.at, text: `${d.officer}: ${d.outcome} ${d.reference}` })),
      ...(c.case.events || []).map((e) => ({ at: e.at, text: `${e.officer}: ${e.kind}` }))].sort((x, y) => x.at - y.at);
    el.querySelector(".history").innerHTML = events.map((e) => `<li>${escape(e.text)}</li>`).join("");
  }
}

async function resume(id) {
  try { await post(`api/booths/${encodeURIComponent(id)}/park`, { resume: true }); showError("action-error", null); }
  catch (err) { showError("action-error", err); }
}

function renderQueue() {
  const q = state.queue || {};
  $("queue").textContent = q.waiting === undefined || q.waiting === null
    ? "–" : `Menunggu / Waiting: ${q.waiting} · Sesi aktif / Active sessions: ${q.pairings}`;
  $("alerts").innerHTML = state.alerts.slice().reverse().map((a) =>
    `<li>${escape(a.kind)}: ${escape(a.subject)} ${escape(a.detail)}</li>`).join("") || "<li class=hint>–</li>";
}

function escape(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

const NOT_PRINTED = "⚠ struk tidak tercetak / receipt not printed";
let caseBooth = null;
function renderCase() {
  const b = focusedBooth();
  $("case").hidden = !b;
  $("case-hint").hidden = !!b;
  if (!b) { caseBooth = null; $("case-title").textContent = "Kasus / Case"; return; }
  const switched = caseBooth !== b.booth;
  caseBooth = b.booth;
  $("case-title").textContent = `Kasus / Case: ${b.booth}`;
  $("consent").textContent = consentLine(b);
  $("consent").dataset.consent = !b.consent ? "none" : b.consent.accepted ? "accepted" : "refused";
  $("ticket").innerHTML = `<dt>Tiket / Ticket</dt><dd>${escape(b.number || b.ticket || b.pairing)}</dd>
    <dt>Layanan / Service</dt><dd title="${escape(b.service)}">${escape(SERVICES[b.service] || b.service)}</dd><dt>Sesi / Session</dt><dd>${fmt(b.in_session_s)}</dd>`;
  $("documents").innerHTML = b.documents.map((d) =>
    `<li><a href="#" data-doc="${escape(d.id)}" title="${escape(d.kind)}">${escape(d.name || d.kind || d.id)}</a><span data-status="${escape(d.status)}">${escape(DOC_STATUS[d.status] || d.status)}</span>${readLine(d.read)}</li>`).join("")
    || "<li class=hint>Belum ada / None yet</li>";
  $("flags").innerHTML = (b.flags || []).map((f) =>
    `<li data-kind="${escape(f.kind)}">⚠ ${escape(FLAGS[f.kind] || f.kind)}: ${escape(f.detail)}</li>`).join("");
  const select = $("rescan-document");
  const current = select.value;
  select.innerHTML = b.documents.map((d) => `<option value="${escape(d.id)}">${escape(d.name || d.kind || d.id)}</option>`).join("");
  if (current) select.value = current;
  if (switched) renderChecklist(b);
  renderClaim(b, switched);
  const v = b.verdict;
  $("verdict").textContent = v ? `Tercatat / Recorded: ${v.reference} (${v.outcome})` + (v.receipt === "not_printed" ? ` · ${NOT_PRINTED}` : "") : "";
  const events = [...(b.case.decisions || []).map((d) => ({ at: d.at, text: `${d.officer}: ${d.outcome} ${d.reference}${d.claim && d.claim.nik ? " · NIK " + d.claim.nik : ""}${d.receipt === "not_printed" ? " · " + NOT_PRINTED : ""}` })),
    ...(b.case.events || []).map((e) => ({ at: e.at, text: `${e.officer}: ${e.kind}` }))].sort((x, y) => x.at - y.at);
  $("history").innerHTML = events.map((e) => `<li>${new Date(e.at * 1000).toLocaleTimeString()} ${escape(e.text)}</li>`).join("");
  $("park-button").textContent = b.parked ? "Lanjutkan / Resume" : "Tunda / Park";
}

// The participant's answer to the recording consent (asked at the booth before the officer
// joins); with the branch's "required" setting a refusal is the officer's to decide.
function consentLine(b) {
  const c = b.consent;
  if (!c) return "Persetujuan rekaman: belum dijawab / Recording consent: not answered yet";
  if (c.accepted) return `Peserta setuju direkam (teks ${c.wording}) / The participant agreed to the recording (wording ${c.wording})`;
  if (c.required) return "Peserta menolak direkam, dan rekaman diwajibkan: putuskan apakah sesi dilanjutkan / The participant refused the recording, which is required: decide whether to go on";
  return "Peserta menolak direkam: sesi berlanjut tanpa rekaman / The participant refused the recording: the session goes on without it";
}

// Recent recordings: a <video> each once the branch server has it (played through the hub).
const REC_STATE = { recording: "merekam / recording", uploading: "mengunggah / uploading",
  uploaded: "tersimpan / stored", refused: "ditolak server / refused by the server" };
function renderRecordings() {
  const list = $("recordings");
  const recs = state.recordings || [];
  if (!recs.length) return;
  list.querySelector(".hint")?.remove();
  for (const r of recs) {
    const key = `${r.booth}-${r.started_at}`;
    let li = list.querySelector(`li[data-key="${CSS.escape(key)}"]`);
    if (!li) {
      li = document.createElement("li");
      li.dataset.key = key;
      li.innerHTML = `<span class="what"></span> <span class="state"></span>`;
      list.prepend(li);
    }
    li.querySelector(".what").textContent = `${r.booth} · ${r.ticket} · ${r.officer || "–"} · ${new Date(r.started_at * 1000).toLocaleTimeString()} · ${fmt(r.duration_s)}`;
    li.querySelector(".state").textContent = REC_STATE[r.state] || r.state;
    li.dataset.state = r.state;
    if (r.document && !li.querySelector("video")) {
      const video = document.createElement("video");
      video.controls = true;
      video.preload = "metadata";
      video.dataset.document = r.document;
      video.src = `recordings/${encodeURIComponent(r.document)}`;
      li.append(video);
    }
  }
}

function checklistKey(b) { return `bilik-checklist-${b.pairing}`; }

// The claim data of the decision: what the officer typed (kept per case in localStorage),
// else what the booth's OCR read (the ID card's NIK and name first). Always editable: a
// field the officer has touched is never overwritten by a reading.
const CLAIM_FIELDS = ["nik", "name", "bank", "account"];
function claimKey(b) { return `bilik-claim-${b.ticket || b.pairing}`; }
function readClaim(b) {
  const docs = b.documents.filter((d) => d.read && (d.read.nik || d.read.name));
  docs.sort((x, y) => (y.kind === "ktp") - (x.kind === "ktp"));
  const best = docs[0] ? docs[0].read : {};
  return { nik: best.nik || "", name: best.name || "" };
}
function renderClaim(b, switched) {
  const typed = JSON.parse(localStorage.getItem(claimKey(b)) || "{}");
  const read = readClaim(b);
  for (const f of CLAIM_FIELDS) {
    const input = $(`claim-${f}`);
    if (switched) delete input.dataset.edited;
    if (input.dataset.edited || document.activeElement === input) continue;
    input.value = typed[f] !== undefined ? typed[f] : (read[f] || "");
  }
}
for (const f of CLAIM_FIELDS) {
  $(`claim-${f}`).addEventListener("input", (event) => {
    const b = focusedBooth();
    if (!b) return;
    event.target.dataset.edited = "1";
    const typed = JSON.parse(localStorage.getItem(claimKey(b)) || "{}");
    typed[f] = event.target.value;
    localStorage.setItem(claimKey(b), JSON.stringify(typed));
  });
}
function claimValues() {
  return Object.fromEntries(CLAIM_FIELDS.map((f) => [f, $(`claim-${f}`).value.trim()]));
}

function renderChecklist(b) {
  if (!lists) return;
  const items = lists.checklists[b.service] || lists.checklists[lists.default];
  const ticked = new Set(JSON.parse(localStorage.getItem(checklistKey(b)) || "[]"));
  $("checklist").innerHTML = items.map((i) =>
    `<li><label><input type="checkbox" value="${i.key}" ${ticked.has(i.key) ? "checked" : ""}> ${escape(i.id)} / ${escape(i.en)}</label></li>`).join("");
  $("checklist").onchange = () => {
    const keys = [...$("checklist").querySelectorAll("input:checked")].map((c) => c.value);
    localStorage.setItem(checklistKey(b), JSON.stringify(keys));
  };
}

// -- actions ------------------------------------------------------------------------------
async function focus(id) {
  try { await post("api/focus", { booth: id }); showError("action-error", null); }
  catch (err) { showError("action-error", err); }
}

document.addEventListener("keydown", (event) => {
  if (!state || !state.officer) return;
  if (["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName)) return;
  if (event.key >= "1" && event.key <= "6") {
    const b = state.booths.find((x) => x.slot === Number(event.key));
    if (b) focus(b.booth);
  } else if (event.key === "0" || event.key === "Escape") {
    focus(null);
  }
});

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await post("api/sign-in", { officer: $("officer").value.trim(), pin: $("pin").value });
    $("pin").value = "";
    showError("sign-in-error", null);
  } catch (err) { showError("sign-in-error", err); }
});

// The officer's input keeps the sign-in: an unattended console signs out by itself
// (hub setting console_idle_s). Reported at most every activity_report_s (from the state).
let lastReport = 0;
function activity() {
  if (!state || !state.officer || Date.now() - lastReport < 1000 * state.activity_report_s) return;
  lastReport = Date.now();
  post("api/activity").catch(() => {});
}
for (const type of ["keydown", "pointerdown", "pointermove", "wheel"]) {
  document.addEventListener(type, activity, { passive: true });
}

for (const kind of ["camera", "microphone", "headset"]) {
  $(`${kind}-select`).addEventListener("change", (event) => BilikMedia.choose(kind, event.target.value));
}

$("sign-out").addEventListener("click", () => post("api/sign-out").catch((err) => showError("action-error", err)));

$("decision-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const b = focusedBooth();
  if (!b) return;
  const checklist = [...$("checklist").querySelectorAll("input:checked")].map((c) => c.value);
  try {
    const r = await post(`api/booths/${encodeURIComponent(b.booth)}/decision`,
      { outcome: $("outcome").value, note: $("note").value, checklist, claim: claimValues() });
    $("verdict").textContent = `Tercatat / Recorded: ${r.reference} (${r.outcome})`;
    $("note").value = "";
    localStorage.removeItem(checklistKey(b));
    localStorage.removeItem(claimKey(b));
    showError("action-error", null);
  } catch (err) { showError("action-error", err); }
});

$("rescan-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const b = focusedBooth();
  if (!b) return;
  try {
    await post(`api/booths/${encodeURIComponent(b.booth)}/rescan`,
      { document: $("rescan-document").value, reason: $("rescan-reason").value });
    $("rescan-reason").value = "";
    showError("action-error", null);
  } catch (err) { showError("action-error", err); }
});

$("transfer-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const b = focusedBooth();
  if (!b) return;
  try {
    await post(`api/booths/${encodeURIComponent(b.booth)}/transfer`, { to_hub: $("transfer-hub").value.trim() });
    showError("action-error", null);
  } catch (err) { showError("action-error", err); }
});

$("park-button").addEventListener("click", async () => {
  const b = focusedBooth();
  if (!b) return;
  try { await post(`api/booths/${encodeURIComponent(b.booth)}/park`, { resume: b.parked }); showError("action-error", null); }
  catch (err) { showError("action-error", err); }
});

// -- document viewer: full resolution, zoom and rotate ----------------------------------------
$("documents").addEventListener("click", (event) => {
  const link = event.target.closest("a[data-doc]");
  if (!link) return;
  event.preventDefault();
  view = { zoom: 1, rotate: 0 };
  $("document-image").src = `documents/${encodeURIComponent(link.dataset.doc)}`;
  $("viewer").hidden = false;
  applyView();
  $("rescan-document").value = link.dataset.doc;
});
document.querySelectorAll("#viewer [data-zoom]").forEach((b) => b.addEventListener("click", () => {
  view.zoom = Math.min(8, Math.max(0.25, view.zoom * Number(b.dataset.zoom))); applyView();
}));
document.querySelectorAll("#viewer [data-rotate]").forEach((b) => b.addEventListener("click", () => {
  view.rotate = (view.rotate + Number(b.dataset.rotate)) % 360; applyView();
}));
$("viewer-close").addEventListener("click", () => { $("viewer").hidden = true; });
function applyView() { $("document-image").style.transform = `scale(${view.zoom}) rotate(${view.rotate}deg)`; }

// -- start --------------------------------------------------------------------------------
fetch("api/checklists").then((r) => r.json()).then((data) => {
  lists = data;
  $("outcome").innerHTML = data.outcomes.map((o) => `<option value="${o.code}">${escape(o.id)} / ${escape(o.en)}</option>`).join("");
  if (state) { caseBooth = null; render(); }
});
connect();
