"""WebRTC plumbing shared by the booth agent and the officer hub.

- :mod:`bilik.webrtc.jitter`: release video frames on the RTP marker bit (one frame
  period less latency than aiortc's own jitter buffer);
- :mod:`bilik.webrtc.connection`: the one way both sides build a peer connection;
- :mod:`bilik.webrtc.meter`: frame-rate and capture-to-decode latency of a video stream;
- :mod:`bilik.webrtc.looplag`: event-loop lag watchdog;
- :mod:`bilik.webrtc.tracks`: synthetic and replayed video tracks.

See docs/media.md.
"""
