// Injected by bench/hub.py into the officer console: reads the project's timecode (see
// hardware/testpattern.py) from sampled frames of every seat's video and of the self-view,
// in the page, as the officer would see them. Not part of the console itself.
//
// window.bilikProbe.seats[n]: latencies (ms) from the booth's capture to the frame
//   presented in the page, every SAMPLE_EVERY-th frame of seat n;
// window.bilikProbe.camera: [wall ms, timecode] of every frame of the officer's camera as
//   the capture hands it to the page (a MediaStreamTrackProcessor on a clone of the track).
//   Chromium's fake camera plays its Y4M loop at about, not exactly, its frame rate, so a
//   booth's reading of the officer's picture is matched with the capture of that very
//   frame, not with a phase computed once: that gives the browser-capture-to-booth-decode
//   latency.
"use strict";
(() => {
  const COLUMNS = 32, ROWS = 2, BLOCK = 20, WIDTH = 640, LOOP_MS = 8000;
  const SAMPLE_EVERY = 3, MAX_MS = 5000;
  const probe = { seats: [[], [], [], [], [], []], camera: [] };
  window.bilikProbe = probe;
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });

  function crc16(bytes) { // CRC-16/CCITT, initial 0xFFFF: binascii.crc_hqx
    let crc = 0xffff;
    for (const b of bytes) {
      crc ^= b << 8;
      for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    return crc;
  }

  function read(video) {
    const w = video.videoWidth, h = video.videoHeight;
    if (w < WIDTH / 2 || !h) return null;
    const s = Math.min(1, w / WIDTH);
    const strip = Math.ceil(ROWS * BLOCK * s);
    canvas.width = w; canvas.height = strip;
    ctx.drawImage(video, 0, 0, w, strip, 0, 0, w, strip);
    const px = ctx.getImageData(0, 0, w, strip).data;
    const bits = [];
    for (let r = 0; r < ROWS; r++) {
      for (let c = 0; c < COLUMNS; c++) {
        const x = Math.floor((c * BLOCK + BLOCK / 2) * s), y = Math.floor((r * BLOCK + BLOCK / 2) * s);
        const i = (y * w + x) * 4;
        const luma = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
        bits.push(luma > 128 ? 1 : 0);
      }
    }
    return decode(bits);
  }

  function decode(bits) { // 48 bits of value, then its CRC-16
    let value = 0;
    for (let i = 0; i < 48; i++) value = value * 2 + bits[i];
    let check = 0;
    for (let i = 48; i < 64; i++) check = check * 2 + bits[i];
    const bytes = [];
    let v = value;
    for (let i = 0; i < 6; i++) { bytes.unshift(v % 256); v = Math.floor(v / 256); }
    return crc16(bytes) === check ? value : null;
  }

  function captured(timecode, now) { // bilik.webrtc.meter.capture_time_ms
    if (timecode >= LOOP_MS) return timecode;
    return now - ((((now - timecode) % LOOP_MS) + LOOP_MS) % LOOP_MS);
  }

  function watch(video, onFrame) {
    let n = 0;
    const step = () => {
      n += 1;
      if (n % SAMPLE_EVERY === 0) {
        const timecode = read(video);
        if (timecode !== null) onFrame(timecode, Date.now());
      }
      video.requestVideoFrameCallback(step);
    };
    video.requestVideoFrameCallback(step);
  }

  [1, 2, 3, 4, 5, 6].forEach((slot) => {
    const video = BilikMedia.seatVideo(slot);
    const seat = slot - 1;
    watch(video, (timecode, now) => {
      const ms = now - captured(timecode, now);
      if (ms >= 0 && ms <= MAX_MS) probe.seats[seat].push([now, ms]);
    });
  });
  function readI420(frame) { // the Y plane's top strip of a captured VideoFrame
    const w = frame.codedWidth;
    const strip = ROWS * BLOCK;
    const luma = new Uint8Array(w * strip * 3 / 2); // Y, then U and V (unread)
    const quarter = (w / 2) * (strip / 2);
    return frame.copyTo(luma, { rect: { x: 0, y: 0, width: w, height: strip },
                                layout: [{ offset: 0, stride: w },
                                         { offset: w * strip, stride: w / 2 },
                                         { offset: w * strip + quarter, stride: w / 2 }] }).then(() => {
      const bits = [];
      for (let r = 0; r < ROWS; r++) {
        for (let c = 0; c < COLUMNS; c++) {
          bits.push(luma[(r * BLOCK + BLOCK / 2) * w + c * BLOCK + BLOCK / 2] > 128 ? 1 : 0);
        }
      }
      return decode(bits);
    });
  }

  async function camera() {
    const view = document.getElementById("self-view");
    const track = view.srcObject && view.srcObject.getVideoTracks()[0];
    if (!track || typeof MediaStreamTrackProcessor === "undefined") {
      probe.cameraProbe = "unavailable";
      return;
    }
    probe.cameraProbe = "capture";
    const reader = new MediaStreamTrackProcessor({ track: track.clone() }).readable.getReader();
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done) return;
      const now = Date.now();
      if (frame.format === "I420" && frame.codedWidth >= WIDTH) {
        try {
          const timecode = await readI420(frame);
          if (timecode !== null) probe.camera.push([now, timecode]);
        } catch (err) { probe.cameraError = String(err); }
      }
      frame.close();
    }
  }
  camera();
})();
