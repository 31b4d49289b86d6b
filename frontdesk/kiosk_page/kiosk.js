"use strict";
// The kiosk's touch screen (docs/frontdesk.md). Every word comes from /state (the catalogue,
// Bahasa Indonesia first, English under it); every request goes to the kiosk agent on this
// machine. One question at a time; by touch or by keyboard (Tab, Enter, Escape); a
// keyboard-wedge scanner's code followed by Enter checks a booking in from the start screen.

const BACKOFF_START_MS = 500, BACKOFF_CAP_MS = 10000; // events socket: capped, jittered
const SCAN_GAP_MS = 2000; // keys further apart than this start a new code
const KEYS = "1234567890QWERTYUIOPASDFGHJKL-ZXCVBNM";

let S = null; // what /state said: labels, services, priorities, settings
let boot = null; // the agent's boot id: a new one means a new agent, so load the page again
let backoff = BACKOFF_START_MS;
let current = "home";
let service = null;
let timer = null;
let typed = "", typedAt = 0;

function span(cls, words) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = words;
  return s;
}

function say(el, pair) {
  if (!pair) { el.replaceChildren(); return; }
  el.replaceChildren(span("id", pair[0]), span("en", pair[1]));
}

function label(name) { return S.labels[name]; }

function pairOf(message) { return message ? [message.id, message.en] : null; }

function show(id) {
  current = id;
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.id !== id;
  }
  const first = document.querySelector(`#${id} button, #${id} input`);
  if (first && id !== "home") first.focus();
  if (id === "home") { service = null; document.getElementById("code").value = ""; }
  clearTimeout(timer);
  const seconds = id === "result" || id === "helped" ? S.settings.result_s
    : id === "home" || id === "working" ? 0 : S.settings.idle_s;
  if (seconds) timer = setTimeout(() => show("home"), seconds * 1000);
}

function touched() { // any input keeps a half-finished choice open
  if (current !== "home" && current !== "working" && current !== "result" &&
      current !== "helped") show(current);
}

function button(cls, pair, onClick, data) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  say(b, pair);
  for (const [k, v] of Object.entries(data || {})) b.dataset[k] = v;
  b.addEventListener("click", onClick);
  return b;
}

function build() {
  for (const el of document.querySelectorAll("[data-label]")) say(el, label(el.dataset.label));
  const services = document.getElementById("services");
  services.replaceChildren(...S.services.map((s) => button("choice", s.label, () => {
    service = s.key;
    show("priority");
  }, {service: s.key})));
  const priorities = document.getElementById("priorities");
  const none = {key: "none", label: label("priority_none")};
  priorities.replaceChildren(...[none, ...S.priorities].map((p) => button("choice", p.label,
    () => ticket(service, p.key), {priority: p.key})));
  const keypad = document.getElementById("keypad");
  keypad.replaceChildren(...[...KEYS].map((k) => button("key", [k, ""], () => {
    const input = document.getElementById("code");
    if (input.value.length < 32) input.value += k;
    touched();
  }, {key: k})));
  document.body.classList.remove("loading");
}

function banner(live) {
  const el = document.getElementById("banner");
  let words = null;
  if (live === null) words = label("reconnecting");
  else if (!live.connected) words = label("offline");
  else if (live.printer_out) words = label("printer_out");
  el.hidden = words === null;
  say(el, words);
}

function render(result) {
  const section = document.getElementById("result");
  section.classList.toggle("refused", !result.issued);
  section.dataset.outcome = result.outcome;
  document.getElementById("result-number").textContent = result.issued ? result.number : "";
  const first = result.outcome === "printed"
    ? [result.text.id + ". " + label("take_ticket")[0], result.text.en + ". " + label("take_ticket")[1]]
    : [result.text.id, result.text.en];
  say(document.getElementById("result-text"), first);
  say(document.getElementById("result-wait"), result.issued ? pairOf(result.wait) : null);
  say(document.getElementById("result-ahead"),
      result.issued && result.ahead_text ? pairOf(result.ahead_text) : null);
  document.getElementById("result-estimate").hidden = !result.issued;
  show("result");
}

async function post(path, body) {
  show("working");
  try {
    const reply = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify(body || {})});
    const data = await reply.json().catch(() => null);
    if (data && data.outcome) render(data);
    else if (data && data.text) { say(document.getElementById("helped-text"), pairOf(data.text)); show("helped"); }
    else render({issued: false, outcome: "refused", text: {id: label("unreadable")[0], en: label("unreadable")[1]}});
  } catch (err) {
    render({issued: false, outcome: "offline", text: {id: label("reconnecting")[0], en: label("reconnecting")[1]}});
  }
}

function ticket(key, priority) { return post("ticket", {service: key, priority}); }

function checkIn(code) {
  const clean = code.trim();
  if (clean) post("scan", {code: clean});
}

function connect() {
  const url = new URL("events", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "hello") {
      if (boot !== null && msg.boot !== boot) { location.reload(); return; }
      boot = msg.boot;
      backoff = BACKOFF_START_MS;
    } else if (msg.type === "state") {
      banner(msg.state);
    } else if (msg.type === "result" && current !== "working") {
      render(msg.result); // a code read by the kiosk's serial scanner
    }
  };
  ws.onclose = () => {
    banner(null);
    setTimeout(connect, backoff * (0.5 + Math.random() / 2));
    backoff = Math.min(backoff * 2, BACKOFF_CAP_MS);
  };
}

function keys(event) {
  touched();
  if (event.key === "Escape") { show("home"); return; }
  if (current !== "home" || event.ctrlKey || event.altKey || event.metaKey) return;
  const now = Date.now();
  if (now - typedAt > SCAN_GAP_MS) typed = "";
  typedAt = now;
  if (event.key === "Enter" && typed) {
    event.preventDefault();
    const code = typed;
    typed = "";
    checkIn(code);
  } else if (event.key.length === 1 && event.key !== " ") {
    typed += event.key;
  }
}

async function start() {
  let reply;
  try {
    reply = await fetch("state", {cache: "no-store"});
  } catch (err) {
    setTimeout(start, BACKOFF_CAP_MS / 2);
    return;
  }
  S = await reply.json();
  build();
  banner(S);
  document.getElementById("booking-button").addEventListener("click", () => show("booking"));
  for (const b of document.querySelectorAll(".back, .done")) b.addEventListener("click", () => show("home"));
  document.getElementById("help-button").addEventListener("click", () => post("help"));
  document.getElementById("delete-button").addEventListener("click", () => {
    const input = document.getElementById("code");
    input.value = input.value.slice(0, -1);
    touched();
  });
  document.getElementById("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    checkIn(document.getElementById("code").value);
  });
  document.addEventListener("keydown", keys);
  document.addEventListener("pointerdown", touched);
  show("home");
  connect();
}

start();
