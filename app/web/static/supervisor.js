/* Switchboard supervisor dashboard: sign in, live queues and agents over /ws/supervisor,
 * alerts, sparklines, the interaction list, silent reading, whispers and actions.
 * Plain JavaScript, no framework, nothing loaded from another origin.
 * The protocol and the API are described in docs/supervisor.md. */
"use strict";

(function () {
  const API = "/api/v1";
  const STORAGE_KEY = "switchboard.supervisor.session";
  const PING_INTERVAL_MS = 20000;
  const REFRESH_MARGIN_S = 60;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const HISTORY_STEP_MS = 30000;
  const HISTORY_POINTS = 120;
  const LIST_REFRESH_MS = 5000;
  const MAX_PRIORITY = 100;
  const PRIORITY_STEP = 5;
  const WATCHER_ROLES = ["admin", "supervisor"];
  const OPEN_STATES = ["queued", "offered", "active", "wrap_up"];

  const STATE_LABELS = { available: "Available", busy: "Busy", offline: "Offline" };
  const INTERACTION_STATES = { queued: "Waiting", offered: "Offered", active: "Active",
    wrap_up: "Wrap-up", completed: "Completed", abandoned: "Abandoned",
    cancelled: "Cancelled", transferred: "Transferred" };
  const CHANNEL_LABELS = { chat: "Chat", voice: "Phone", video: "Video", email: "Email",
    sms: "Text", postal_mail: "Mail", walk_in: "Walk-in" };
  // The call section of the reading panel (GET /interactions/{id}/call).
  const CALL_REFRESH_MS = 5000;
  const CALL_CHANNELS = ["voice", "video"];
  // Chats can be upgraded to a call, so their panel asks too; other channels never have one.
  const MAY_HAVE_CALL = ["chat", "voice", "video"];
  const CALL_STATUS = { ringing: "Ringing", connected: "Connected", held: "On hold", ended: "Ended" };
  const PARTIES = { customer: "Customer", agent: "Agent", system: "The system" };
  // Quality bands (ITU-T G.114 and common VoIP practice): good below all three, poor past any.
  const GOOD = { rtt_ms: 150, jitter_ms: 30, loss_pct: 1 };
  const POOR = { rtt_ms: 400, jitter_ms: 100, loss_pct: 5 };
  const STATE_CHOICES = [
    ["available", "Available"], ["busy:break", "Busy: break"],
    ["busy:meeting", "Busy: meeting"], ["busy:training", "Busy: training"],
    ["offline", "Offline"],
  ];

  const $ = (selector, root) => (root || document).querySelector(selector);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else if (key in node && typeof value !== "string") node[key] = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function show(node, visible) { node.hidden = !visible; }

  function announce(text) {
    const box = $("#announce");
    box.textContent = "";
    window.setTimeout(() => { box.textContent = text; }, 50);
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const whole = Math.max(0, Math.round(seconds));
    if (whole < 60) return `${whole} s`;
    const minutes = Math.floor(whole / 60);
    if (minutes < 60) return `${minutes} min ${String(whole % 60).padStart(2, "0")} s`;
    return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  }

  function percent(value) {
    return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
  }

  function clockTime(iso) {
    const at = Date.parse(iso);
    return Number.isNaN(at) ? "" : new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && (body.detail || body.title)) || `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  function showError(box, error) {
    if (!error) { box.hidden = true; box.textContent = ""; return; }
    box.textContent = error.status === 0 ? "The server cannot be reached. Check your connection." : error.message;
    box.hidden = false;
  }

  // ---------------------------------------------------------------- session and REST

  const session = { access: null, refresh: null, expiresAt: 0, user: null, timer: null, refreshing: null };

  function saveSession() {
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ access_token: session.access,
        refresh_token: session.refresh, expires_at: session.expiresAt, user: session.user }));
    } catch (_) { /* storage disabled: works until reload */ }
  }

  function loadSession() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
      if (!saved || !saved.refresh_token) return false;
      session.access = saved.access_token;
      session.refresh = saved.refresh_token;
      session.expiresAt = Number(saved.expires_at) || 0;
      session.user = saved.user || null;
      return true;
    } catch (_) { return false; }
  }

  function clearSession() {
    Object.assign(session, { access: null, refresh: null, expiresAt: 0, user: null });
    window.clearTimeout(session.timer);
    try { sessionStorage.removeItem(STORAGE_KEY); } catch (_) { /* ignore */ }
  }

  function acceptTokens(pair) {
    session.access = pair.access_token;
    session.refresh = pair.refresh_token;
    session.expiresAt = Date.now() + (Number(pair.expires_in) || 900) * 1000;
    if (pair.user) session.user = pair.user;
    saveSession();
    window.clearTimeout(session.timer);
    const inMs = Math.max(5000, session.expiresAt - Date.now() - REFRESH_MARGIN_S * 1000);
    session.timer = window.setTimeout(() => { refreshTokens().catch(() => {}); }, inMs);
  }

  function refreshTokens() {
    if (session.refreshing) return session.refreshing;
    const token = session.refresh;
    session.refreshing = (async () => {
      try {
        acceptTokens(await request("POST", "/auth/refresh", { refresh_token: token }, { auth: false }));
      } catch (error) {
        if (error.status === 401 || error.status === 422) signOut("Your session has ended. Please sign in again.");
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
      response = await fetch(API + path, { method, headers, cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (_) {
      throw new ApiError(0, { detail: "network" });
    }
    if (response.status === 401 && opts.auth !== false && opts.retry !== false && session.refresh) {
      await refreshTokens();
      return request(method, path, body, { ...opts, retry: false });
    }
    const text = await response.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch (_) { data = { detail: text }; } }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // Other scripts of this page (reports, canned responses) use the same session and helper.
  window.SwitchboardSupervisor = {
    el,
    request: (method, path, body) => request(method, path, body),
    token: () => session.access,
    user: () => session.user,
  };

  // ---------------------------------------------------------------- sign in and out

  async function signIn(event) {
    event.preventDefault();
    const username = $("#signin-username").value.trim();
    const password = $("#signin-password").value;
    const box = $("#signin-error");
    if (!username || !password) {
      showError(box, new ApiError(422, { detail: "Enter your username and password." }));
      return;
    }
    $("#signin-submit").disabled = true;
    try {
      const pair = await request("POST", "/auth/login", { username, password }, { auth: false });
      const role = pair.user && pair.user.role;
      if (!WATCHER_ROLES.includes(role)) {
        showError(box, new ApiError(403, { detail: "The dashboard is for supervisors and admins." }));
        return;
      }
      showError(box, null);
      acceptTokens(pair);
      start();
    } catch (error) {
      showError(box, error.status === 401 ? new ApiError(401, { detail: "Wrong username or password." }) : error);
    } finally {
      $("#signin-submit").disabled = false;
    }
  }

  function signOut(message) {
    const refresh = session.refresh;
    socket.wanted = false;
    stopCall();
    if (socket.ws) socket.ws.close(1000);
    if (refresh) request("POST", "/auth/logout", { refresh_token: refresh }, { auth: false }).catch(() => {});
    clearSession();
    show($("#dashboard"), false);
    show($("#topbar-user"), false);
    show($("#signin"), true);
    if (message) showError($("#signin-error"), new ApiError(401, { detail: message }));
    $("#signin-username").focus();
  }

  function start() {
    show($("#signin"), false);
    show($("#dashboard"), true);
    show($("#topbar-user"), true);
    $("#user-name").textContent = (session.user && (session.user.display_name || session.user.username)) || "";
    socket.wanted = true;
    connect();
    loadInteractions();
    document.dispatchEvent(new CustomEvent("supervisor:signed-in", { detail: { user: session.user } }));
  }

  // ---------------------------------------------------------------- websocket

  const socket = { ws: null, wanted: false, attempt: 0, timer: null, ping: null };

  function setConnection(text, tone) {
    const node = $("#connection");
    node.textContent = text;
    node.dataset.tone = tone || "";
  }

  function connect() {
    window.clearTimeout(socket.timer);
    if (!socket.wanted || !session.access) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/supervisor`);
    socket.ws = ws;
    setConnection("Connecting…", "wait");
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "hello", token: session.access }));
      window.clearInterval(socket.ping);
      socket.ping = window.setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
      }, PING_INTERVAL_MS);
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      handleFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      window.clearInterval(socket.ping);
      if (socket.ws !== ws) return;
      socket.ws = null;
      onClosed(event.code);
    });
  }

  function onClosed(code) {
    if (!socket.wanted) return;
    if (code === 4403) { signOut("The dashboard is for supervisors and admins."); return; }
    if (code === 4401) {
      setConnection("Reconnecting…", "wait");
      refreshTokens().then(() => { socket.attempt = 0; connect(); }, () => {});
      return;
    }
    setConnection("Disconnected: reconnecting…", "bad");
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** socket.attempt) * (0.5 + Math.random() / 2);
    socket.attempt += 1;
    socket.timer = window.setTimeout(connect, delay);
  }

  function send(frame) {
    if (socket.ws && socket.ws.readyState === WebSocket.OPEN) socket.ws.send(JSON.stringify(frame));
  }

  function handleFrame(frame) {
    switch (frame.type) {
      case "welcome":
        socket.attempt = 0;
        setConnection("Live", "ok");
        mergeHistory(frame.history);
        render(frame.snapshot);
        if (monitor.id) send({ type: "monitor", interaction_id: monitor.id });
        break;
      case "snapshot": render(frame); break;
      case "monitoring": onMonitoring(frame); break;
      case "monitor_message": addMonitorMessage(frame); break;
      case "monitor_event": onMonitorEvent(frame); break;
      case "error": if (frame.field === "interaction_id") showError($("#whisper-error"), new ApiError(400, frame)); break;
      default: break;
    }
  }

  // ---------------------------------------------------------------- snapshot rendering

  const view = { snapshot: null, skewMs: 0, history: [], alertKeys: new Set(), queues: [],
    queueKey: null, items: null, channel: "" };

  function mergeHistory(history) {
    if (!history || !Array.isArray(history.points)) return;
    view.history = history.points.map((point) => ({ t: Date.parse(point.at), queues: point.queues }));
  }

  function remember(snapshot) {
    const t = Date.parse(snapshot.at);
    const last = view.history[view.history.length - 1];
    if (last && t - last.t < HISTORY_STEP_MS) return;
    const queues = {};
    for (const queue of snapshot.queues) {
      queues[queue.queue_id] = { waiting: queue.waiting, oldest_wait_s: queue.oldest_wait_s,
        service_level: queue.last_30_min.service_level };
    }
    view.history.push({ t, queues });
    if (view.history.length > HISTORY_POINTS) view.history.shift();
  }

  function render(snapshot) {
    if (!snapshot) return;
    view.snapshot = snapshot;
    view.skewMs = Date.now() - Date.parse(snapshot.at);
    remember(snapshot);
    $("#updated").textContent = `Updated ${clockTime(snapshot.at)}`;
    renderAlerts(snapshot.alerts);
    renderCentre(snapshot.totals);
    renderQueues(snapshot.queues);
    renderAgents(snapshot.agents, snapshot.agents_by_state);
    syncQueueChoices(snapshot.queues);
  }

  function renderAlerts(alerts) {
    const list = $("#alerts");
    list.replaceChildren(...alerts.map((alert) => el("li", { class: `alert alert-${alert.code}`,
      "data-queue": alert.queue_id, "data-code": alert.code },
    el("strong", { text: alert.message }), " ", el("span", { class: "since", text: `since ${clockTime(alert.since)}` }))));
    $("#alerts-count").textContent = String(alerts.length);
    show($("#alerts-empty"), alerts.length === 0);
    const keys = new Set(alerts.map((alert) => `${alert.queue_id}:${alert.code}`));
    const fresh = alerts.filter((alert) => !view.alertKeys.has(`${alert.queue_id}:${alert.code}`));
    if (fresh.length) announce(`New alert: ${fresh.map((alert) => alert.message).join(". ")}`);
    view.alertKeys = keys;
  }

  function renderQueues(queues) {
    const tiles = $("#queue-tiles");
    const alerted = new Set((view.snapshot.alerts || []).map((alert) => alert.queue_id));
    tiles.replaceChildren(...queues.map((queue) => queueTile(queue, alerted.has(queue.queue_id))));
    show($("#queues-empty"), queues.length === 0);
  }

  function figure(label, value, extra) {
    return el("div", { class: `figure ${extra || ""}` }, el("dt", { text: label }), el("dd", { text: value }));
  }

  // A channel no one used: what `by_channel` would hold for it.
  const QUIET_PERIOD = { arrived: 0, answered: 0, abandoned: 0, completed: 0, asa_s: null,
    service_level: null, abandon_rate: null, aht_s: null };
  const QUIET_CHANNEL = { waiting: 0, offering: 0, oldest_wait_s: null,
    today: QUIET_PERIOD, last_30_min: QUIET_PERIOD };

  function queueTile(queue, alerted) {
    // With a channel chosen, every figure but the agents and the sparklines is that channel's.
    const channel = view.channel;
    const shown = channel ? ((queue.by_channel || {})[channel] || QUIET_CHANNEL) : queue;
    const recent = shown.last_30_min;
    const today = shown.today;
    const target = queue.service_level_target;
    const level = recent.service_level !== null ? recent.service_level : today.service_level;
    const below = level !== null && level < queue.alert_limits.min_service_level;
    const points = view.history.map((point) => point.queues[queue.queue_id] || null);
    const whole = channel ? " (all channels)" : "";
    return el("article", { class: `tile${alerted ? " alerted" : ""}`, "data-queue-id": queue.queue_id,
      "data-channel": channel || null, "aria-labelledby": `queue-${queue.queue_id}` },
    el("h3", { id: `queue-${queue.queue_id}` }, queue.name,
      channel ? el("span", { class: "channel-tag", text: ` · ${channelName(channel)}` }) : null),
    el("dl", { class: "headline" },
      figure("Waiting", String(shown.waiting), "waiting"),
      figure("Oldest wait", duration(shown.oldest_wait_s),
        shown.oldest_wait_s > queue.alert_limits.max_oldest_wait_s ? "bad" : ""),
      figure("Service level (30 min)", percent(recent.service_level), below ? "bad" : ""),
      figure("Target", `${percent(target)} in ${duration(queue.service_level_threshold_s)}`)),
    sparkline(points.map((p) => (p ? p.waiting : null)), `Waiting${whole}, last hour`, null),
    sparkline(points.map((p) => (p ? p.service_level : null)), `Service level${whole}, last hour`, 1, target),
    el("dl", { class: "details" },
      figure("Service level today", percent(today.service_level)),
      figure("ASA", duration(recent.asa_s !== null ? recent.asa_s : today.asa_s)),
      figure("AHT", duration(today.aht_s)),
      figure("Abandoned", percent(today.abandon_rate)),
      figure("Arrived today", String(today.arrived)),
      figure("Answered", String(today.answered)),
      figure("Abandoned today", String(today.abandoned)),
      figure(`Agents available${whole}`, `${queue.available_agents} of ${queue.eligible_agents}`)),
    channel ? null : channelTable(queue.by_channel, `${queue.name} by channel`, false));
  }

  function channelName(channel) {
    return CHANNEL_LABELS[channel] || String(channel).replace(/_/g, " ");
  }

  /** A table of `byChannel` (a snapshot's `by_channel`), one row per channel: now and the
   * last 30 minutes; `full` adds offers and the day's figures (room for them in the centre's
   * table, not in a tile's, whose channel selector shows them instead). */
  function channelTable(byChannel, caption, full) {
    const channels = Object.entries(byChannel || {});
    if (!channels.length) return null;
    const heads = [["Channel"], ["Waiting"], ["Oldest", "Oldest wait"], ["SL 30 min", "Service level, last 30 minutes"]];
    if (full) {
      heads.push(["Offered now"], ["SL today", "Service level today"], ["ASA today", "Average speed of answer today"],
        ["Answered today"], ["Abandoned today"], ["AHT today", "Average handle time today"]);
    }
    const rows = channels.map(([channel, part]) => {
      const cells = [
        el("th", { scope: "row", text: channelName(channel) }),
        el("td", { class: "num", text: String(part.waiting) }),
        el("td", { class: "num", text: duration(part.oldest_wait_s) }),
        el("td", { class: "num", text: percent(part.last_30_min.service_level) }),
      ];
      if (full) {
        cells.push(
          el("td", { class: "num", text: String(part.offering) }),
          el("td", { class: "num", text: percent(part.today.service_level) }),
          el("td", { class: "num", text: duration(part.today.asa_s) }),
          el("td", { class: "num", text: String(part.today.answered) }),
          el("td", { class: "num", text: String(part.today.abandoned) }),
          el("td", { class: "num", text: duration(part.today.aht_s) }));
      }
      return el("tr", { "data-channel": channel }, ...cells);
    });
    // Short headings keep a tile narrow; `abbr` is what a screen reader says in their place.
    const headCells = heads.map(([text, spoken], index) => el("th", { scope: "col", text,
      class: index ? "num" : null, abbr: spoken || null, title: spoken || null }));
    return el("div", { class: "table-wrap" },
      el("table", { class: `channel-split${full ? " full" : ""}` },
        el("caption", { class: "split-caption", text: caption }),
        el("thead", {}, el("tr", {}, ...headCells)),
        el("tbody", {}, ...rows)));
  }

  function renderCentre(totals) {
    const box = $("#centre-totals");
    if (!totals) { box.replaceChildren(); return; }
    const recent = totals.last_30_min;
    const today = totals.today;
    box.replaceChildren(
      el("h3", { id: "centre-title", text: "All queues" }),
      el("dl", { class: "headline" },
        figure("Waiting", String(totals.waiting)),
        figure("Oldest wait", duration(totals.oldest_wait_s)),
        figure("Service level (30 min)", percent(recent.service_level)),
        figure("Service level today", percent(today.service_level)),
        figure("Arrived today", String(today.arrived)),
        figure("Answered today", String(today.answered))),
      channelTable(totals.by_channel, "By channel: now, the last 30 minutes and today", true));
  }

  /** An SVG polyline of `values` (nulls are gaps), scaled to `max` (or the largest value). */
  function sparkline(values, label, max, reference) {
    const width = 160;
    const height = 32;
    const svgNs = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("class", "spark");
    svg.setAttribute("role", "img");
    const known = values.filter((value) => value !== null && value !== undefined);
    const last = known.length ? known[known.length - 1] : null;
    const shown = last === null ? "no data yet" : (max === 1 ? percent(last) : String(last));
    svg.setAttribute("aria-label", `${label}: now ${shown}`);
    const top = max || Math.max(1, ...known);
    const step = values.length > 1 ? width / (values.length - 1) : width;
    const y = (value) => height - 2 - (Math.min(value, top) / top) * (height - 4);
    if (reference !== undefined && reference !== null) {
      const line = document.createElementNS(svgNs, "line");
      line.setAttribute("x1", "0"); line.setAttribute("x2", String(width));
      line.setAttribute("y1", String(y(reference))); line.setAttribute("y2", String(y(reference)));
      line.setAttribute("class", "reference");
      svg.append(line);
    }
    let run = [];
    const flush = () => {
      if (run.length) {
        const poly = document.createElementNS(svgNs, "polyline");
        poly.setAttribute("points", run.join(" "));
        svg.append(poly);
      }
      run = [];
    };
    values.forEach((value, index) => {
      if (value === null || value === undefined) { flush(); return; }
      run.push(`${(index * step).toFixed(1)},${y(value).toFixed(1)}`);
    });
    if (run.length === 1) run.push(`${width},${run[0].split(",")[1]}`);
    flush();
    const title = document.createElementNS(svgNs, "title");
    title.textContent = `${label}: now ${shown}`;
    svg.prepend(title);
    return svg;
  }

  function stateText(agent) {
    const label = STATE_LABELS[agent.state] || agent.state;
    return agent.reason ? `${label}: ${agent.reason.replace(/_/g, " ")}` : label;
  }

  function loadText(agent) {
    const parts = Object.entries(agent.load || {}).map(([channel, count]) => {
      const capacity = agent.capacity && agent.capacity[channel];
      return `${CHANNEL_LABELS[channel] || channel} ${count}${capacity ? `/${capacity}` : ""}`;
    });
    return parts.length ? parts.join(", ") : "–";
  }

  function handledText(agent) {
    const parts = Object.entries(agent.handled_today_by_channel || {});
    // One channel says nothing the total does not.
    if (parts.length < 2) return String(agent.handled_today);
    return `${agent.handled_today} (${parts.map(([channel, count]) => `${channelName(channel)} ${count}`).join(", ")})`;
  }

  function sinceSeconds(iso) {
    const at = Date.parse(iso);
    if (Number.isNaN(at)) return null;
    return (Date.now() - view.skewMs - at) / 1000;
  }

  function renderAgents(agents, byState) {
    const body = $("#agent-rows");
    const focusedId = document.activeElement && document.activeElement.closest("tr[data-agent-id]")
      ? document.activeElement.closest("tr[data-agent-id]").dataset.agentId : null;
    const focusedClass = document.activeElement ? document.activeElement.className : "";
    const existing = new Map([...body.children].map((row) => [row.dataset.agentId, row]));
    const rows = agents.map((agent) => {
      const row = existing.get(agent.agent_id) || agentRow(agent);
      updateAgentRow(row, agent);
      return row;
    });
    body.replaceChildren(...rows);
    if (focusedId) {
      const row = body.querySelector(`tr[data-agent-id="${focusedId}"]`);
      const target = row && focusedClass && row.querySelector(`.${focusedClass.split(" ")[0]}`);
      if (target && document.activeElement !== target) target.focus();
    }
    $("#agents-summary").textContent = Object.entries(byState || {})
      .map(([state, count]) => `${STATE_LABELS[state] || state}: ${count}`).join(" · ");
  }

  function agentRow(agent) {
    const select = el("select", { class: "state-choice", "aria-label": `New state for ${agent.name}` },
      ...STATE_CHOICES.map(([value, label]) => el("option", { value, text: label })));
    const button = el("button", { type: "button", class: "secondary set-state", text: "Set" });
    button.setAttribute("aria-label", `Set the state of ${agent.name}`);
    button.addEventListener("click", () => setAgentState(agent.agent_id, select.value, row));
    const row = el("tr", { "data-agent-id": agent.agent_id },
      el("th", { scope: "row", class: "name" }), el("td", { class: "state" }),
      el("td", { class: "since" }), el("td", { class: "load" }), el("td", { class: "handled" }),
      el("td", { class: "aht" }), el("td", { class: "actions" }, select, " ", button));
    return row;
  }

  function updateAgentRow(row, agent) {
    row.dataset.state = agent.state;
    row.dataset.since = agent.state_since || "";
    $(".name", row).textContent = agent.name;
    // The row outlives a rename: its controls are labelled by the name shown now.
    $(".state-choice", row).setAttribute("aria-label", `New state for ${agent.name}`);
    $(".set-state", row).setAttribute("aria-label", `Set the state of ${agent.name}`);
    const state = $(".state", row);
    state.textContent = stateText(agent);
    state.dataset.state = agent.state;
    $(".since", row).textContent = duration(sinceSeconds(agent.state_since));
    $(".load", row).textContent = loadText(agent);
    $(".handled", row).textContent = handledText(agent);
    $(".aht", row).textContent = duration(agent.aht_today_s);
  }

  function tickTimes() {
    for (const row of $("#agent-rows").children) {
      if (row.dataset.since) $(".since", row).textContent = duration(sinceSeconds(row.dataset.since));
    }
  }

  async function setAgentState(agentId, choice, row) {
    const [state, reason] = choice.split(":");
    const box = $("#agent-error");
    const button = $(".set-state", row);
    button.disabled = true;
    try {
      const presence = await request("PUT", `/supervisor/agents/${agentId}/state`,
        reason ? { state, reason } : { state });
      showError(box, null);
      announce(`${$(".name", row).textContent} is now ${STATE_LABELS[presence.state] || presence.state}.`);
    } catch (error) {
      showError(box, error);
    } finally {
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------- interactions

  function syncQueueChoices(queues) {
    const key = queues.map((queue) => `${queue.queue_id}:${queue.name}`).join("|");
    if (key === view.queueKey) return;
    view.queueKey = key;
    view.queues = queues;
    const filter = $("#filter-queue");
    const chosen = filter.value;
    filter.replaceChildren(el("option", { value: "", text: "All queues" }),
      ...queues.map((queue) => el("option", { value: queue.queue_id, text: queue.name })));
    filter.value = chosen;
    $("#move-queue").replaceChildren(...queues.map((queue) => el("option", { value: queue.name, text: queue.name })));
    if (view.items) renderInteractions(view.items); // their queue names are known now
  }

  function queueName(queueId) {
    const found = view.queues.find((queue) => queue.queue_id === queueId);
    return found ? found.name : "–";
  }

  let listTimer = null;

  async function loadInteractions() {
    window.clearTimeout(listTimer);
    if (!session.access) return;
    const params = new URLSearchParams({ limit: "50" });
    for (const name of ["queue_id", "channel"]) {
      const value = $(`#filters [name="${name}"]`).value;
      if (value) params.set(name, value);
    }
    const chosen = $("#filter-state").value;
    // "Open": one page per open state, merged newest first.
    const states = chosen ? [chosen] : OPEN_STATES;
    try {
      const pages = await Promise.all(states.map((state) => {
        const query = new URLSearchParams(params);
        query.set("state", state);
        return request("GET", `/interactions?${query}`);
      }));
      const items = pages.flatMap((page) => page.items || [])
        .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at)).slice(0, 50);
      renderInteractions(items);
      showError($("#interaction-error"), null);
    } catch (error) {
      showError($("#interaction-error"), error);
    }
    listTimer = window.setTimeout(loadInteractions, LIST_REFRESH_MS);
  }

  function renderInteractions(items) {
    view.items = items;
    const rows = items.map((item) => {
        const readButton = el("button", { type: "button", class: "secondary", text: "Read" });
        readButton.setAttribute("aria-label", `Read the conversation with ${item.customer_name || "the customer"}`);
        readButton.addEventListener("click", () => startMonitor(item));
        const moveButton = el("button", { type: "button", class: "secondary", text: "Move" });
        moveButton.setAttribute("aria-label", `Move the interaction of ${item.customer_name || "the customer"}`);
        moveButton.disabled = ["completed", "abandoned", "cancelled", "wrap_up"].includes(item.state);
        moveButton.addEventListener("click", () => openMove(item));
        const raiseButton = el("button", { type: "button", class: "secondary", text: "Raise priority" });
        raiseButton.setAttribute("aria-label", `Raise the priority of ${item.customer_name || "the customer"}`);
        raiseButton.disabled = item.state !== "queued" || (item.priority || 0) >= MAX_PRIORITY;
        raiseButton.addEventListener("click", () => raisePriority(item));
        return el("tr", { "data-interaction-id": item.id },
          el("th", { scope: "row", text: item.customer_name || "Unknown" }),
          el("td", { text: CHANNEL_LABELS[item.channel] || item.channel }),
          el("td", { text: queueName(item.queue_id) }),
          el("td", { text: INTERACTION_STATES[item.state] || item.state }),
          el("td", { text: item.queued_at ? clockTime(item.queued_at) : "–" }),
          el("td", { class: "actions" }, readButton, " ", moveButton, " ", raiseButton));
      });
    $("#interaction-rows").replaceChildren(...rows);
    show($("#interactions-empty"), rows.length === 0);
  }

  // Raising priority: a step up each press; the answer says the new place in line.
  async function raisePriority(item) {
    const priority = Math.min(MAX_PRIORITY, (item.priority || 0) + PRIORITY_STEP);
    try {
      const answer = await request("PUT", `/supervisor/interactions/${item.id}/priority`, { priority });
      announce(`Priority ${answer.priority}; now ${answer.position ? "number " + answer.position + " in line" : "being offered"}.`);
      loadInteractions();
    } catch (error) {
      announce(error.message || "Could not change the priority.");
    }
  }

  // Moving: a dialog with the queue list.
  let moving = null;

  function openMove(item) {
    moving = item;
    showError($("#move-error"), null);
    $("#move-note").value = "";
    $("#move-dialog").showModal();
    $("#move-queue").focus();
  }

  async function submitMove(event) {
    event.preventDefault();
    if (!moving) return;
    const note = $("#move-note").value.trim();
    const body = { queue: $("#move-queue").value };
    if (note) body.note = note;
    try {
      await request("POST", `/supervisor/interactions/${moving.id}/move`, body);
      $("#move-dialog").close();
      announce(`Moved to ${body.queue}.`);
      loadInteractions();
    } catch (error) {
      showError($("#move-error"), error);
    }
  }

  // ---------------------------------------------------------------- silent reading and whispers

  const monitor = { id: null, seqs: new Set(), channel: null };

  function startMonitor(item) {
    if (monitor.id && monitor.id !== item.id) send({ type: "unmonitor", interaction_id: monitor.id });
    monitor.id = item.id;
    monitor.seqs = new Set();
    monitor.channel = item.channel;
    startCall(item.id, item.channel);
    $("#monitor-messages").replaceChildren();
    $("#monitor-meta").textContent = `${item.customer_name || "Customer"} · ${INTERACTION_STATES[item.state] || item.state}`;
    showError($("#whisper-error"), null);
    show($("#monitor"), true);
    send({ type: "monitor", interaction_id: item.id });
    $("#monitor").focus();
  }

  function onMonitoring(frame) {
    if (frame.interaction_id !== monitor.id) return;
    const customer = (frame.customer && frame.customer.name) || "Customer";
    $("#monitor-meta").textContent = `${customer} · ${INTERACTION_STATES[frame.state] || frame.state} · ${CHANNEL_LABELS[frame.channel] || frame.channel}`;
    if (frame.channel && frame.channel !== monitor.channel) {
      monitor.channel = frame.channel;
      startCall(monitor.id, frame.channel);
    }
  }

  function onMonitorEvent(frame) {
    if (frame.interaction_id !== monitor.id) return;
    const label = String(frame.event || "").replace("interaction.", "").replace(/_/g, " ");
    $("#monitor-messages").append(el("li", { class: "event", text: `— ${label} —` }));
  }

  function addMonitorMessage(frame) {
    if (frame.interaction_id !== monitor.id || monitor.seqs.has(frame.seq)) return;
    monitor.seqs.add(frame.seq);
    const who = frame.from === "customer" ? (frame.author || "Customer")
      : frame.from === "supervisor" ? `${frame.author || "Supervisor"} (whisper)` : (frame.author || frame.from);
    const item = el("li", { class: `message from-${frame.from}${frame.internal ? " internal" : ""}`, "data-seq": String(frame.seq) },
      el("span", { class: "author", text: who }), " ",
      el("time", { text: clockTime(frame.sent_at) }),
      el("p", { class: "body", text: frame.body == null ? "" : String(frame.body) }));
    const list = $("#monitor-messages");
    const after = [...list.children].find((child) => Number(child.dataset.seq) > frame.seq);
    list.insertBefore(item, after || null);
  }

  async function sendWhisper(event) {
    event.preventDefault();
    const box = $("#whisper-body");
    const text = box.value.trim();
    if (!text || !monitor.id) return;
    try {
      const message = await request("POST", `/supervisor/interactions/${monitor.id}/whisper`, { body: text });
      addMonitorMessage(message);
      box.value = "";
      showError($("#whisper-error"), null);
    } catch (error) {
      showError($("#whisper-error"), error);
    }
  }

  function stopMonitor() {
    if (monitor.id) send({ type: "unmonitor", interaction_id: monitor.id });
    monitor.id = null;
    stopCall();
    show($("#monitor"), false);
  }

  // ---------------------------------------------------------------- the call of the interaction read

  const call = { id: null, timer: null, generation: 0, status: null };

  function startCall(interactionId, channel) {
    stopCall();
    if (!MAY_HAVE_CALL.includes(channel)) return;
    call.id = interactionId;
    call.generation += 1;
    if (CALL_CHANNELS.includes(channel)) {
      // A phone or video interaction has a call section from the start, even before it rings.
      $("#call-body").replaceChildren(el("p", { class: "empty", text: "Loading the call…" }));
      show($("#monitor-call"), true);
    }
    loadCall(call.generation, channel);
  }

  function stopCall() {
    window.clearTimeout(call.timer);
    call.timer = null;
    call.id = null;
    call.status = null;
    call.generation += 1;
    show($("#monitor-call"), false);
    $("#call-body").replaceChildren();
  }

  async function loadCall(generation, channel) {
    const interactionId = call.id;
    if (!interactionId) return;
    let found = null;
    let failure = null;
    try {
      found = await request("GET", `/interactions/${interactionId}/call`);
    } catch (error) {
      failure = error;
    }
    // The panel was closed or moved to another interaction while this was on its way.
    if (generation !== call.generation) return;
    if (found) {
      renderCall(found);
    } else if (!failure || failure.status === 404 || failure.status === 409) {
      // No call (yet): a chat shows nothing, a phone or video interaction says so.
      if (CALL_CHANNELS.includes(channel)) {
        $("#call-body").replaceChildren(el("p", { class: "empty", text: "The call has not started yet." }));
      } else {
        show($("#monitor-call"), false);
      }
    } else {
      // Not an alert: it would be read out again every refresh.
      $("#call-body").replaceChildren(el("p", { class: "error",
        text: failure.status === 0 ? "The server cannot be reached. Check your connection." : failure.message }));
      show($("#monitor-call"), true);
    }
    call.timer = window.setTimeout(() => loadCall(generation, channel), CALL_REFRESH_MS);
  }

  /** good, fair or poor from the worst of the figures a side reported (null: none). */
  function qualityRating(side) {
    const keys = ["rtt_ms", "jitter_ms", "loss_pct"].filter((key) => side[key] !== null && side[key] !== undefined);
    if (!keys.length) return null;
    if (keys.some((key) => side[key] > POOR[key])) return "poor";
    if (keys.every((key) => side[key] < GOOD[key])) return "good";
    return "fair";
  }

  function measure(value, unit, digits) {
    return value === null || value === undefined ? "–" : `${Number(value).toFixed(digits)} ${unit}`;
  }

  function holdText(found) {
    let seconds = found.hold_s || 0;
    const since = found.held_since ? sinceSeconds(found.held_since) : null;
    if (since !== null) seconds += since;
    return duration(seconds);
  }

  function talkText(found) {
    if (found.talk_s !== null && found.talk_s !== undefined) return duration(found.talk_s);
    if (found.connected_at) return `In progress since ${clockTime(found.connected_at)}`;
    return "–";
  }

  function renderCall(found) {
    const status = CALL_STATUS[found.status] || found.status;
    if (call.status && call.status !== found.status) announce(`Call ${status.toLowerCase()}.`);
    call.status = found.status;
    const figures = el("dl", { class: "call-figures" },
      figure("Status", found.held_since ? `${status} since ${clockTime(found.held_since)}` : status, "call-status"),
      figure("Talk time", talkText(found), "call-talk"),
      figure("Hold time", holdText(found), "call-hold"),
      figure("Holds", String(found.hold_count || 0), "call-holds"),
      figure("Ended by", found.ended_by ? (PARTIES[found.ended_by] || found.ended_by) : "–", "call-ended-by"),
      found.legs > 1 ? figure("Legs", String(found.legs), "call-legs") : null);
    const quality = found.quality || {};
    const rows = [["customer", "Customer"], ["agent", "Agent"]].map(([side, label]) => {
      const got = quality[side];
      if (!got) {
        return el("tr", { "data-side": side }, el("th", { scope: "row", text: label }),
          el("td", { colspan: "4", class: "empty", text: "No report yet" }));
      }
      const rating = qualityRating(got);
      return el("tr", { "data-side": side, "data-rating": rating || "" },
        el("th", { scope: "row", text: label }),
        el("td", { class: "num", text: measure(got.rtt_ms, "ms", 0) }),
        el("td", { class: "num", text: measure(got.jitter_ms, "ms", 0) }),
        el("td", { class: "num", text: measure(got.loss_pct, "%", 1).replace(" %", "%") }),
        el("td", { class: `rating${rating ? ` rating-${rating}` : ""}`,
          text: rating ? `${rating[0].toUpperCase()}${rating.slice(1)}` : "–",
          title: got.at ? `${got.samples} readings, last at ${clockTime(got.at)}` : null }));
    });
    const table = el("table", { class: "board call-quality" },
      el("caption", { text: "Quality by side (good: round trip under 150 ms, jitter under 30 ms and loss under 1%; poor: over 400 ms, 100 ms or 5%)" }),
      el("thead", {}, el("tr", {}, ...["Side", "Round trip", "Jitter", "Packet loss", "Rating"]
        .map((head, index) => el("th", { scope: "col", text: head, class: index && index < 4 ? "num" : null })))),
      el("tbody", {}, ...rows));
    $("#call-body").replaceChildren(figures, el("div", { class: "table-wrap" }, table));
    show($("#monitor-call"), true);
  }

  // ---------------------------------------------------------------- start

  document.addEventListener("DOMContentLoaded", () => {
    $("#signin-form").addEventListener("submit", signIn);
    $("#sign-out").addEventListener("click", () => signOut());
    $("#filters").addEventListener("submit", (event) => { event.preventDefault(); loadInteractions(); });
    $("#whisper-form").addEventListener("submit", sendWhisper);
    $("#monitor-close").addEventListener("click", stopMonitor);
    $("#queue-channel").addEventListener("change", (event) => {
      view.channel = event.target.value;
      if (view.snapshot) renderQueues(view.snapshot.queues);
    });
    $("#move-form").addEventListener("submit", submitMove);
    $("#move-cancel").addEventListener("click", () => $("#move-dialog").close());
    window.setInterval(tickTimes, 1000);
    if (loadSession()) {
      if (session.expiresAt - Date.now() < REFRESH_MARGIN_S * 1000) {
        refreshTokens().then(start, () => {});
      } else {
        acceptTokens({ access_token: session.access, refresh_token: session.refresh,
          expires_in: (session.expiresAt - Date.now()) / 1000 });
        start();
      }
    } else {
      $("#signin-username").focus();
    }
  });
})();
