/*
 * Switchboard calls: the WebRTC side shared by the claimant page (/chat) and the agent desk
 * (/agent). Plain script, no build step, nothing from another origin.
 *
 * The signaling goes over the page's own websocket as `signal` frames (see "Calls:
 * signaling" in docs/realtime-protocol.md); this file only makes and reads them. The
 * claimant offers, the desk answers; either side restarts ICE when the media drops, and
 * the desk yields when both restart at once.
 *
 * Each page also reports its side of the call to the service (not relayed to the other
 * party): `call_state` "connected" once per set-up (one Call object), and a `call_quality`
 * summary of the whole call from its own getStats every 15 s while connected and once
 * more just before it hangs up (or when the other side hangs up on it).
 */
(function () {
  "use strict";

  const STATS_EVERY_MS = 2000;
  const RESTART_AFTER_MS = 2000; // "disconnected" often heals by itself: wait a little first
  const MEDIA_GRACE_MS = 30000; // past this without media, the call ends with a reason
  const QUALITY_EVERY_MS = 15000; // how often the summary goes to the service
  // The service's bounds for a summary: a broken clock or counter must not get it refused.
  const MAX_MS = 60000;
  const CAMERA = { width: { ideal: 640 }, height: { ideal: 360 } };

  /** Why this browser cannot make a call ("" when it can). */
  function unsupportedReason() {
    if (typeof window.RTCPeerConnection !== "function") return "no_webrtc";
    const devices = navigator.mediaDevices;
    if (!devices || typeof devices.getUserMedia !== "function") return "no_media_devices";
    return "";
  }

  /** The reason for a failed getUserMedia, as one of our own words. */
  function mediaErrorReason(error) {
    const name = (error && error.name) || "";
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "permission_denied";
    if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") return "no_device";
    if (name === "NotReadableError" || name === "TrackStartError") return "device_busy";
    return "media_failed";
  }

  /** The camera and microphone (or only the microphone) for a call of `media`. */
  function getLocalMedia(media) {
    return navigator.mediaDevices.getUserMedia({ audio: true, video: media === "video" ? CAMERA : false });
  }

  /** GET /api/v1/calls/ice-servers with a bearer token: the list for RTCPeerConnection. */
  async function fetchIceServers(token) {
    try {
      const response = await fetch("/api/v1/calls/ice-servers", {
        headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
        cache: "no-store",
      });
      if (!response.ok) return [];
      const body = await response.json();
      return Array.isArray(body.iceServers) ? body.iceServers : [];
    } catch (_) {
      return [];
    }
  }

  /** good / fair / poor from round trip (s), jitter (s) and packet loss (0..1). */
  function rateQuality(rtt, jitter, loss) {
    if ((rtt != null && rtt > 0.5) || (jitter != null && jitter > 0.1) || (loss != null && loss > 0.08)) return "poor";
    if ((rtt != null && rtt > 0.25) || (jitter != null && jitter > 0.03) || (loss != null && loss > 0.02)) return "fair";
    return "good";
  }

  /** `value` rounded to `digits` decimals and kept within 0..max (null stays null). */
  function bounded(value, max, digits) {
    if (value == null || !Number.isFinite(value)) return null;
    const scale = 10 ** digits;
    return Math.min(max, Math.max(0, Math.round(value * scale) / scale));
  }

  /**
   * The running sums behind a call's quality summary: means of round trip and jitter over
   * the getStats samples that had them, and the inbound audio lost and received over the
   * whole call. getStats counts since its peer connection began: the counts of an earlier
   * peer (before the other page reloaded) are kept aside and added.
   */
  class QualitySummary {
    constructor() {
      this.samples = 0;
      this.rttSum = 0;
      this.rttCount = 0;
      this.jitterSum = 0;
      this.jitterCount = 0;
      this.earlier = { lost: 0, received: 0 };
      this.current = { lost: 0, received: 0 };
    }

    /** One getStats sample: rtt and jitter in seconds (or null), and the peer's inbound
     * audio packets lost and received so far. */
    add(rtt, jitter, lost, received) {
      this.samples += 1;
      if (rtt != null) {
        this.rttSum += rtt;
        this.rttCount += 1;
      }
      if (jitter != null) {
        this.jitterSum += jitter;
        this.jitterCount += 1;
      }
      // Fewer packets received than before: the counters started again (a new stream).
      if (received < this.current.received) this.newPeer();
      this.current = { lost, received };
    }

    /** The peer connection was replaced: its counts so far are kept, the next start at 0. */
    newPeer() {
      this.earlier = {
        lost: this.earlier.lost + this.current.lost,
        received: this.earlier.received + this.current.received,
      };
      this.current = { lost: 0, received: 0 };
    }

    /** The `call_quality` fields: means in ms, loss in % of the whole call, the sample count. */
    fields() {
      // packetsLost may go below zero (duplicates): the whole call's loss does not.
      const lost = Math.max(0, this.earlier.lost + this.current.lost);
      const received = this.earlier.received + this.current.received;
      const total = lost + received;
      return {
        rtt_ms: this.rttCount ? bounded((this.rttSum / this.rttCount) * 1000, MAX_MS, 1) : null,
        jitter_ms: this.jitterCount ? bounded((this.jitterSum / this.jitterCount) * 1000, MAX_MS, 1) : null,
        loss_pct: total > 0 ? bounded((lost / total) * 100, 100, 2) : null,
        samples: this.samples,
      };
    }
  }

  /** The DTLS fingerprint of an SDP: a new one means a new peer (the other page reloaded). */
  function fingerprint(sdp) {
    const match = /a=fingerprint:\S+ (\S+)/.exec(sdp || "");
    return match ? match[1] : "";
  }

  /**
   * One call: a peer connection and the local media, driven by `signal` frames.
   *
   * options: role ("customer" offers, "agent" answers), interactionId, media ("voice" |
   * "video"), iceServers, send(frame) -> bool, and callbacks onState(state),
   * onRemoteTrack(track, streams), onRenegotiated(receivingTracks) after each offer answered,
   * onQuality({level, rtt, jitter, loss}), onEnded(reason, by).
   *
   * One Call object is one set-up: a transfer or a new call in the same chat makes a new
   * one, which reports `connected` again; an ICE restart or a new peer within it does not.
   */
  class Call {
    constructor(options) {
      this.options = options;
      this.role = options.role;
      this.id = options.interactionId;
      this.media = options.media;
      this.localStream = null;
      this.screenStream = null;
      this.screenSenders = [];
      this.pendingCandidates = [];
      this.offerPending = false; // a renegotiation waits for the answer to the last offer
      this.ended = false;
      this.connectedAt = null;
      this.muted = false;
      this.cameraOff = false;
      this.held = false;
      this.state = "new";
      this.statsTimer = null;
      this.restartTimer = null;
      this.graceTimer = null;
      this.lastInbound = null;
      this.summary = new QualitySummary();
      this.qualityTimer = null;
      this.connectedReported = false;
      this.remoteFingerprint = "";
      this.pc = this.newPeer();
    }

    newPeer() {
      const pc = new RTCPeerConnection({ iceServers: this.options.iceServers || [] });
      pc.onicecandidate = (event) => {
        this.signal("candidate", { candidate: event.candidate ? event.candidate.toJSON() : null });
      };
      pc.ontrack = (event) => {
        if (this.options.onRemoteTrack) this.options.onRemoteTrack(event.track, event.streams);
      };
      pc.onconnectionstatechange = () => this.onConnectionState(pc);
      pc.oniceconnectionstatechange = () => this.onIceState(pc);
      return pc;
    }

    signal(kind, fields) {
      if (this.ended && kind !== "hangup") return false;
      return this.options.send({ type: "signal", interaction_id: this.id, call_id: this.id, kind, ...fields });
    }

    /** A report to the service about this call (`call_state`, `call_quality`): not relayed. */
    report(type, fields) {
      return this.options.send({ type, interaction_id: this.id, call_id: this.id, ...fields });
    }

    /** `call_state` held or resumed (the desk's hold button); false if it could not go. */
    reportHold(held) {
      if (this.ended) return false;
      return this.report("call_state", { state: held ? "held" : "resumed" });
    }

    /** `connected` once per set-up; tried again later if the socket was away just then. */
    reportConnected() {
      if (this.connectedReported || this.ended) return;
      this.connectedReported = this.report("call_state", { state: "connected" });
    }

    /** The summary of the call so far, once there is at least one sample to summarise. */
    reportQuality() {
      if (this.summary.samples === 0) return false;
      return this.report("call_quality", this.summary.fields());
    }

    setState(state) {
      this.state = state;
      if (this.options.onState) this.options.onState(state);
    }

    /** Add the local media; the claimant then offers. */
    async start(localStream) {
      this.localStream = localStream;
      for (const track of localStream.getTracks()) this.pc.addTrack(track, localStream);
      this.setState("connecting");
      if (this.role === "customer") await this.offer(false);
    }

    async offer(iceRestart) {
      if (this.ended) return;
      if (this.pc.signalingState !== "stable") {
        // An offer is still out (say, the screen share stopped before its start was
        // answered): offer again once it is answered, or the change never reaches the peer.
        if (!iceRestart) this.offerPending = true;
        return;
      }
      this.offerPending = false;
      const offer = await this.pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
      await this.pc.setLocalDescription(offer);
      this.signal(iceRestart ? "restart" : "offer", { sdp: this.pc.localDescription.sdp });
    }

    /** A `signal` frame from the other party (handled one after the other, in order). */
    onSignal(frame) {
      this.chain = (this.chain || Promise.resolve()).then(() => this.handleSignal(frame));
      return this.chain;
    }

    async handleSignal(frame) {
      if (this.ended) return;
      try {
        if (frame.kind === "offer" || frame.kind === "restart") await this.onOffer(frame.sdp);
        else if (frame.kind === "answer") await this.onAnswer(frame.sdp);
        else if (frame.kind === "candidate") await this.onCandidate(frame.candidate);
        else if (frame.kind === "hangup") {
          // The other side hung up: our summary is complete now (it had no chance to ask).
          this.reportQuality();
          this.finish(frame.reason || "ended", "remote");
        }
      } catch (error) {
        if (window.console) console.warn("call signal failed:", frame.kind, error);
      }
    }

    async onOffer(sdp) {
      const print = fingerprint(sdp);
      if (this.remoteFingerprint && print && print !== this.remoteFingerprint) {
        // The other page reloaded and offers from a new peer: start over with it.
        this.replacePeer();
      }
      if (this.pc.signalingState === "have-local-offer") {
        // Both offered at once: the desk yields, the claimant keeps its own.
        if (this.role !== "agent") return;
        await this.pc.setLocalDescription({ type: "rollback" });
      }
      await this.pc.setRemoteDescription({ type: "offer", sdp });
      this.remoteFingerprint = print || this.remoteFingerprint;
      await this.flushCandidates();
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.signal("answer", { sdp: this.pc.localDescription.sdp });
      // A track the other side stopped sending (a screen share ended) is now inactive.
      if (this.options.onRenegotiated) this.options.onRenegotiated(this.receivingTracks());
    }

    async onAnswer(sdp) {
      if (this.pc.signalingState !== "have-local-offer") return;
      await this.pc.setRemoteDescription({ type: "answer", sdp });
      this.remoteFingerprint = fingerprint(sdp) || this.remoteFingerprint;
      await this.flushCandidates();
      if (this.offerPending) await this.offer(false);
    }

    async onCandidate(candidate) {
      if (!this.pc.remoteDescription) {
        this.pendingCandidates.push(candidate);
        return;
      }
      await this.pc.addIceCandidate(candidate || undefined);
    }

    async flushCandidates() {
      const waiting = this.pendingCandidates.splice(0);
      for (const candidate of waiting) {
        try {
          await this.pc.addIceCandidate(candidate || undefined);
        } catch (_) {
          /* a candidate of an older description */
        }
      }
    }

    replacePeer() {
      const old = this.pc;
      this.pc = this.newPeer();
      this.pendingCandidates = [];
      this.screenSenders = [];
      this.lastInbound = null; // the new peer's counters start from zero
      this.summary.newPeer();
      if (this.localStream) for (const track of this.localStream.getTracks()) this.pc.addTrack(track, this.localStream);
      old.onicecandidate = null;
      old.ontrack = null;
      old.onconnectionstatechange = null;
      old.oniceconnectionstatechange = null;
      old.close();
    }

    /** The remote tracks the other side still sends. */
    receivingTracks() {
      return this.pc.getTransceivers()
        .filter((t) => t.currentDirection === "recvonly" || t.currentDirection === "sendrecv")
        .map((t) => t.receiver.track);
    }

    onConnectionState(pc) {
      if (pc !== this.pc || this.ended) return;
      const state = pc.connectionState;
      if (state === "connected") {
        window.clearTimeout(this.graceTimer);
        this.graceTimer = null;
        if (this.connectedAt == null) this.connectedAt = Date.now();
        this.setState("connected");
        this.reportConnected();
        this.startStats();
      } else if (state === "disconnected" || state === "failed") {
        this.setState("reconnecting");
        this.mediaDropped(state === "failed");
      }
    }

    onIceState(pc) {
      if (pc !== this.pc || this.ended) return;
      const state = pc.iceConnectionState;
      if (state === "disconnected" || state === "failed") this.mediaDropped(state === "failed");
    }

    /** Dropped media (Wi-Fi to mobile): an ICE restart soon, the end past the grace period. */
    mediaDropped(failed) {
      if (!this.graceTimer) {
        this.graceTimer = window.setTimeout(() => this.hangUp("media_lost"), MEDIA_GRACE_MS);
      }
      window.clearTimeout(this.restartTimer);
      this.restartTimer = window.setTimeout(() => this.restart(), failed ? 0 : RESTART_AFTER_MS);
    }

    /** An ICE restart (also after the page's socket came back: frames may have been lost). */
    restart() {
      if (this.ended) return Promise.resolve();
      return this.offer(true).catch(() => {});
    }

    setMuted(muted) {
      this.muted = muted;
      this.applyTracks();
    }

    setCameraOff(off) {
      this.cameraOff = off;
      this.applyTracks();
    }

    /** Hold: nothing goes out while it lasts (the page tells the other side in the chat). */
    setHeld(held) {
      this.held = held;
      this.applyTracks();
    }

    applyTracks() {
      if (!this.localStream) return;
      for (const track of this.localStream.getAudioTracks()) track.enabled = !this.muted && !this.held;
      for (const track of this.localStream.getVideoTracks()) track.enabled = !this.cameraOff && !this.held;
    }

    /** The claimant's screen as an extra video track (after the agent asked and they agreed). */
    async shareScreen(onStopped) {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      this.screenStream = stream;
      const track = stream.getVideoTracks()[0];
      track.addEventListener("ended", () => {
        this.stopScreen();
        if (onStopped) onStopped();
      });
      this.screenSenders = [this.pc.addTrack(track, stream)];
      await this.offer(false);
    }

    async stopScreen() {
      if (!this.screenStream) return;
      for (const track of this.screenStream.getTracks()) track.stop();
      this.screenStream = null;
      for (const sender of this.screenSenders) {
        try {
          this.pc.removeTrack(sender);
        } catch (_) {
          /* the peer connection is closed */
        }
      }
      this.screenSenders = [];
      if (!this.ended) await this.offer(false).catch(() => {});
    }

    startStats() {
      if (this.statsTimer) return;
      this.statsTimer = window.setInterval(() => this.readStats(), STATS_EVERY_MS);
      this.qualityTimer = window.setInterval(() => this.qualityTick(), QUALITY_EVERY_MS);
      this.readStats();
    }

    qualityTick() {
      if (this.ended || this.state !== "connected") return;
      this.reportConnected(); // if the socket was away when the media connected
      this.reportQuality();
    }

    async readStats() {
      if (this.ended) return;
      const pc = this.pc;
      let report;
      try {
        report = await pc.getStats();
      } catch (_) {
        return;
      }
      // The call ended, or its peer was replaced, while getStats ran: this sample is stale.
      if (this.ended || pc !== this.pc) return;
      let rtt = null;
      let jitter = null;
      let lost = 0;
      let received = 0;
      let pairLocal = null;
      let pairRemote = null;
      const byId = new Map();
      report.forEach((stat) => byId.set(stat.id, stat));
      report.forEach((stat) => {
        if (stat.type === "transport" && stat.selectedCandidatePairId) {
          const pair = byId.get(stat.selectedCandidatePairId);
          if (pair && pair.currentRoundTripTime != null) rtt = pair.currentRoundTripTime;
          if (pair) {
            pairLocal = byId.get(pair.localCandidateId) || null;
            pairRemote = byId.get(pair.remoteCandidateId) || null;
          }
        }
        if (stat.type === "candidate-pair" && stat.nominated && stat.state === "succeeded" && rtt == null && stat.currentRoundTripTime != null) {
          rtt = stat.currentRoundTripTime;
        }
        if (stat.type === "inbound-rtp" && stat.kind === "audio") {
          if (stat.jitter != null) jitter = Math.max(jitter || 0, stat.jitter);
          lost += stat.packetsLost || 0;
          received += stat.packetsReceived || 0;
        }
      });
      this.summary.add(rtt, jitter, lost, received);
      // The indicator shows loss over the last interval, not since the start: a bad minute
      // an hour ago is over (the summary for the service keeps the whole call).
      let loss = null;
      if (this.lastInbound) {
        const newLost = lost - this.lastInbound.lost;
        const total = newLost + (received - this.lastInbound.received);
        loss = total > 0 ? Math.max(0, newLost) / total : 0;
      }
      this.lastInbound = { lost, received };
      this.lastPair = {
        local: pairLocal && (pairLocal.address || pairLocal.ip),
        remote: pairRemote && (pairRemote.address || pairRemote.ip),
      };
      const quality = { level: rateQuality(rtt, jitter, loss), rtt, jitter, loss };
      this.quality = quality;
      if (this.options.onQuality) this.options.onQuality(quality);
    }

    /** Hang up here: tell the other side, then stop everything. */
    hangUp(reason) {
      if (this.ended) return;
      // The summary goes first: once the hang-up is in, the call is over for the service.
      this.reportQuality();
      this.signal("hangup", { reason: reason || "ended" });
      this.finish(reason || "ended", "local");
    }

    finish(reason, by) {
      if (this.ended) return;
      this.ended = true;
      window.clearInterval(this.statsTimer);
      window.clearInterval(this.qualityTimer);
      window.clearTimeout(this.restartTimer);
      window.clearTimeout(this.graceTimer);
      for (const stream of [this.localStream, this.screenStream]) {
        if (stream) for (const track of stream.getTracks()) track.stop();
      }
      try {
        this.pc.close();
      } catch (_) {
        /* closed already */
      }
      this.setState("ended");
      if (this.options.onEnded) this.options.onEnded(reason, by);
    }

    /** Seconds since the media connected (0 before). */
    elapsedSeconds() {
      return this.connectedAt == null ? 0 : Math.floor((Date.now() - this.connectedAt) / 1000);
    }
  }

  /** "m:ss" or "h:mm:ss". */
  function formatTimer(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  window.SwitchboardCall = {
    Call,
    unsupportedReason,
    mediaErrorReason,
    getLocalMedia,
    fetchIceServers,
    rateQuality,
    formatTimer,
  };
})();
