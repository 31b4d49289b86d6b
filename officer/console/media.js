// The officer's media: this page is the officer's camera, microphone and headset.
// One peer connection to the hub (on this PC), opened after sign-in: the camera and the
// microphone go out (the hub forwards them, as encoded here, to the booth in focus); every
// booth's video comes in on its seat, and the focused booth's voice on the headset.
// Device choices are remembered (localStorage); a missing, busy or refused device is said
// in both languages, and the participant meanwhile sees the waiting card.
"use strict";

const BilikMedia = (() => {
  const SEATS = 6;
  const PREFS = "bilik-devices";
  const GATHER_WAIT_MS = 3000;
  const DEVICE_TEXT = {
    camera: {
      missing: "Kamera tidak ditemukan / No camera found",
      busy: "Kamera dipakai aplikasi lain / The camera is in use by another program",
      refused: "Izin kamera ditolak / Camera permission refused",
      ended: "Kamera terputus / The camera was disconnected",
      error: "Kamera tidak dapat dipakai / The camera cannot be used",
    },
    microphone: {
      missing: "Mikrofon tidak ditemukan / No microphone found",
      busy: "Mikrofon dipakai aplikasi lain / The microphone is in use by another program",
      refused: "Izin mikrofon ditolak / Microphone permission refused",
      ended: "Mikrofon terputus / The microphone was disconnected",
      error: "Mikrofon tidak dapat dipakai / The microphone cannot be used",
    },
    headset: {
      unsupported: "Pilihan headset tidak didukung browser ini / This browser cannot choose the headset",
      error: "Headset tidak dapat dipilih / The headset cannot be chosen",
    },
  };
  const CARD_NOTE = "Peserta melihat kartu tunggu / The participant sees the waiting card";

  let pc = null;
  let local = null;
  let connecting = false;
  let wanted = false; // signed in: keep a connection up
  let retry = null;
  const devices = { camera: "none", microphone: "none", headset: "ok" };
  const seatVideos = [];
  const voice = document.createElement("audio");
  voice.autoplay = true;
  voice.id = "headset";
  document.body.appendChild(voice); // the focused booth's voice, on the chosen output
  const prefs = JSON.parse(localStorage.getItem(PREFS) || "{}");

  for (let n = 0; n < SEATS; n++) {
    const video = document.createElement("video");
    video.autoplay = true;
    video.muted = true; // a booth's voice comes on the headset, for the focused booth only
    video.playsInline = true;
    video.className = "seat";
    video.dataset.seat = String(n + 1);
    seatVideos.push(video);
  }

  const $ = (id) => document.getElementById(id);

  function classify(err) {
    const name = err && err.name;
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "missing";
    if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "busy";
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "refused";
    return "error";
  }

  async function capture(kind, constraints) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ [kind === "camera" ? "video" : "audio"]: constraints });
      const track = stream.getTracks()[0];
      devices[kind] = "ok";
      track.addEventListener("ended", () => { devices[kind] = "ended"; report(); });
      return track;
    } catch (err) {
      devices[kind] = classify(err);
      return null;
    }
  }

  async function openDevices(video) {
    if (local) local.getTracks().forEach((t) => t.stop());
    const want = (id) => (id ? { exact: id } : undefined);
    // Camera and microphone apart: one missing must not cost the other.
    const camera = await capture("camera", { deviceId: want(prefs.camera), width: { ideal: video.width },
      height: { ideal: video.height }, frameRate: { ideal: video.max_fps, max: video.max_fps } });
    const microphone = await capture("microphone", { deviceId: want(prefs.microphone),
      echoCancellation: true, noiseSuppression: true, autoGainControl: true });
    local = new MediaStream([camera, microphone].filter(Boolean));
    $("self-view").srcObject = local;
    return { camera, microphone };
  }

  async function gathered(peer) {
    if (peer.iceGatheringState === "complete") return;
    await new Promise((resolve) => {
      const done = () => { if (peer.iceGatheringState === "complete") resolve(); };
      peer.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, GATHER_WAIT_MS);
    });
  }

  async function connect() {
    if (connecting || !wanted) return;
    connecting = true;
    clearTimeout(retry);
    try {
      close();
      const video = { width: 640, height: 480, max_fps: 15 };
      const tracks = await openDevices(video);
      const peer = new RTCPeerConnection({ iceServers: [] });
      pc = peer;
      const camera = peer.addTransceiver(tracks.camera || "video", { direction: "sendonly" });
      const audio = peer.addTransceiver(tracks.microphone || "audio", { direction: "sendrecv" });
      const seats = seatVideos.map(() => peer.addTransceiver("video", { direction: "recvonly" }));
      await peer.setLocalDescription();
      await gathered(peer);
      const mids = { camera: camera.mid, audio: audio.mid, seats: seats.map((s) => s.mid) };
      const answer = await post("api/media", { sdp: peer.localDescription.sdp, mids });
      if (pc !== peer) return; // replaced meanwhile
      await peer.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      await capSending(camera.sender, answer.video);
      seats.forEach((s, n) => { seatVideos[n].srcObject = new MediaStream([s.receiver.track]); });
      voice.srcObject = new MediaStream([audio.receiver.track]);
      await chooseHeadset(prefs.headset);
      peer.addEventListener("connectionstatechange", () => {
        if (pc === peer && ["failed", "closed"].includes(peer.connectionState)) later();
      });
      window.bilikMedia = { pc: peer, seats, camera, audio };
      report();
    } catch (err) {
      showStatus(`Media: ${err.message || err}`);
      later();
    } finally {
      connecting = false;
    }
  }

  async function capSending(sender, video) {
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) return;
    params.encodings[0].maxBitrate = video.max_bitrate;
    params.encodings[0].maxFramerate = video.max_fps;
    try { await sender.setParameters(params); } catch (err) { /* no camera: nothing to cap */ }
  }

  async function chooseHeadset(id) {
    if (!voice.setSinkId) { devices.headset = id ? "unsupported" : "ok"; return; }
    try { await voice.setSinkId(id || ""); devices.headset = "ok"; }
    catch (err) { devices.headset = "error"; }
  }

  function later() {
    clearTimeout(retry);
    if (wanted) retry = setTimeout(connect, 2000);
  }

  function close() {
    if (pc) { const old = pc; pc = null; old.close(); }
    seatVideos.forEach((v) => { v.srcObject = null; });
    voice.srcObject = null;
  }

  function report() {
    renderStatus();
    post("api/media/devices", devices).catch(() => {});
    listDevices();
  }

  function showStatus(text) { const el = $("media-status"); if (el) el.textContent = text; }

  function renderStatus(media) {
    const problems = ["camera", "microphone", "headset"]
      .filter((k) => devices[k] !== "ok" && DEVICE_TEXT[k][devices[k]])
      .map((k) => DEVICE_TEXT[k][devices[k]]);
    if (devices.camera !== "ok") problems.push(CARD_NOTE);
    let text = problems.join(" · ");
    if (!text && media && media.source === "browser" && !media.camera) text = CARD_NOTE;
    showStatus(text);
    $("media-panel").classList.toggle("problem", !!text);
  }

  async function listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const all = await navigator.mediaDevices.enumerateDevices();
    const fill = (id, kind, current) => {
      const select = $(id);
      const options = all.filter((d) => d.kind === kind);
      select.innerHTML = `<option value="">Bawaan / Default</option>` + options.map((d, n) =>
        `<option value="${d.deviceId}">${(d.label || `${kind} ${n + 1}`).replace(/[<>&"]/g, "")}</option>`).join("");
      select.value = current || "";
    };
    fill("camera-select", "videoinput", prefs.camera);
    fill("microphone-select", "audioinput", prefs.microphone);
    fill("headset-select", "audiooutput", prefs.headset);
  }

  function choose(kind, value) {
    prefs[kind] = value;
    localStorage.setItem(PREFS, JSON.stringify(prefs));
    if (kind === "headset") chooseHeadset(value).then(report);
    else connect();
  }

  return {
    seatVideo: (slot) => seatVideos[slot - 1],
    headset: voice,
    devices,
    start() { wanted = true; if (!pc && !connecting) connect(); },
    stop() { wanted = false; clearTimeout(retry); close(); if (local) local.getTracks().forEach((t) => t.stop()); local = null; },
    choose,
    render: renderStatus,
    connected: () => !!pc && pc.connectionState === "connected",
  };
})();
