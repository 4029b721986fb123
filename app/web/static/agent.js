/* Switchboard agent desk: sign in, presence, offers, one tab per conversation, transfer,
 * wrap-up. Plain JavaScript, no framework, nothing loaded from another origin.
 * The protocol is described in docs/realtime-protocol.md. */
"use strict";

(function () {
  const API = "/api/v1";
  const STORAGE_KEY = "switchboard.agent.session";
  const PING_INTERVAL_MS = 20000;
  const SILENCE_LIMIT_MS = 50000; // no frame at all for this long: the socket is dead
  const FLUSH_TIMEOUT_MS = 3000; // waiting for the server to handle a call hang-up, at most
  const REFRESH_MARGIN_S = 60; // refresh the access token this long before it expires
  const TYPING_IDLE_MS = 3000; // stop "typing" after this long without a keystroke
  const TYPING_REPEAT_MS = 4000; // repeat "typing: true" while typing continues
  const CUSTOMER_TYPING_TTL_MS = 8000; // hide the customer's typing indicator after this
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;

  const BUSY_REASONS = { break: "break", training: "training", meeting: "meeting",
    after_call_work: "after-call work", missed: "missed offer" };
  const CHANNEL_LABELS = { chat: "Chat", voice: "Phone call", video: "Video call",
    email: "Email", sms: "Text message", postal: "Postal mail", walk_in: "Walk-in" };
  const LANGUAGE_LABELS = { en: "English", es: "Spanish (Español)", vi: "Vietnamese",
    ru: "Russian", zh: "Chinese", ko: "Korean", tl: "Tagalog", so: "Somali", ar: "Arabic" };
  const CLOSE_REASONS = { completed: "completed", transferred: "transferred",
    abandoned: "the customer left", cancelled: "cancelled" };

  // ---------------------------------------------------------------- small helpers

  const $ = (selector, root) => (root || document).querySelector(selector);

  function show(el, visible) {
    if (el) el.hidden = !visible;
  }

  function setText(el, text) {
    if (el) el.textContent = text == null ? "" : String(text);
  }

  function randomId(prefix) {
    // crypto.randomUUID needs a secure context; getRandomValues works everywhere.
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function parseTime(value) {
    const ms = value ? Date.parse(value) : NaN;
    return Number.isFinite(ms) ? ms : null;
  }

  function formatDuration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  function formatClock(ms) {
    if (ms == null) return "";
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function formatDate(ms) {
    if (ms == null) return "";
    return new Date(ms).toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" });
  }

  function channelLabel(channel) {
    return CHANNEL_LABELS[channel] || channel || "Unknown channel";
  }

  function languageLabel(code) {
    if (!code) return "Not given";
    return LANGUAGE_LABELS[code] || code;
  }

  function firstName(name) {
    const trimmed = (name || "").trim();
    return trimmed ? trimmed.split(/\s+/)[0] : "";
  }

  function queueName(queue) {
    if (!queue) return "";
    if (typeof queue === "string") return queue;
    return queue.name || queue.id || "";
  }

  function isCallChannel(channel) {
    return channel === "voice" || channel === "video";
  }

  function announce(text, assertive) {
    const region = $(assertive ? "#announce-assertive" : "#announce-polite");
    // Clear first so the same sentence twice is still announced.
    region.textContent = "";
    window.setTimeout(() => { region.textContent = text; }, 50);
  }

  // ---------------------------------------------------------------- errors

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
    }
  }

  function networkProblem() {
    return new ApiError(0, { title: "No connection",
      detail: "The server could not be reached. Check the network and try again." });
  }

  /** Show a problem in `box`; field errors go to `fieldBoxes[field]` when one is given. */
  function showError(box, error, fieldBoxes) {
    const problem = (error && error.problem) || {};
    const unplaced = [];
    for (const el of Object.values(fieldBoxes || {})) {
      if (el) { el.textContent = ""; el.hidden = true; }
    }
    for (const item of problem.errors || []) {
      const field = String(item.field || "");
      const key = field.split(".").pop();
      const target = fieldBoxes && (fieldBoxes[field] || fieldBoxes[key]);
      if (target) {
        target.textContent = item.message || "Not valid.";
        target.hidden = false;
      } else {
        unplaced.push(field ? `${key}: ${item.message}` : item.message);
      }
    }
    let text = problem.title || (error && error.message) || "Something went wrong.";
    if (problem.detail && problem.detail !== problem.title) text += `: ${problem.detail}`;
    if (unplaced.length) text += ` (${unplaced.join("; ")})`;
    if (error && error.status === 429 && error.retryAfter) {
      text += ` Try again in ${error.retryAfter} s.`;
    }
    box.textContent = text;
    box.hidden = false;
  }

  function clearError(box, fieldBoxes) {
    if (box) { box.textContent = ""; box.hidden = true; }
    for (const el of Object.values(fieldBoxes || {})) {
      if (el) { el.textContent = ""; el.hidden = true; }
    }
  }

  // ---------------------------------------------------------------- session and REST

  const session = {
    access: null,
    refresh: null,
    expiresAt: 0, // epoch ms of the access token's expiry
    user: null, // {id, username, display_name}
    refreshTimer: null,
    refreshing: null, // the promise of a refresh in flight
  };

  function saveSession() {
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({
        access_token: session.access, refresh_token: session.refresh,
        expires_at: session.expiresAt, user: session.user,
      }));
    } catch (_) { /* storage may be disabled; the desk still works until reload */ }
  }

  function loadSession() {
    try {
      const raw = sessionStorage.getItem(STORAGE_KEY);
      if (!raw) return false;
      const saved = JSON.parse(raw);
      if (!saved || !saved.refresh_token) return false;
      session.access = saved.access_token;
      session.refresh = saved.refresh_token;
      session.expiresAt = Number(saved.expires_at) || 0;
      session.user = saved.user || null;
      return true;
    } catch (_) {
      return false;
    }
  }

  function clearSession() {
    session.access = null;
    session.refresh = null;
    session.expiresAt = 0;
    session.user = null;
    window.clearTimeout(session.refreshTimer);
    try { sessionStorage.removeItem(STORAGE_KEY); } catch (_) { /* ignore */ }
  }

  function acceptTokens(pair) {
    session.access = pair.access_token;
    session.refresh = pair.refresh_token;
    session.expiresAt = Date.now() + (Number(pair.expires_in) || 900) * 1000;
    if (pair.user) session.user = pair.user;
    saveSession();
    scheduleRefresh();
  }

  function scheduleRefresh() {
    window.clearTimeout(session.refreshTimer);
    if (!session.refresh) return;
    const inMs = Math.max(5000, session.expiresAt - Date.now() - REFRESH_MARGIN_S * 1000);
    session.refreshTimer = window.setTimeout(() => {
      refreshTokens().catch(() => { /* handled inside */ });
    }, inMs);
  }

  /** Exchange the refresh token once; concurrent callers share the same attempt. */
  function refreshTokens() {
    if (session.refreshing) return session.refreshing;
    const token = session.refresh;
    session.refreshing = (async () => {
      try {
        const pair = await request("POST", "/auth/refresh", { refresh_token: token }, { auth: false });
        acceptTokens(pair);
        return true;
      } catch (error) {
        if (error.status === 401 || error.status === 422) {
          signedOut("Your session has ended. Please sign in again.");
        } else {
          // A network hiccup: try again shortly while the access token may still work.
          window.clearTimeout(session.refreshTimer);
          session.refreshTimer = window.setTimeout(() => {
            refreshTokens().catch(() => {});
          }, 10000);
        }
        throw error;
      } finally {
        session.refreshing = null;
      }
    })();
    return session.refreshing;
  }

  async function request(method, path, body, options) {
    const opts = options || {};
    const headers = { Accept: "application/json, application/problem+json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.auth !== false && session.access) headers.Authorization = `Bearer ${session.access}`;
    let response;
    try {
      response = await fetch(API + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin", cache: "no-store",
      });
    } catch (_) {
      throw networkProblem();
    }
    if (response.status === 401 && opts.auth !== false && opts.retry !== false && session.refresh) {
      await refreshTokens();
      return request(method, path, body, { ...opts, retry: false });
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = { detail: text }; }
    }
    if (!response.ok) {
      const error = new ApiError(response.status, data || { title: response.statusText || `HTTP ${response.status}` });
      error.retryAfter = response.headers.get("Retry-After");
      throw error;
    }
    return data;
  }

  /** Every item of a list endpoint: a plain array, {items: [...]}, or pages of them. */
  async function listAll(path) {
    const items = [];
    let cursor = null;
    for (let page = 0; page < 20; page += 1) {
      const sep = path.includes("?") ? "&" : "?";
      const url = cursor ? `${path}${sep}limit=200&cursor=${encodeURIComponent(cursor)}` : `${path}${sep}limit=200`;
      const data = await request("GET", url);
      if (Array.isArray(data)) return data;
      const pageItems = (data && (data.items || data.results || data.canned_responses)) || [];
      items.push(...pageItems);
      cursor = data && data.next_cursor;
      if (!cursor) break;
    }
    return items;
  }

  // ---------------------------------------------------------------- desk state

  const desk = {
    agent: null, // {id, name}
    presence: { state: "offline", reason: null },
    offers: new Map(), // interaction id -> offer view
    chats: new Map(), // interaction id -> chat view
    order: [], // interaction ids in tab order
    activeId: null,
    early: new Map(), // frames for chats whose `chat` frame has not come yet
    justAccepted: null, // {id, focus}: accepted here, its `chat` frame not yet come
    dispositions: null, // promise of the list
    queues: null,
    canned: new Map(), // language -> promise: list, or null when the endpoint does not exist
    maxMessageChars: 2000,
  };

  // ---------------------------------------------------------------- websocket

  const socket = {
    ws: null,
    wanted: false, // false after sign-out: do not reconnect
    attempt: 0,
    reconnectTimer: null,
    pingTimer: null,
    lastFrameAt: 0,
    flushWaiters: [], // socketFlushed() promises waiting for their pong
  };

  function setConnection(text, tone) {
    const el = $("#connection");
    setText(el, text);
    el.dataset.tone = tone || "";
  }

  function lastSeqMap() {
    const map = {};
    for (const [id, chat] of desk.chats) map[id] = chat.lastSeq;
    return map;
  }

  function connect() {
    window.clearTimeout(socket.reconnectTimer);
    if (!socket.wanted || !session.access) return;
    if (socket.ws && socket.ws.readyState <= WebSocket.OPEN) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(`${scheme}//${location.host}/ws/agent`);
    } catch (_) {
      scheduleReconnect();
      return;
    }
    socket.ws = ws;
    setConnection(socket.attempt ? "Reconnecting…" : "Connecting…", "pending");
    ws.addEventListener("open", () => {
      socket.lastFrameAt = Date.now();
      ws.send(JSON.stringify({ type: "hello", token: session.access, last_seq: lastSeqMap() }));
      window.clearInterval(socket.pingTimer);
      socket.pingTimer = window.setInterval(() => heartbeat(ws), PING_INTERVAL_MS);
    });
    ws.addEventListener("message", (event) => {
      if (ws !== socket.ws) return;
      socket.lastFrameAt = Date.now();
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      if (frame && typeof frame.type === "string") handleFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (ws !== socket.ws) return;
      window.clearInterval(socket.pingTimer);
      socket.ws = null;
      onSocketClosed(event.code, event.reason);
    });
  }

  function heartbeat(ws) {
    if (ws !== socket.ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - socket.lastFrameAt > SILENCE_LIMIT_MS) {
      ws.close(4000, "silent");
      return;
    }
    sendFrame({ type: "ping" });
  }

  function sendFrame(frame) {
    const ws = socket.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    if (frame.type === "ping") ws.pingsSent = (ws.pingsSent || 0) + 1;
    return true;
  }

  /**
   * Resolves once the server has handled every frame sent so far (it handles a socket's
   * frames in order, so the pong to a ping sent now comes after them), after `timeoutMs`
   * at the latest, at once without a socket. A REST call that must come after a frame
   * (the transfer after the call's hang-up) waits for it: the two travel apart.
   */
  function socketFlushed(timeoutMs) {
    const ws = socket.ws;
    if (!sendFrame({ type: "ping" })) return Promise.resolve();
    const target = ws.pingsSent;
    return new Promise((resolve) => {
      const waiter = { ws, target, resolve: () => { window.clearTimeout(waiter.timer); resolve(); } };
      waiter.timer = window.setTimeout(() => {
        socket.flushWaiters = socket.flushWaiters.filter((other) => other !== waiter);
        resolve();
      }, timeoutMs);
      socket.flushWaiters.push(waiter);
    });
  }

  function onPong() {
    const ws = socket.ws;
    if (!ws) return;
    ws.pongsSeen = (ws.pongsSeen || 0) + 1;
    const done = socket.flushWaiters.filter((waiter) => waiter.ws === ws && waiter.target <= ws.pongsSeen);
    socket.flushWaiters = socket.flushWaiters.filter((waiter) => !done.includes(waiter));
    for (const waiter of done) waiter.resolve();
  }

  function onSocketClosed(code) {
    if (!socket.wanted) return;
    if (code === 4401) {
      // The token expired or was revoked: get a new one, then reconnect at once.
      setConnection("Renewing sign-in…", "pending");
      refreshTokens().then(() => { socket.attempt = 0; connect(); }, () => {});
      return;
    }
    if (code === 4403) {
      socket.wanted = false;
      setConnection("This account may not use the agent desk.", "error");
      return;
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (!socket.wanted) return;
    socket.attempt += 1;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (socket.attempt - 1));
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    setConnection(`Disconnected. Reconnecting in ${Math.ceil(delay / 1000)} s…`, "error");
    window.clearTimeout(socket.reconnectTimer);
    socket.reconnectTimer = window.setTimeout(connect, delay);
  }

  function disconnect() {
    socket.wanted = false;
    window.clearTimeout(socket.reconnectTimer);
    window.clearInterval(socket.pingTimer);
    const ws = socket.ws;
    socket.ws = null;
    if (ws) ws.close(1000, "signed out");
  }

  window.addEventListener("online", () => {
    if (socket.wanted && !socket.ws) { socket.attempt = 0; connect(); }
  });

  // ---------------------------------------------------------------- frames

  function handleFrame(frame) {
    switch (frame.type) {
      case "welcome": return onWelcome(frame);
      case "presence": return renderPresence(frame);
      case "offer": return addOffer(frame);
      case "offer_ended": return removeOffer(frame.interaction_id, frame.reason);
      case "chat": return upsertChat(frame);
      case "message": return withChat(frame, (chat) => addMessage(chat, frame, true));
      case "typing": return withChat(frame, (chat) => customerTyping(chat, frame));
      case "read": return withChat(frame, (chat) => markRead(chat, frame.seq));
      case "customer_presence": return withChat(frame, (chat) => setCustomerConnected(chat, frame.connected, frame.left));
      case "wrap_up": return withChat(frame, (chat) => startWrapUp(chat, frame.ends_at));
      case "chat_closed": return closeChat(frame.interaction_id, frame.reason);
      case "signal": return withChat(frame, (chat) => onCallSignal(chat, frame));
      case "call_accept": return withChat(frame, (chat) => onInviteAnswered(chat, true));
      case "call_decline": return withChat(frame, (chat) => onInviteAnswered(chat, false));
      case "error": return onSocketError(frame);
      case "pong": return onPong();
      default: return undefined; // anything newer
    }
  }

  function withChat(frame, fn) {
    const chat = desk.chats.get(frame.interaction_id);
    if (chat) {
      fn(chat);
    } else if (frame.interaction_id) {
      // The chat's own frame may still be on its way: keep this one until it comes.
      const list = desk.early.get(frame.interaction_id) || [];
      list.push(frame);
      desk.early.set(frame.interaction_id, list);
    }
  }

  function onWelcome(frame) {
    socket.attempt = 0;
    setConnection("Connected", "ok");
    if (frame.agent) {
      desk.agent = frame.agent;
      setText($("#agent-name"), frame.agent.name || (session.user && session.user.display_name) || "");
    }
    if (frame.presence) renderPresence(frame.presence);
    const offerIds = new Set((frame.offers || []).map((offer) => offer.interaction_id));
    for (const id of [...desk.offers.keys()]) {
      if (!offerIds.has(id)) removeOffer(id, "revoked", true);
    }
    for (const offer of frame.offers || []) addOffer({ type: "offer", ...offer });
    const chatIds = new Set((frame.chats || []).map((chat) => chat.interaction_id));
    for (const id of [...desk.chats.keys()]) {
      if (!chatIds.has(id)) closeChat(id, null);
    }
    for (const chat of frame.chats || []) upsertChat({ type: "chat", ...chat });
    // Signaling sent while the socket was away is lost: set the media path up again.
    for (const chat of desk.chats.values()) {
      if (chat.call && !chat.call.ended && chat.call.connectedAt != null) chat.call.restart();
    }
  }

  const QUIET_CALL_ERRORS = new Set(["not_a_call", "call_not_active", "not_your_call", "unknown_call", "no_call_invite"]);

  function onSocketError(frame) {
    // The socket only carries typing, read and ping from the desk: an error about one of
    // those (say, typing in a chat that just closed) is not worth interrupting anyone for.
    const text = frame.detail || frame.code || "The server refused a request.";
    if (window.console) console.warn("desk socket error:", frame.code, text);
    if (frame.code === "not_your_chat" || frame.field === "seq" || frame.field === "interaction_id") return;
    // A call frame that crossed the end of its call (say, a late ICE candidate): nothing to do.
    if (QUIET_CALL_ERRORS.has(frame.code)) return;
    const chat = frame.interaction_id && desk.chats.get(frame.interaction_id);
    if (chat) {
      chat.el.composerError.textContent = text;
      chat.el.composerError.hidden = false;
      return;
    }
    setConnection(text, "error");
    window.setTimeout(() => {
      if (socket.ws && socket.ws.readyState === WebSocket.OPEN) setConnection("Connected", "ok");
    }, 6000);
  }

  // ---------------------------------------------------------------- presence

  function presenceValue(state, reason) {
    return state === "busy" ? `busy:${reason || ""}` : state;
  }

  function renderPresence(presence) {
    desk.presence = { state: presence.state, reason: presence.reason || null };
    const select = $("#presence-select");
    const value = presenceValue(presence.state, presence.reason);
    if (![...select.options].some((o) => o.value === value)) {
      // A state the server chose (e.g. busy after a missed offer): list it so it shows.
      const option = document.createElement("option");
      option.value = value;
      option.textContent = presence.state === "busy"
        ? `Busy: ${BUSY_REASONS[presence.reason] || String(presence.reason || "").replace(/_/g, " ")}`
        : presence.state;
      option.dataset.dynamic = "true";
      select.insertBefore(option, select.lastElementChild);
    }
    select.value = value;
    const dot = $("#presence-dot");
    dot.dataset.state = presence.state;
    let text = presence.state === "available" ? "Receiving offers"
      : presence.state === "busy" ? "Not receiving offers" : "Offline";
    if (presence.state === "busy" && presence.reason === "missed") text = "Missed an offer: set Available to continue";
    setText($("#presence-text"), text);
  }

  async function changePresence() {
    const select = $("#presence-select");
    const errorBox = $("#presence-error");
    const [state, reason] = select.value.split(":");
    const previous = presenceValue(desk.presence.state, desk.presence.reason);
    clearError(errorBox);
    select.disabled = true;
    try {
      const id = (desk.agent && desk.agent.id) || (session.user && session.user.id);
      const body = { state, reason: state === "busy" ? reason || "break" : null };
      const answer = await request("PUT", `/agents/${encodeURIComponent(id)}/presence`, body);
      renderPresence(answer && answer.state ? answer : body);
    } catch (error) {
      select.value = previous;
      showError(errorBox, error);
    } finally {
      select.disabled = false;
    }
  }

  // ---------------------------------------------------------------- offers

  function addOffer(frame) {
    const id = frame.interaction_id;
    // An id that is still open as a tab is being offered again (e.g. transferred back to
    // this agent's queue): show the offer; chat_closed removes the old tab.
    if (!id) return;
    let offer = desk.offers.get(id);
    const isNew = !offer;
    if (!offer) {
      const node = $("#offer-template").content.firstElementChild.cloneNode(true);
      offer = { id, node, data: frame, busy: false };
      node.dataset.interactionId = id;
      node.setAttribute("aria-labelledby", `offer-title-${id}`);
      $(".offer-title", node).id = `offer-title-${id}`;
      $(".offer-accept", node).addEventListener("click", () => answerOffer(offer, "accept"));
      $(".offer-reject", node).addEventListener("click", () => answerOffer(offer, "reject"));
      desk.offers.set(id, offer);
      $("#offers").appendChild(node);
    }
    offer.data = frame;
    offer.queuedAt = parseTime(frame.queued_at);
    offer.expiresAt = parseTime(frame.expires_at);
    if (isNew) offer.totalMs = offer.expiresAt ? Math.max(1000, offer.expiresAt - Date.now()) : null;
    const node = offer.node;
    const customer = frame.customer || {};
    node.dataset.channel = frame.channel || "";
    setText($(".offer-title", node), `New ${channelLabel(frame.channel).toLowerCase()}: ${customer.name || "Customer"}`);
    setText($(".f-channel", node), channelLabel(frame.channel));
    setText($(".f-queue", node), queueName(frame.queue));
    setText($(".f-customer", node), customer.name || "Not given");
    setText($(".f-language", node), languageLabel(customer.language));
    setText($(".f-topic", node), frame.topic || "Not given");
    renderHistory($(".history-list", node), frame.history || []);
    tickOffer(offer);
    if (isNew) {
      const seconds = offer.expiresAt ? Math.round((offer.expiresAt - Date.now()) / 1000) : null;
      announce(`New ${channelLabel(frame.channel).toLowerCase()} offer from ${customer.name || "a customer"}, ` +
        `${languageLabel(customer.language)}, ${queueName(frame.queue)}` +
        (frame.topic ? `, about ${frame.topic}` : "") +
        (seconds != null ? `. Accept or reject within ${seconds} seconds.` : "."), true);
    }
  }

  function renderHistory(list, history) {
    list.replaceChildren();
    if (!history.length) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = "None on record.";
      list.appendChild(li);
      return;
    }
    for (const item of history.slice(0, 10)) {
      const li = document.createElement("li");
      const parts = [formatDate(parseTime(item.created_at)), channelLabel(item.channel)];
      if (item.topic) parts.push(item.topic);
      if (item.state) parts.push(String(item.state).replace(/_/g, " "));
      li.textContent = parts.filter(Boolean).join(" · ");
      list.appendChild(li);
    }
    if (history.length > 10) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = `and ${history.length - 10} more`;
      list.appendChild(li);
    }
  }

  function tickOffer(offer) {
    const now = Date.now();
    const node = offer.node;
    if (offer.queuedAt != null) setText($(".f-waited", node), formatDuration((now - offer.queuedAt) / 1000));
    else setText($(".f-waited", node), "Unknown");
    const text = $(".offer-countdown-text", node);
    const bar = $(".offer-progress", node);
    if (offer.expiresAt == null) {
      setText(text, "");
      bar.hidden = true;
      return;
    }
    const left = Math.max(0, (offer.expiresAt - now) / 1000);
    setText(text, left > 0 ? `Expires in ${Math.ceil(left)} s` : "Expiring…");
    bar.value = offer.totalMs ? Math.max(0, Math.min(1, (left * 1000) / offer.totalMs)) : 0;
    node.classList.toggle("urgent", left <= 10);
  }

  async function answerOffer(offer, action) {
    if (offer.busy) return;
    offer.busy = true;
    const node = offer.node;
    const errorBox = $(".offer-error", node);
    clearError(errorBox);
    for (const button of node.querySelectorAll("button")) button.disabled = true;
    try {
      await request("POST", `/interactions/${encodeURIComponent(offer.id)}/${action}`);
      // offer_ended and (for accept) chat frames follow; do not wait for them to tidy up.
      const hadFocus = node.contains(document.activeElement) || document.activeElement === document.body;
      removeOffer(offer.id, action === "accept" ? "accepted" : "rejected", true);
      if (action === "accept") {
        // The agent chose this conversation: show it (now, or when its frame comes).
        if (desk.chats.has(offer.id)) openAccepted(offer.id, hadFocus);
        else desk.justAccepted = { id: offer.id, focus: hadFocus };
      }
    } catch (error) {
      showError(errorBox, error);
      offer.busy = false;
      for (const button of node.querySelectorAll("button")) button.disabled = false;
      if (error.status === 404 || error.status === 409) {
        for (const button of node.querySelectorAll("button")) button.disabled = true;
        window.setTimeout(() => removeOffer(offer.id, "timed_out", true), 4000);
      }
    }
  }

  function openAccepted(id, focus) {
    const chat = desk.chats.get(id);
    if (!chat) return;
    selectTab(id, false);
    if (focus) (isCallChannel(chat.channel) ? chat.el.endButton : chat.el.input).focus();
  }

  function removeOffer(id, reason, quiet) {
    const offer = desk.offers.get(id);
    if (!offer) return;
    const hadFocus = offer.node.contains(document.activeElement);
    offer.node.remove();
    desk.offers.delete(id);
    if (!quiet && reason === "timed_out") announce("The offer timed out and went to someone else.", false);
    if (!quiet && reason === "revoked") announce("The offer was withdrawn.", false);
    if (hadFocus) {
      const next = $("#offers .offer-accept") || (desk.chats.has(id) ? desk.chats.get(id).el.tab : null);
      if (next) next.focus();
      else $("#presence-select").focus();
    }
  }

  // ---------------------------------------------------------------- chats and tabs

  function upsertChat(frame) {
    const id = frame.interaction_id;
    if (!id) return;
    removeOffer(id, "accepted", true);
    let chat = desk.chats.get(id);
    const isNew = !chat;
    if (!chat) chat = createChat(id);
    chat.data = { ...chat.data, ...frame };
    chat.channel = frame.channel || chat.channel || "chat";
    renderChatDetails(chat);
    if (frame.customer_connected != null) setCustomerConnected(chat, frame.customer_connected);
    if (frame.state === "wrap_up") startWrapUp(chat, frame.wrap_up_ends_at);
    if (isNew) {
      const early = desk.early.get(id) || [];
      desk.early.delete(id);
      for (const queued of early) handleFrame(queued);
      if (desk.justAccepted && desk.justAccepted.id === id) {
        openAccepted(id, desk.justAccepted.focus);
        desk.justAccepted = null;
      } else if (!desk.activeId) {
        selectTab(id, false);
      }
      if (!isCallChannel(chat.channel)) loadCanned(chat);
      // A page opened afresh knows none of the transcript: fetch what the socket did not replay.
      window.setTimeout(() => backfill(chat), 800);
    }
    updateEmptyState();
  }

  function createChat(id) {
    const tab = document.createElement("button");
    tab.type = "button";
    tab.className = "tab";
    tab.id = `tab-${id}`;
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-selected", "false");
    tab.setAttribute("aria-controls", `panel-${id}`);
    tab.tabIndex = -1;
    tab.dataset.interactionId = id;
    const tabName = document.createElement("span");
    tabName.className = "tab-name";
    const tabState = document.createElement("span");
    tabState.className = "tab-state";
    const unread = document.createElement("span");
    unread.className = "unread";
    unread.hidden = true;
    tab.append(tabName, tabState, unread);

    const panel = $("#panel-template").content.firstElementChild.cloneNode(true);
    panel.id = `panel-${id}`;
    panel.setAttribute("aria-labelledby", tab.id);
    panel.hidden = true;
    panel.dataset.interactionId = id;

    const el = {
      tab, tabName, tabState, unread, panel,
      messages: $(".messages", panel),
      typing: $(".typing", panel),
      composer: $(".composer", panel),
      input: $(".composer-input", panel),
      send: $(".send", panel),
      composerError: $(".composer-error", panel),
      canned: $(".canned", panel),
      cannedLabel: $(".canned-label", panel),
      actionsError: $(".actions-error", panel),
      endButton: $(".end", panel),
      endConfirm: $(".end-confirm", panel),
      transferButton: $(".transfer", panel),
      note: $(".transfer-note", panel),
      callCard: $(".call-card", panel),
      endedNote: $(".ended-note", panel),
      disconnected: $(".disconnected", panel),
      wrapup: $(".wrapup", panel),
      wrapupCountdown: $(".wrapup-countdown", panel),
      wrapupError: $(".wrapup-error", panel),
      dispositions: $(".dispositions", panel),
      webCall: $(".web-call", panel),
      callStatus: $(".web-call-status", panel),
      callTimer: $(".web-call-timer", panel),
      callQuality: $(".web-call-quality", panel),
      callVideos: $(".web-call-videos", panel),
      callRemote: $(".web-call-remote", panel),
      callScreen: $(".web-call-screen", panel),
      callLocal: $(".web-call-local", panel),
      callAudio: $(".web-call-audio", panel),
      callError: $(".web-call-error", panel),
      callControls: $(".web-call-controls", panel),
      callMute: $(".call-mute", panel),
      callCamera: $(".call-camera", panel),
      callHold: $(".call-hold", panel),
      callShareAsk: $(".call-share-ask", panel),
      callHangup: $(".call-hangup", panel),
      inviteVoice: $(".invite-voice", panel),
      inviteVideo: $(".invite-video", panel),
    };
    // Ids for the labels inside the cloned template.
    el.input.id = `input-${id}`;
    $(".composer-label", panel).htmlFor = el.input.id;
    el.messages.setAttribute("aria-label", "Messages");
    const notes = $(".wrapup-notes", panel);
    notes.id = `wrapup-notes-${id}`;
    $(".wrapup-notes-label", panel).htmlFor = notes.id;
    const followUp = $(".wrapup-followup", panel);
    followUp.id = `wrapup-followup-${id}`;
    $(".wrapup-followup-label", panel).htmlFor = followUp.id;
    const followUpError = $(".wrapup-followup-error", panel);
    followUpError.id = `wrapup-followup-error-${id}`;
    followUp.setAttribute("aria-describedby", followUpError.id);
    const notesError = $(".wrapup-notes-error", panel);
    notesError.id = `wrapup-notes-error-${id}`;
    notes.setAttribute("aria-describedby", notesError.id);
    const dispositionsError = $(".wrapup-dispositions-error", panel);
    dispositionsError.id = `wrapup-dispositions-error-${id}`;
    $(".dispositions", panel).setAttribute("aria-describedby", dispositionsError.id);
    const composerError = $(".composer-error", panel);
    composerError.id = `composer-error-${id}`;
    el.input.setAttribute("aria-describedby", composerError.id);
    const followUpNote = $(".wrapup-followup-note", panel);
    followUpNote.id = `wrapup-followup-note-${id}`;
    $(".wrapup-followup-note-label", panel).htmlFor = followUpNote.id;
    // The server takes follow-ups up to 90 days ahead.
    const localIso = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    followUp.min = localIso(Date.now() + 60000);
    followUp.max = localIso(Date.now() + 89 * 86400000);
    el.input.maxLength = desk.maxMessageChars;

    const chat = {
      id, el, data: {}, channel: "chat",
      lastSeq: 0, // highest seq received over the socket (sent back in hello)
      seen: new Set(), // every seq shown
      pending: new Map(), // client_message_id -> message element
      unread: 0,
      readUpTo: 0, // highest customer seq we told the server we read
      customerReadSeq: 0,
      typingSent: false, typingTimer: null, typingSentAt: 0,
      customerTypingTimer: null,
      wrapUpEndsAt: null, wrapUpOpen: false, finishing: false,
      ended: false,
      call: null, // a SwitchboardCall.Call while a browser call runs
      webCall: false, // the customer's browser set up a call here (a web call, not telephony)
      callChain: Promise.resolve(),
      inviteMedia: null, // "voice" | "video" once the customer accepted an invite
    };
    desk.chats.set(id, chat);
    desk.order.push(id);
    $("#tablist").appendChild(tab);
    $("#panels").appendChild(panel);

    tab.addEventListener("click", () => selectTab(id, true));
    tab.addEventListener("keydown", onTabKeydown);
    el.composer.addEventListener("submit", (event) => { event.preventDefault(); sendMessage(chat); });
    el.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendMessage(chat);
      }
    });
    el.input.addEventListener("input", () => agentTyping(chat));
    el.input.addEventListener("blur", () => stopTyping(chat));
    el.canned.addEventListener("change", () => insertCanned(chat));
    el.transferButton.addEventListener("click", () => openTransfer(chat));
    el.endButton.addEventListener("click", () => askEnd(chat, true));
    $(".end-no", panel).addEventListener("click", () => askEnd(chat, false));
    $(".end-yes", panel).addEventListener("click", () => endChat(chat));
    el.callMute.addEventListener("click", () => toggleCallButton(chat, el.callMute, (on) => chat.call.setMuted(on)));
    el.callCamera.addEventListener("click", () => toggleCallButton(chat, el.callCamera, (on) => chat.call.setCameraOff(on)));
    el.callHold.addEventListener("click", () => toggleHold(chat));
    el.callShareAsk.addEventListener("click", () => askScreenShare(chat));
    el.callHangup.addEventListener("click", () => hangUpCall(chat, "ended"));
    el.inviteVoice.addEventListener("click", () => inviteToCall(chat, "voice"));
    el.inviteVideo.addEventListener("click", () => inviteToCall(chat, "video"));
    el.wrapup.addEventListener("submit", (event) => { event.preventDefault(); finishWrapUp(chat); });
    panel.addEventListener("focusin", () => { if (desk.activeId === id) markSeen(chat); });
    return chat;
  }

  function renderChatDetails(chat) {
    const data = chat.data;
    const customer = data.customer || {};
    const panel = chat.el.panel;
    const name = customer.name || "Customer";
    setText(chat.el.tabName, name);
    setText($(".c-name", panel), customer.name || "Not given");
    setText($(".c-language", panel), languageLabel(customer.language));
    setText($(".c-email", panel), customer.email || "Not given");
    setText($(".c-phone", panel), customer.phone || "");
    show($(".c-phone", panel).parentElement, Boolean(customer.phone));
    if (Array.isArray(data.history)) {
      renderHistory($(".side-history-list", panel), data.history);
      show($(".side-history", panel), true);
    }
    setText($(".c-case", panel), customer.case_number || "Not given");
    setText($(".c-topic", panel), data.topic || "Not given");
    setText($(".c-queue", panel), queueName(data.queue));
    setText($(".c-channel", panel), channelLabel(chat.channel));
    setText($(".c-accepted", panel), data.accepted_at ? formatClock(parseTime(data.accepted_at)) : "");
    panel.dataset.channel = chat.channel;

    // A call from a telephony platform has no text beside it; a call from the web page has.
    const call = isCallChannel(chat.channel) && !chat.webCall;
    show(chat.el.callCard, call);
    show(chat.el.messages, !call);
    show(chat.el.typing, !call);
    show(chat.el.composer, !call && !chat.ended);
    const canInvite = chat.channel === "chat" && !chat.ended && !(chat.call && !chat.call.ended);
    show(chat.el.inviteVoice, canInvite);
    show(chat.el.inviteVideo, canInvite);
    setText($(".call-title", panel), `${channelLabel(chat.channel)} with ${name}`);
    setText(chat.el.endButton, call ? "End call" : "End chat");
    setText($(".end-confirm-text", panel), call ? "End this call?" : "End this conversation?");

    if (data.note) {
      setText($(".transfer-note-text", panel), data.note);
      show(chat.el.note, true);
    } else {
      show(chat.el.note, false);
    }
    updateTabState(chat);
  }

  function updateTabState(chat) {
    let state = chat.channel !== "chat" ? channelLabel(chat.channel) : "";
    if (chat.wrapUpOpen) state = "Wrap-up";
    else if (chat.data.customer_connected === false) state = "Disconnected";
    setText(chat.el.tabState, state);
    chat.el.tab.dataset.state = chat.wrapUpOpen ? "wrap_up" : "active";
    const n = chat.unread;
    show(chat.el.unread, n > 0);
    setText(chat.el.unread, n > 99 ? "99+" : String(n));
    chat.el.unread.setAttribute("aria-label", `${n} unread`);
    updateTitle();
  }

  function updateTitle() {
    let unread = 0;
    for (const chat of desk.chats.values()) unread += chat.unread;
    const offers = desk.offers.size;
    const prefix = offers ? `(${offers} offer${offers > 1 ? "s" : ""}) ` : unread ? `(${unread}) ` : "";
    document.title = `${prefix}Switchboard agent desk`;
  }

  function updateEmptyState() {
    show($("#no-chats"), desk.chats.size === 0);
  }

  function selectTab(id, focus) {
    const chat = desk.chats.get(id);
    if (!chat) return;
    desk.activeId = id;
    for (const [otherId, other] of desk.chats) {
      const active = otherId === id;
      other.el.tab.setAttribute("aria-selected", active ? "true" : "false");
      other.el.tab.tabIndex = active ? 0 : -1;
      other.el.panel.hidden = !active;
    }
    if (focus) chat.el.tab.focus();
    markSeen(chat);
    scrollToEnd(chat);
  }

  function onTabKeydown(event) {
    const ids = desk.order.filter((id) => desk.chats.has(id));
    const index = ids.indexOf(event.currentTarget.dataset.interactionId);
    let next = null;
    if (event.key === "ArrowRight") next = ids[(index + 1) % ids.length];
    else if (event.key === "ArrowLeft") next = ids[(index - 1 + ids.length) % ids.length];
    else if (event.key === "Home") next = ids[0];
    else if (event.key === "End") next = ids[ids.length - 1];
    if (next) {
      event.preventDefault();
      selectTab(next, true);
    }
  }

  function closeChat(id, reason) {
    const chat = desk.chats.get(id);
    if (!chat) return;
    if (transfer.chat === chat) closeTransfer();
    const hadFocus = chat.el.panel.contains(document.activeElement) || chat.el.tab === document.activeElement;
    window.clearTimeout(chat.typingTimer);
    window.clearTimeout(chat.customerTypingTimer);
    if (chat.call) chat.call.finish("closed", "local");
    chat.el.tab.remove();
    chat.el.panel.remove();
    desk.chats.delete(id);
    desk.order = desk.order.filter((other) => other !== id);
    const name = (chat.data.customer && chat.data.customer.name) || "the customer";
    if (reason) announce(`Conversation with ${name} closed: ${CLOSE_REASONS[reason] || reason}.`, false);
    if (desk.activeId === id) {
      desk.activeId = null;
      const next = desk.order[0];
      if (next) selectTab(next, hadFocus);
      else if (hadFocus) $("#conversations").focus();
    }
    updateEmptyState();
    updateTitle();
  }

  // ---------------------------------------------------------------- messages

  function messageAuthorLabel(frame) {
    if (frame.from === "system") return frame.author || "System";
    if (frame.from === "agent") return frame.author || "Agent";
    if (frame.from === "supervisor") return `${frame.author || "Supervisor"} (supervisor)`;
    return frame.author || "Customer";
  }

  function buildMessage(frame) {
    const li = document.createElement("li");
    li.className = `message from-${frame.from || "customer"}`;
    const meta = document.createElement("p");
    meta.className = "meta";
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = messageAuthorLabel(frame);
    const time = document.createElement("time");
    const at = parseTime(frame.sent_at) || Date.now();
    time.dateTime = new Date(at).toISOString();
    time.textContent = formatClock(at);
    const status = document.createElement("span");
    status.className = "status";
    meta.append(author, " ", time, " ", status);
    if (frame.internal) {
      li.classList.add("internal");
      const tag = document.createElement("span");
      tag.className = "internal-tag";
      tag.textContent = "Internal note, not shown to the customer";
      meta.append(" ", tag);
    }
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = frame.body == null ? "" : String(frame.body); // never HTML
    li.append(meta, body);
    return li;
  }

  function setMessageSeq(li, seq) {
    if (seq == null) return;
    li.dataset.seq = String(seq);
  }

  function setStatus(li, text, tone) {
    const status = $(".status", li);
    status.textContent = text;
    li.dataset.status = tone || "";
  }

  /** Insert in seq order (pending messages, which have no seq yet, stay at the end). */
  function placeMessage(chat, li, seq) {
    const list = chat.el.messages;
    if (seq != null) {
      for (const other of list.children) {
        const otherSeq = other.dataset.seq ? Number(other.dataset.seq) : Infinity;
        if (otherSeq > seq) {
          list.insertBefore(li, other);
          return;
        }
      }
    }
    list.appendChild(li);
  }

  function addMessage(chat, frame, fromSocket) {
    const seq = Number(frame.seq);
    const hasSeq = Number.isFinite(seq);
    if (hasSeq && fromSocket && seq > chat.lastSeq) chat.lastSeq = seq;
    const cmid = frame.client_message_id;
    const pending = cmid ? chat.pending.get(cmid) : null;
    if (pending) {
      // Our own message, confirmed: keep the element, give it its place and seq.
      chat.pending.delete(cmid);
      if (hasSeq) chat.seen.add(seq);
      setMessageSeq(pending, hasSeq ? seq : null);
      if (frame.author) setText($(".author", pending), messageAuthorLabel(frame));
      setText($(".body", pending), frame.body == null ? $(".body", pending).textContent : frame.body);
      setStatus(pending, hasSeq && seq <= chat.customerReadSeq ? "Read" : "Sent", hasSeq && seq <= chat.customerReadSeq ? "read" : "sent");
      pending.remove();
      placeMessage(chat, pending, hasSeq ? seq : null);
      return;
    }
    if (hasSeq && chat.seen.has(seq)) return; // shown already (replay or REST answer)
    if (hasSeq) chat.seen.add(seq);
    const li = buildMessage(frame);
    setMessageSeq(li, hasSeq ? seq : null);
    if (frame.from === "agent") {
      const read = hasSeq && seq <= chat.customerReadSeq;
      setStatus(li, read ? "Read" : "Sent", read ? "read" : "sent");
    }
    placeMessage(chat, li, hasSeq ? seq : null);
    if (frame.from === "customer") {
      hideCustomerTyping(chat);
      if (isViewing(chat)) {
        sendRead(chat);
      } else if (!hasSeq || seq > chat.readUpTo) {
        chat.unread += 1;
        updateTabState(chat);
        if (fromSocket && !isViewing(chat)) {
          announce(`New message from ${(chat.data.customer && chat.data.customer.name) || "the customer"}.`, false);
        }
      }
    }
    scrollToEnd(chat);
  }

  function scrollToEnd(chat) {
    const list = chat.el.messages;
    list.scrollTop = list.scrollHeight;
  }

  async function backfill(chat) {
    if (!desk.chats.has(chat.id) || isCallChannel(chat.channel)) return;
    const known = Number(chat.data.last_seq) || 0;
    if (chat.seen.size >= known && known > 0) return;
    try {
      const data = await request("GET", `/chats/${encodeURIComponent(chat.id)}/messages?after_seq=0`);
      const messages = (data && (data.messages || data.items)) || (Array.isArray(data) ? data : []);
      for (const message of messages) {
        if (!desk.chats.has(chat.id)) return;
        addMessage(chat, { interaction_id: chat.id, ...message }, false);
      }
    } catch (_) {
      // Not available to staff, or not a chat: the socket replay is all we show.
    }
  }

  function isViewing(chat) {
    return desk.activeId === chat.id && document.visibilityState === "visible";
  }

  /** The agent is looking at this conversation: clear unread and send a read receipt. */
  function markSeen(chat) {
    if (!isViewing(chat)) return;
    if (chat.unread) {
      chat.unread = 0;
      updateTabState(chat);
    }
    sendRead(chat);
  }

  function sendRead(chat) {
    let highest = 0;
    for (const li of chat.el.messages.querySelectorAll(".message.from-customer")) {
      const seq = Number(li.dataset.seq);
      if (Number.isFinite(seq) && seq > highest) highest = seq;
    }
    if (highest > chat.readUpTo && sendFrame({ type: "read", interaction_id: chat.id, seq: highest })) {
      chat.readUpTo = highest;
    }
  }

  function markRead(chat, seq) {
    const upTo = Number(seq);
    if (!Number.isFinite(upTo) || upTo <= chat.customerReadSeq) return;
    chat.customerReadSeq = upTo;
    for (const li of chat.el.messages.querySelectorAll(".message.from-agent")) {
      const own = Number(li.dataset.seq);
      if (Number.isFinite(own) && own <= upTo && li.dataset.status !== "read") setStatus(li, "Read", "read");
    }
  }

  document.addEventListener("visibilitychange", () => {
    const chat = desk.activeId && desk.chats.get(desk.activeId);
    if (chat) markSeen(chat);
  });

  async function sendMessage(chat, retryOf) {
    const input = chat.el.input;
    const errorBox = chat.el.composerError;
    clearError(errorBox);
    let cmid;
    let body;
    let li;
    if (retryOf) {
      ({ cmid, body, li } = retryOf);
      setStatus(li, "Sending…", "pending");
      $(".retry", li) && $(".retry", li).remove();
    } else {
      body = input.value.trim();
      if (!body) {
        showError(errorBox, { problem: { title: "Type a message first." } });
        return;
      }
      if (body.length > desk.maxMessageChars) {
        showError(errorBox, { problem: { title: `Messages are limited to ${desk.maxMessageChars} characters.` } });
        return;
      }
      cmid = randomId("a-");
      li = buildMessage({ from: "agent", author: (desk.agent && desk.agent.name) || "You", body, sent_at: new Date().toISOString() });
      li.classList.add("own");
      li.dataset.clientMessageId = cmid;
      setStatus(li, "Sending…", "pending");
      chat.pending.set(cmid, li);
      placeMessage(chat, li, null);
      scrollToEnd(chat);
      input.value = "";
      stopTyping(chat);
    }
    try {
      const answer = await request("POST", `/chats/${encodeURIComponent(chat.id)}/messages`, { client_message_id: cmid, body });
      const message = answer && (answer.message || answer);
      if (chat.pending.has(cmid) && message && message.seq != null) {
        addMessage(chat, { ...message, from: message.from || "agent", client_message_id: cmid, body: message.body || body }, false);
      } else if (chat.pending.has(cmid)) {
        setStatus(li, "Sent", "sent");
      }
    } catch (error) {
      if (!chat.pending.has(cmid)) return; // the socket confirmed it meanwhile
      setStatus(li, "Not sent", "failed");
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "retry link";
      retry.textContent = "Retry";
      retry.addEventListener("click", () => sendMessage(chat, { cmid, body, li }));
      $(".meta", li).appendChild(retry);
      showError(errorBox, error);
      if (!input.value && error.status === 422) {
        // The server refused the text itself: hand it back for editing.
        input.value = body;
        chat.pending.delete(cmid);
        li.remove();
      }
    }
  }

  function agentTyping(chat) {
    const now = Date.now();
    const typing = chat.el.input.value.trim().length > 0;
    if (!typing) {
      stopTyping(chat);
      return;
    }
    if (!chat.typingSent || now - chat.typingSentAt > TYPING_REPEAT_MS) {
      if (sendFrame({ type: "typing", interaction_id: chat.id, typing: true })) {
        chat.typingSent = true;
        chat.typingSentAt = now;
      }
    }
    window.clearTimeout(chat.typingTimer);
    chat.typingTimer = window.setTimeout(() => stopTyping(chat), TYPING_IDLE_MS);
  }

  function stopTyping(chat) {
    window.clearTimeout(chat.typingTimer);
    if (chat.typingSent) {
      sendFrame({ type: "typing", interaction_id: chat.id, typing: false });
      chat.typingSent = false;
    }
  }

  function customerTyping(chat, frame) {
    if (frame.from && frame.from !== "customer") return;
    window.clearTimeout(chat.customerTypingTimer);
    if (frame.typing) {
      const name = firstName(chat.data.customer && chat.data.customer.name) || "The customer";
      setText(chat.el.typing, `${name} is typing…`);
      chat.customerTypingTimer = window.setTimeout(() => hideCustomerTyping(chat), CUSTOMER_TYPING_TTL_MS);
    } else {
      hideCustomerTyping(chat);
    }
  }

  function hideCustomerTyping(chat) {
    window.clearTimeout(chat.customerTypingTimer);
    setText(chat.el.typing, "");
  }

  function setCustomerConnected(chat, connected, left) {
    const wasConnected = chat.data.customer_connected !== false;
    chat.data.customer_connected = connected !== false;
    if (left) chat.customerLeft = true;
    show(chat.el.disconnected, connected === false);
    setText(chat.el.disconnected, chat.customerLeft ? "Left the chat" : "Disconnected");
    if (connected === false && (wasConnected || left)) {
      hideCustomerTyping(chat);
      const name = (chat.data.customer && chat.data.customer.name) || "The customer";
      announce(left ? `${name} left the chat.` : `${name} disconnected.`, false);
    } else if (connected !== false) {
      chat.customerLeft = false;
    }
    updateTabState(chat);
  }

  // ---------------------------------------------------------------- canned responses

  function cannedList(language) {
    const key = language || "";
    if (!desk.canned.has(key)) {
      const query = language ? `?language=${encodeURIComponent(language)}` : "";
      desk.canned.set(key, listAll(`/canned-responses${query}`).then(
        (items) => items.filter((item) => item.active !== false).map((item) => ({
          id: item.id || item.key || item.title,
          title: item.title || item.name || item.label || "Response",
          body: item.body || item.text || "",
          language: item.language || null,
        })).filter((item) => item.body),
        () => null, // 404 (no such endpoint) or refused: no picker
      ));
    }
    return desk.canned.get(key);
  }

  async function loadCanned(chat) {
    const items = await cannedList(chat.data.customer && chat.data.customer.language);
    if (!items || !items.length || !desk.chats.has(chat.id)) return;
    const select = chat.el.canned;
    for (const item of items) {
      const option = document.createElement("option");
      option.value = String(item.id);
      option.textContent = item.title;
      select.appendChild(option);
    }
    chat.cannedItems = items;
    show(chat.el.cannedLabel, true);
  }

  function insertCanned(chat) {
    const select = chat.el.canned;
    const item = (chat.cannedItems || []).find((candidate) => String(candidate.id) === select.value);
    select.value = "";
    if (!item) return;
    const customerName = ((chat.data.customer && chat.data.customer.name) || "").trim();
    const values = {
      first_name: firstName(customerName) || "there",
      customer_name: customerName || "there",
      agent_first_name: firstName(desk.agent && desk.agent.name),
      queue: queueName(chat.data.queue),
    };
    const text = item.body.replace(/\{(first_name|customer_name|agent_first_name|queue)\}/g,
      (_, name) => values[name]);
    const input = chat.el.input;
    const start = input.selectionStart != null ? input.selectionStart : input.value.length;
    const end = input.selectionEnd != null ? input.selectionEnd : input.value.length;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.focus();
    input.selectionStart = input.selectionEnd = start + text.length;
    agentTyping(chat);
  }

  // ---------------------------------------------------------------- calls in the browser

  const HOLD_TEXT = {
    en: ["I have put the call on hold. Please stay on the line.", "I am back on the call. Thank you for waiting."],
    es: ["He puesto la llamada en espera. Por favor, no cuelgue.", "Ya regresé a la llamada. Gracias por esperar."],
  };
  const SHARE_TEXT = {
    en: "Could you share your screen so I can guide you through the form? Press \u201cShare my screen\u201d under the call when you are ready; you can stop at any time.",
    es: "\u00bfPodr\u00eda compartir su pantalla para guiarle con el formulario? Pulse \u201cCompartir mi pantalla\u201d debajo de la llamada cuando est\u00e9 listo; puede dejar de compartir cuando quiera.",
  };
  const CALL_FAILURES = {
    permission_denied: "the customer's browser was refused the microphone or camera",
    no_device: "the customer has no microphone or camera",
    device_busy: "the customer's microphone or camera is in use elsewhere",
    media_failed: "the customer's browser could not start the media",
    no_webrtc: "the customer's browser cannot make calls",
    no_media_devices: "the customer's browser cannot use a microphone here",
  };

  function customerText(chat, table) {
    const language = chat.data.customer && chat.data.customer.language;
    return table[language] || table.en;
  }

  /** A line in the chat, written as the agent (the customer sees it; it is in the transcript). */
  async function postChatLine(chat, body) {
    try {
      const answer = await request("POST", `/chats/${encodeURIComponent(chat.id)}/messages`,
        { client_message_id: randomId("a-"), body });
      const message = answer && (answer.message || answer);
      if (message && message.seq != null) addMessage(chat, { ...message, from: message.from || "agent", body: message.body || body }, false);
    } catch (error) {
      showError(chat.el.callError, error);
    }
  }

  function setCallStatus(chat, state, text) {
    chat.el.webCall.dataset.state = state;
    setText(chat.el.callStatus, text);
  }

  function callMedia(chat) {
    if (isCallChannel(chat.channel)) return chat.channel;
    return chat.inviteMedia || "voice";
  }

  /** The first sign of a browser call in this conversation: the call panel takes over. */
  function showWebCall(chat) {
    if (!chat.webCall) {
      chat.webCall = true;
      renderChatDetails(chat);
    }
    const media = callMedia(chat);
    setText($(".web-call-title", chat.el.panel), media === "video" ? "Video call" : "Voice call");
    show(chat.el.callCamera, media === "video");
    show(chat.el.webCall, true);
    show(chat.el.callControls, true);
    show(chat.el.inviteVoice, false);
    show(chat.el.inviteVideo, false);
  }

  function onCallSignal(chat, frame) {
    if (frame.kind === "hangup" && (!chat.call || chat.call.ended)) {
      // The customer's browser could not start (or left before we had media).
      const why = CALL_FAILURES[frame.reason];
      if (why || chat.webCall || isCallChannel(chat.channel)) {
        showWebCall(chat);
        show(chat.el.callControls, false);
        setCallStatus(chat, "ended", why ? `No call: ${why}. Continue by chat.` : "The customer hung up.");
      }
      return;
    }
    chat.callChain = chat.callChain.then(async () => {
      const fresh = !chat.call || chat.call.ended;
      if (fresh && frame.kind !== "offer") return; // a leftover of a finished call
      if (fresh) await startDeskCall(chat);
      await chat.call.onSignal(frame);
    }).catch((error) => { if (window.console) console.warn("call signal:", error); });
  }

  async function startDeskCall(chat) {
    showWebCall(chat);
    clearError(chat.el.callError);
    const media = callMedia(chat);
    setCallStatus(chat, "connecting", "Connecting the call…");
    let stream = null;
    if (SwitchboardCall.unsupportedReason()) {
      showError(chat.el.callError, { problem: { title: "This browser cannot make calls: you will hear nothing. Use the chat." } });
    } else {
      try {
        stream = await SwitchboardCall.getLocalMedia(media);
      } catch (error) {
        const reason = SwitchboardCall.mediaErrorReason(error);
        showError(chat.el.callError, { problem: { title: `Your microphone${media === "video" ? " or camera" : ""} could not be used (${reason.replace("_", " ")}): the customer will not hear you.` } });
      }
    }
    const iceServers = await request("GET", "/calls/ice-servers").then((answer) => (answer && answer.iceServers) || [], () => []);
    for (const button of [chat.el.callMute, chat.el.callCamera, chat.el.callHold]) button.setAttribute("aria-pressed", "false");
    chat.el.callTimer.dataset.seconds = "0";
    chat.el.callTimer.textContent = "0:00";
    show(chat.el.callQuality, false);
    show(chat.el.callScreen, false);
    chat.call = new SwitchboardCall.Call({
      role: "agent",
      interactionId: chat.id,
      media,
      iceServers,
      send: sendFrame,
      onState: (state) => onDeskCallState(chat, state),
      onRemoteTrack: (track, streams) => onDeskRemoteTrack(chat, track, streams),
      onRenegotiated: (tracks) => hideStoppedScreen(chat, tracks),
      onQuality: (quality) => showDeskQuality(chat, quality),
      onEnded: (reason, by) => onDeskCallEnded(chat, reason, by),
    });
    if (stream) {
      if (media === "video") {
        chat.el.callLocal.srcObject = stream;
        show(chat.el.callVideos, true);
      }
      await chat.call.start(stream);
    } else {
      chat.call.setState("connecting");
    }
  }

  function onDeskCallState(chat, state) {
    if (state === "connected") setCallStatus(chat, "connected", chat.call && chat.call.held ? "On hold." : "Call connected.");
    else if (state === "reconnecting") setCallStatus(chat, "reconnecting", "The connection dropped. Reconnecting…");
    else if (state === "connecting") setCallStatus(chat, "connecting", "Connecting the call…");
  }

  function onDeskRemoteTrack(chat, track, streams) {
    if (track.kind === "audio") {
      chat.el.callAudio.srcObject = (streams && streams[0]) || new MediaStream([track]);
      chat.el.callAudio.muted = Boolean(chat.call && chat.call.held);
      return;
    }
    // The camera comes first; a second video track is the customer's shared screen.
    const camera = chat.el.callRemote;
    const cameraTrack = camera.srcObject && camera.srcObject.getVideoTracks()[0];
    const isScreen = callMedia(chat) === "voice" || (cameraTrack && cameraTrack !== track && cameraTrack.readyState === "live");
    const target = isScreen ? chat.el.callScreen : camera;
    target.srcObject = new MediaStream([track]);
    show(target, true);
    show(chat.el.callVideos, true);
  }

  /** The customer stopped sharing the screen: its track is no longer received. */
  function hideStoppedScreen(chat, receiving) {
    const screen = chat.el.callScreen;
    const shown = screen.srcObject && screen.srcObject.getVideoTracks()[0];
    if (!shown || receiving.includes(shown)) return;
    screen.srcObject = null;
    show(screen, false);
  }

  function showDeskQuality(chat, quality) {
    const el = chat.el.callQuality;
    el.dataset.level = quality.level;
    const parts = [];
    if (quality.rtt != null) parts.push(`round trip ${Math.round(quality.rtt * 1000)} ms`);
    if (quality.jitter != null) parts.push(`jitter ${Math.round(quality.jitter * 1000)} ms`);
    if (quality.loss != null) parts.push(`loss ${(quality.loss * 100).toFixed(1)} %`);
    setText(el, `Connection: ${quality.level}${parts.length ? ` (${parts.join(", ")})` : ""}`);
    show(el, true);
  }

  function tickCall(chat) {
    if (!chat.call || chat.call.ended || chat.call.connectedAt == null) return;
    const seconds = chat.call.elapsedSeconds();
    chat.el.callTimer.dataset.seconds = String(seconds);
    chat.el.callTimer.textContent = SwitchboardCall.formatTimer(seconds);
  }

  function toggleCallButton(chat, button, apply) {
    if (!chat.call || chat.call.ended) return;
    const on = button.getAttribute("aria-pressed") !== "true";
    apply(on);
    button.setAttribute("aria-pressed", String(on));
  }

  /** Hold: nothing goes either way, and the customer is told in the chat (and when it ends). */
  function toggleHold(chat) {
    if (!chat.call || chat.call.ended) return;
    const held = !chat.call.held;
    chat.call.setHeld(held);
    // The service counts holds and their time (call_state held / resumed).
    chat.call.reportHold(held);
    chat.el.callAudio.muted = held;
    chat.el.callHold.setAttribute("aria-pressed", String(held));
    setCallStatus(chat, held ? "held" : "connected", held ? "On hold: the customer hears nothing." : "Call connected.");
    postChatLine(chat, customerText(chat, HOLD_TEXT)[held ? 0 : 1]);
  }

  function askScreenShare(chat) {
    if (!chat.call || chat.call.ended) return;
    postChatLine(chat, customerText(chat, SHARE_TEXT));
    setText(chat.el.callStatus, "Screen share requested: the customer decides.");
  }

  function hangUpCall(chat, reason) {
    if (chat.call && !chat.call.ended) chat.call.hangUp(reason);
  }

  function onDeskCallEnded(chat, reason, by) {
    show(chat.el.callControls, false);
    show(chat.el.callVideos, false);
    chat.el.callAudio.srcObject = null;
    let text = by === "remote" ? "The customer hung up." : "You hung up.";
    if (reason === "media_lost") text = "The call ended: the connection was lost.";
    else if (reason === "page_closed") text = "The customer closed the page: the call ended.";
    if (reason === "transferred") {
      setCallStatus(chat, "ended", "Call transferred: it starts again when the next specialist answers.");
    } else {
      setCallStatus(chat, "ended", `${text} End the conversation when you are done.`);
    }
    if (chat.channel === "chat") {
      chat.inviteMedia = null;
      renderChatDetails(chat);
    }
  }

  function inviteToCall(chat, media) {
    clearError(chat.el.actionsError);
    if (!sendFrame({ type: "call_invite", interaction_id: chat.id, media })) {
      showError(chat.el.actionsError, { problem: { title: "Not connected: try again in a moment." } });
      return;
    }
    chat.invited = media;
    setText(chat.el.callStatus, "");
    announce(`${media === "video" ? "Video" : "Voice"} call invitation sent.`, false);
    setText(chat.el.endedNote, "");
  }

  function onInviteAnswered(chat, accepted) {
    const media = chat.invited || "voice";
    chat.invited = null;
    if (!accepted) {
      announce("The customer declined the call.", false);
      showError(chat.el.actionsError, { problem: { title: "The customer declined the call (or could not start it)." } });
      return;
    }
    chat.inviteMedia = media;
    showWebCall(chat);
    setCallStatus(chat, "connecting", "The customer accepted: connecting the call…");
  }

  // ---------------------------------------------------------------- end and wrap-up

  function askEnd(chat, asking) {
    show(chat.el.endButton, !asking);
    show(chat.el.endConfirm, asking);
    (asking ? $(".end-yes", chat.el.panel) : chat.el.endButton).focus();
  }

  async function endChat(chat) {
    const yes = $(".end-yes", chat.el.panel);
    clearError(chat.el.actionsError);
    yes.disabled = true;
    // The call ends first, while the server still relays and records its hang-up.
    if (chat.call && !chat.call.ended) {
      hangUpCall(chat, "ended");
      await socketFlushed(FLUSH_TIMEOUT_MS);
    }
    try {
      await request("POST", `/interactions/${encodeURIComponent(chat.id)}/complete`);
      stopTyping(chat);
      markEnded(chat, "You ended the conversation.");
      // The wrap_up frame brings the deadline; if it is slow, open the form anyway.
      if (!chat.wrapUpOpen) startWrapUp(chat, null);
      focusWrapUp(chat);
    } catch (error) {
      show(chat.el.endConfirm, false);
      show(chat.el.endButton, true);
      showError(chat.el.actionsError, error);
      chat.el.endButton.focus();
    } finally {
      yes.disabled = false;
    }
  }

  function markEnded(chat, text) {
    chat.ended = true;
    if (chat.call && !chat.call.ended) chat.call.finish("chat_ended", "local");
    show(chat.el.inviteVoice, false);
    show(chat.el.inviteVideo, false);
    show(chat.el.composer, false);
    show(chat.el.endButton, false);
    show(chat.el.endConfirm, false);
    show(chat.el.transferButton, false);
    hideCustomerTyping(chat);
    setText(chat.el.endedNote, text);
    show(chat.el.endedNote, true);
  }

  function startWrapUp(chat, endsAt) {
    const parsed = parseTime(endsAt);
    if (parsed != null) chat.wrapUpEndsAt = parsed;
    if (!chat.ended) {
      const name = (chat.data.customer && chat.data.customer.name) || "The customer";
      markEnded(chat, chat.customerLeft ? `${name} left the chat.` : "The conversation has ended.");
    }
    if (!chat.wrapUpOpen) {
      chat.wrapUpOpen = true;
      show(chat.el.wrapup, true);
      chat.el.panel.classList.add("in-wrap-up");
      renderDispositions(chat);
      updateTabState(chat);
      if (desk.activeId === chat.id && chat.el.panel.contains(document.activeElement) === false
          && document.activeElement === document.body) {
        focusWrapUp(chat);
      }
    }
    tickWrapUp(chat);
  }

  function focusWrapUp(chat) {
    if (desk.activeId === chat.id) $(".wrapup-title", chat.el.panel).focus();
  }

  function tickWrapUp(chat) {
    if (!chat.wrapUpOpen) return;
    if (chat.wrapUpEndsAt == null) {
      setText(chat.el.wrapupCountdown, "");
      return;
    }
    const left = Math.max(0, (chat.wrapUpEndsAt - Date.now()) / 1000);
    setText(chat.el.wrapupCountdown, left > 0 ? `Wrap-up ends in ${formatDuration(left)}` : "Wrap-up time is over");
    chat.el.wrapupCountdown.classList.toggle("urgent", left <= 30);
  }

  function dispositionList() {
    if (!desk.dispositions) {
      desk.dispositions = listAll("/dispositions?active=true").then(
        (items) => items.filter((item) => item.active !== false)
          .sort((a, b) => String(a.label).localeCompare(String(b.label))),
        (error) => { desk.dispositions = null; throw error; },
      );
    }
    return desk.dispositions;
  }

  async function renderDispositions(chat) {
    const fieldset = chat.el.dispositions;
    const loading = $(".dispositions-loading", fieldset);
    try {
      const items = await dispositionList();
      loading.remove();
      if (!items.length) {
        const p = document.createElement("p");
        p.className = "hint";
        p.textContent = "No dispositions are set up.";
        fieldset.appendChild(p);
      }
      for (const item of items) {
        const label = document.createElement("label");
        label.className = "choice";
        const box = document.createElement("input");
        box.type = "checkbox";
        box.name = "disposition";
        box.value = item.id;
        label.append(box, " ", item.label || item.code);
        if (item.description) label.title = item.description;
        fieldset.appendChild(label);
      }
    } catch (error) {
      loading.textContent = "";
      const p = document.createElement("p");
      p.className = "error";
      fieldset.appendChild(p);
      showError(p, error);
    }
  }

  async function finishWrapUp(chat) {
    if (chat.finishing) return;
    const form = chat.el.wrapup;
    const fieldBoxes = {
      disposition_ids: $(".wrapup-dispositions-error", form),
      notes: $(".wrapup-notes-error", form),
      follow_up_at: $(".wrapup-followup-error", form),
      follow_up_note: $(".wrapup-followup-error", form),
    };
    clearError(chat.el.wrapupError, fieldBoxes);
    const ids = [...form.querySelectorAll("input[name=disposition]:checked")].map((box) => box.value);
    const notes = $(".wrapup-notes", form).value.trim();
    const followRaw = $(".wrapup-followup", form).value;
    let followUp = null;
    if (followRaw) {
      const ms = Date.parse(followRaw); // datetime-local: local time, no zone
      if (!Number.isFinite(ms)) {
        showError(chat.el.wrapupError, { problem: { title: "Check the follow-up date and time." } });
        return;
      }
      if (ms <= Date.now()) {
        fieldBoxes.follow_up_at.textContent = "Choose a time in the future.";
        fieldBoxes.follow_up_at.hidden = false;
        $(".wrapup-followup", form).focus();
        return;
      }
      followUp = new Date(ms).toISOString();
    }
    const followUpNote = $(".wrapup-followup-note", form).value.trim();
    const submit = $(".wrapup-submit", form);
    chat.finishing = true;
    submit.disabled = true;
    try {
      await request("POST", `/interactions/${encodeURIComponent(chat.id)}/finish-wrap-up`,
        { disposition_ids: ids, notes: notes || null, follow_up_at: followUp,
          follow_up_note: followUp && followUpNote ? followUpNote : null });
      setText(chat.el.wrapupCountdown, "Wrap-up saved.");
      // chat_closed removes the tab; if it never comes, remove it anyway.
      window.setTimeout(() => closeChat(chat.id, "completed"), 15000);
    } catch (error) {
      chat.finishing = false;
      submit.disabled = false;
      showError(chat.el.wrapupError, error, fieldBoxes);
    }
  }

  // ---------------------------------------------------------------- transfer dialog

  const transfer = { chat: null, busy: false };

  function transferEls() {
    return {
      dialog: $("#transfer-dialog"),
      form: $("#transfer-form"),
      queue: $("#transfer-queue"),
      agent: $("#transfer-agent"),
      agentHint: $("#transfer-agent-hint"),
      note: $("#transfer-note"),
      error: $("#transfer-error"),
      submit: $("#transfer-submit"),
      fieldBoxes: {
        queue: $("#transfer-queue-error"),
        agent_id: $("#transfer-agent-error"),
        note: $("#transfer-note-error"),
      },
    };
  }

  function syncTransferForm() {
    const form = $("#transfer-form");
    const target = form.elements.target.value;
    const kind = form.elements.kind.value;
    show($("#transfer-queue-field"), target === "queue");
    show($("#transfer-agent-field"), target === "agent");
    show($("#transfer-note-field"), kind === "warm");
  }

  function fillSelect(select, items, placeholder) {
    select.replaceChildren();
    const first = document.createElement("option");
    first.value = "";
    first.textContent = placeholder;
    select.appendChild(first);
    for (const [value, label] of items) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      select.appendChild(option);
    }
  }

  async function openTransfer(chat) {
    const els = transferEls();
    transfer.chat = chat;
    clearError(els.error, els.fieldBoxes);
    els.form.reset();
    syncTransferForm();
    setText($("#transfer-subject"), `Conversation with ${(chat.data.customer && chat.data.customer.name) || "the customer"}`);
    fillSelect(els.queue, [], "Loading queues…");
    fillSelect(els.agent, [], "Loading agents…");
    if (typeof els.dialog.showModal === "function") els.dialog.showModal();
    else els.dialog.setAttribute("open", "");
    els.queue.focus();
    const myId = (desk.agent && desk.agent.id) || (session.user && session.user.id);
    const [queues, agents] = await Promise.allSettled([
      listAll("/queues?active=true"),
      // Colleagues available right now (the caller is left out); agents may ask for it.
      request("GET", "/agents/available"),
    ]);
    if (transfer.chat !== chat) return;
    if (queues.status === "fulfilled") {
      const current = queueName(chat.data.queue);
      const items = queues.value.filter((q) => q.active !== false)
        .sort((a, b) => String(a.name).localeCompare(String(b.name)))
        .map((q) => [q.name, q.name === current ? `${q.name} (current)` : q.name]);
      fillSelect(els.queue, items, "Choose a queue");
    } else {
      fillSelect(els.queue, [], "Queues could not be loaded");
      showError(els.fieldBoxes.queue, queues.reason);
    }
    renderTransferAgents(els, agents, myId);
  }

  /** Total interactions an agent holds, from its load per channel ({"chat": 2, ...}). */
  function totalLoad(load) {
    if (!load || typeof load !== "object") return 0;
    return Object.values(load).reduce((sum, n) => sum + (Number(n) || 0), 0);
  }

  /** Fill the named-agent list from GET /agents/available (or say why it could not be). */
  function renderTransferAgents(els, agents, myId) {
    show(els.agentHint, true);
    if (agents.status !== "fulfilled") {
      const error = agents.reason;
      fillSelect(els.agent, [], "Agents could not be loaded");
      setText(els.agentHint, "Transfer to a queue instead, or close this dialog and try again.");
      showError(els.fieldBoxes.agent_id, error);
      return;
    }
    const list = Array.isArray(agents.value) ? agents.value : [];
    const items = list.filter((a) => a && a.agent_id && String(a.agent_id) !== String(myId))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)))
      .map((a) => {
        const held = totalLoad(a.load);
        const name = a.name || String(a.agent_id);
        return [String(a.agent_id), held ? `${name} (${held} open)` : name];
      });
    if (!items.length) {
      fillSelect(els.agent, [], "No colleague is available now");
      setText(els.agentHint, "Only colleagues who are available now are listed: transfer to a queue instead.");
      return;
    }
    fillSelect(els.agent, items, "Choose an agent");
    setText(els.agentHint, "Colleagues available now; the number in brackets is what they already handle.");
  }

  function closeTransfer() {
    const dialog = $("#transfer-dialog");
    if (dialog.open && typeof dialog.close === "function") dialog.close();
    else dialog.removeAttribute("open");
    const chat = transfer.chat;
    transfer.chat = null;
    if (chat && desk.chats.has(chat.id)) chat.el.transferButton.focus();
  }

  async function submitTransfer(event) {
    event.preventDefault();
    const chat = transfer.chat;
    if (!chat || transfer.busy) return;
    const els = transferEls();
    clearError(els.error, els.fieldBoxes);
    const form = els.form;
    const target = form.elements.target.value;
    const kind = form.elements.kind.value;
    const body = {};
    if (target === "queue") {
      if (!els.queue.value) {
        showError(els.fieldBoxes.queue, { problem: { title: "Choose a queue." } });
        els.queue.focus();
        return;
      }
      body.queue = els.queue.value;
    } else {
      if (!els.agent.value) {
        showError(els.fieldBoxes.agent_id, { problem: { title: "Choose an agent." } });
        els.agent.focus();
        return;
      }
      body.agent_id = els.agent.value;
    }
    if (kind === "warm") {
      const note = els.note.value.trim();
      if (!note) {
        showError(els.fieldBoxes.note, { problem: { title: "Write a note for a warm transfer." } });
        els.note.focus();
        return;
      }
      body.note = note;
    }
    transfer.busy = true;
    els.submit.disabled = true;
    // The call ends first, while the server still relays the hang-up (it will not once the
    // interaction has left this desk): the customer's page waits for the next specialist
    // and sets the call up again with them.
    const hadCall = Boolean(chat.call && !chat.call.ended);
    if (hadCall) {
      hangUpCall(chat, "transferred");
      await socketFlushed(FLUSH_TIMEOUT_MS);
    }
    try {
      await request("POST", `/interactions/${encodeURIComponent(chat.id)}/transfer`, body);
      closeTransfer();
      markEnded(chat, "Transferred. This tab closes in a moment.");
    } catch (error) {
      showError(els.error, error, els.fieldBoxes);
      if (hadCall) {
        setCallStatus(chat, "ended", "The call ended for the transfer, but the transfer failed: try again, or continue in the chat.");
      }
    } finally {
      transfer.busy = false;
      els.submit.disabled = false;
    }
  }

  // ---------------------------------------------------------------- sign in and out

  async function onSignIn(event) {
    event.preventDefault();
    const form = $("#signin-form");
    const errorBox = $("#signin-error");
    const fieldBoxes = { username: $("#signin-username-error"), password: $("#signin-password-error") };
    clearError(errorBox, fieldBoxes);
    const username = form.elements.username.value.trim();
    const password = form.elements.password.value;
    if (!username || !password) {
      if (!username) { fieldBoxes.username.textContent = "Enter your username."; fieldBoxes.username.hidden = false; }
      if (!password) { fieldBoxes.password.textContent = "Enter your password."; fieldBoxes.password.hidden = false; }
      (username ? form.elements.password : form.elements.username).focus();
      return;
    }
    const submit = $("#signin-submit");
    submit.disabled = true;
    try {
      const pair = await request("POST", "/auth/login", { username, password }, { auth: false });
      acceptTokens(pair);
      form.elements.password.value = "";
      await startDesk();
    } catch (error) {
      showError(errorBox, error, fieldBoxes);
      form.elements.password.focus();
    } finally {
      submit.disabled = false;
    }
  }

  async function startDesk() {
    const me = await request("GET", "/auth/me");
    const user = session.user || {};
    session.user = { ...user, id: me.subject_id || user.id, display_name: me.name || user.display_name };
    saveSession();
    desk.agent = { id: session.user.id, name: session.user.display_name };
    setText($("#agent-name"), session.user.display_name || "");
    show($("#signin"), false);
    show($("#desk"), true);
    show($("#topbar-desk"), true);
    updateEmptyState();
    scheduleRefresh();
    // The current presence, before the socket says it.
    request("GET", `/agents/${encodeURIComponent(session.user.id)}/presence`)
      .then((presence) => { if (presence && presence.state) renderPresence(presence); }, () => {});
    request("GET", "/chats/options", undefined, { auth: false })
      .then((options) => {
        if (options && options.max_message_chars) desk.maxMessageChars = options.max_message_chars;
      }, () => {});
    socket.wanted = true;
    socket.attempt = 0;
    connect();
    $("#presence-select").focus();
  }

  function signedOut(message) {
    disconnect();
    clearSession();
    for (const id of [...desk.offers.keys()]) removeOffer(id, null, true);
    for (const id of [...desk.chats.keys()]) closeChat(id, null);
    desk.early.clear();
    desk.agent = null;
    desk.activeId = null;
    desk.dispositions = null;
    desk.canned.clear();
    closeTransfer();
    show($("#desk"), false);
    show($("#topbar-desk"), false);
    show($("#signin"), true);
    const errorBox = $("#signin-error");
    if (message) {
      errorBox.textContent = message;
      errorBox.hidden = false;
    } else {
      clearError(errorBox);
    }
    $("#signin-username").focus();
    document.title = "Switchboard agent desk";
  }

  async function onSignOut() {
    const button = $("#sign-out");
    button.disabled = true;
    const refresh = session.refresh;
    // Calls end while the socket can still say so (the customer is not left in silence).
    const calls = [...desk.chats.values()].filter((chat) => chat.call && !chat.call.ended);
    for (const chat of calls) hangUpCall(chat, "ended");
    if (calls.length) await socketFlushed(FLUSH_TIMEOUT_MS);
    try {
      // Going offline first means no offer waits on a desk that is gone.
      const id = (desk.agent && desk.agent.id) || (session.user && session.user.id);
      if (id && desk.presence.state !== "offline") {
        await request("PUT", `/agents/${encodeURIComponent(id)}/presence`, { state: "offline", reason: null })
          .catch(() => {});
      }
      if (refresh) {
        await request("POST", "/auth/logout", { refresh_token: refresh }, { auth: false }).catch(() => {});
      }
    } finally {
      button.disabled = false;
      signedOut(null);
    }
  }

  // ---------------------------------------------------------------- clock

  function tick() {
    for (const offer of desk.offers.values()) tickOffer(offer);
    for (const chat of desk.chats.values()) {
      tickWrapUp(chat);
      tickCall(chat);
    }
    updateTitle();
  }

  // ---------------------------------------------------------------- start

  function init() {
    $("#signin-form").addEventListener("submit", onSignIn);
    $("#sign-out").addEventListener("click", onSignOut);
    $("#presence-select").addEventListener("change", changePresence);
    const form = $("#transfer-form");
    form.addEventListener("submit", submitTransfer);
    form.addEventListener("change", syncTransferForm);
    $("#transfer-cancel").addEventListener("click", closeTransfer);
    $("#transfer-dialog").addEventListener("cancel", (event) => { event.preventDefault(); closeTransfer(); });
    window.setInterval(tick, 1000);
    // Closing the tab ends its calls at once (the customer is not left in silence).
    window.addEventListener("pagehide", () => {
      for (const chat of desk.chats.values()) {
        if (chat.call && !chat.call.ended) chat.call.hangUp("page_closed");
      }
    });
    if (loadSession()) {
      const resume = session.expiresAt - Date.now() > 30000 ? Promise.resolve() : refreshTokens();
      resume.then(startDesk).catch((error) => {
        if (session.refresh) signedOut(`Could not resume the session: ${error.message}`);
      });
    } else {
      $("#signin-username").focus();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
