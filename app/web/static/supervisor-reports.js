/* Switchboard supervisor reports: a date range, queue and agent figures by 15-minute
 * interval (split by channel, or narrowed to one), dispositions, satisfaction and the trend
 * of top topics, with charts drawn here in SVG and CSV downloads. Renders into <section id="reports"> of the supervisor page.
 * Plain JavaScript, no framework, nothing loaded from another origin.
 * The API is described in docs/reports.md.
 *
 * The session is the page's own: window.SwitchboardSupervisor (set by supervisor.js) when
 * present, else the access token kept in sessionStorage under the page's key. */
"use strict";

(function () {
  const API = "/api/v1";
  const STORAGE_KEY = "switchboard.supervisor.session";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const INTERVAL_MS = 900 * 1000;
  const MAX_DAYS = 92;
  const MAX_TABLE_ROWS = 400; // longer tables: the CSV download has every row
  const SHORT_INTERVALS = 32; // up to 8 hours, charts show every interval
  const DAILY_AFTER_INTERVALS = 2 * 96; // up to two days, hours; beyond, days
  const COLOURS = ["#0b5394", "#b45f06", "#38761d", "#741b47", "#134f5c", "#7f6000", "#cc0000", "#3d85c6"];
  const COMMON_ZONES = ["UTC", "America/New_York", "America/Chicago", "America/Denver",
    "America/Phoenix", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
    "America/Puerto_Rico", "Europe/London", "Europe/Madrid"];
  // The API's channel values (app/routing/model.py Channel), in its order, with their names.
  const CHANNELS = [["chat", "Chat"], ["voice", "Voice"], ["video", "Video"], ["email", "Email"],
    ["sms", "SMS"], ["postal_mail", "Postal mail"], ["walk_in", "Walk-in"]];
  const CHANNEL_NAMES = new Map(CHANNELS);

  const root = document.getElementById("reports");
  if (!root) return;

  // ---------------------------------------------------------------- small helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
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
    return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`;
  }

  function isoDate(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }

  /** "2026-11-23T14:15:00+05:30" -> "23 Nov 14:15", as the report's zone shows it. */
  function localLabel(iso, withTime) {
    const [day, rest] = iso.split("T");
    const [, month, dayOfMonth] = day.split("-");
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const text = `${Number(dayOfMonth)} ${months[Number(month) - 1]}`;
    return withTime && rest ? `${text} ${rest.slice(0, 5)}` : text;
  }

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (_) { return "UTC"; }
  }

  class ReportError extends Error {
    constructor(status, body) {
      super((body && (body.detail || body.title)) || `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  // ---------------------------------------------------------------- session and REST

  function page() { return window.SwitchboardSupervisor || null; }

  function accessToken() {
    const shared = page();
    if (shared && typeof shared.token === "function") return shared.token();
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
      return saved && saved.access_token;
    } catch (_) { return null; }
  }

  async function getJson(path) {
    const shared = page();
    // The page's own request refreshes an expired token and retries once.
    if (shared && typeof shared.request === "function") {
      try { return await shared.request("GET", path); } catch (error) {
        throw new ReportError(error.status || 0, error.body || { detail: error.message });
      }
    }
    const response = await fetchWithToken(path, "application/json");
    const text = await response.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch (_) { data = { detail: text }; } }
    if (!response.ok) throw new ReportError(response.status, data);
    return data;
  }

  async function fetchWithToken(path, accept) {
    const headers = { Accept: `${accept}, application/problem+json` };
    const token = accessToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await fetch(API + path, { headers, cache: "no-store" });
    } catch (_) {
      throw new ReportError(0, { detail: "The server cannot be reached. Check your connection." });
    }
  }

  async function downloadCsv(path) {
    let response = await fetchWithToken(path, "text/csv");
    if (response.status === 401 && page()) {
      // Let the page refresh the session (a small JSON call), then try once more.
      await getJson("/reports/topics?limit=1").catch(() => {});
      response = await fetchWithToken(path, "text/csv");
    }
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (_) { /* not JSON */ }
      throw new ReportError(response.status, body);
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: match ? match[1] : "switchboard-report.csv", hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---------------------------------------------------------------- the form

  const state = { query: null, loading: false };
  const today = isoDate(new Date());
  const form = el("form", { class: "filters rp-form", novalidate: true });
  const fromInput = el("input", { type: "date", id: "rp-from", value: today, required: true });
  const toInput = el("input", { type: "date", id: "rp-to", value: today, required: true });
  const zoneInput = el("input", { type: "text", id: "rp-tz", value: browserZone(), list: "rp-zones",
    autocomplete: "off", spellcheck: "false", size: 18 });
  const zoneList = el("datalist", { id: "rp-zones" });
  for (const zone of new Set([browserZone(), ...COMMON_ZONES])) zoneList.append(el("option", { value: zone }));
  const queueSelect = el("select", { id: "rp-queue" }, el("option", { value: "" }, "All queues"));
  const channelSelect = el("select", { id: "rp-channel" }, el("option", { value: "" }, "All channels"),
    ...CHANNELS.map(([value, name]) => el("option", { value }, name)));
  const submit = el("button", { type: "submit" }, "Show reports");
  const errorBox = el("p", { class: "error", role: "alert", hidden: true });
  const status = el("p", { class: "hint", role: "status", "aria-live": "polite" },
    "Choose the days and press Show reports.");
  const output = el("div", { class: "rp-output" });

  function field(label, input, hint) {
    return el("div", { class: "field" }, el("label", { for: input.id }, label), input,
      hint ? el("span", { class: "rp-hint" }, hint) : null);
  }

  form.append(
    field("From", fromInput),
    field("To (included)", toInput),
    field("Time zone", zoneInput),
    zoneList,
    field("Queue", queueSelect),
    field("Channel", channelSelect),
    el("div", { class: "field" }, submit),
  );
  root.append(
    el("h2", { id: "reports-title" }, "Reports"),
    el("p", { class: "hint" }, "Figures by 15-minute interval, counted in the interval in which ",
      "each thing happened (an arrival when it entered the queue, an answer when it was accepted; ",
      "a voice or video call is answered when it connects). Queue and agent totals are split by ",
      `channel. Up to ${MAX_DAYS} days at a time.`),
    form, errorBox, status, output,
  );
  root.setAttribute("aria-labelledby", "reports-title");

  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  }

  function problemMessage(error) {
    if (error.status === 0) return "The server cannot be reached. Check your connection.";
    if (error.status === 401) return "Your session has ended. Please sign in again.";
    if (error.status === 403) return "Reports are for supervisors and admins.";
    const fields = (error.body.errors || []).map((item) => `${item.field.replace("query.", "")}: ${item.message}`);
    return fields.length ? `Check these: ${fields.join("; ")}.` : error.message;
  }

  function readForm() {
    const from = fromInput.value;
    const to = toInput.value;
    if (!from || !to) return { error: "Choose both days." };
    if (to < from) return { error: "The last day comes before the first." };
    const days = (Date.parse(to) - Date.parse(from)) / 86400000 + 1;
    if (days > MAX_DAYS) return { error: `Choose at most ${MAX_DAYS} days.` };
    const params = new URLSearchParams({ from, to, tz: zoneInput.value.trim() || "UTC" });
    if (queueSelect.value) params.set("queue_id", queueSelect.value);
    if (channelSelect.value) params.set("channel", channelSelect.value);
    return { params };
  }

  let queuesFilled = false;

  async function fillQueues() {
    if (queuesFilled || !accessToken()) return;
    queuesFilled = true;
    try {
      const data = await getJson("/queues?limit=200");
      const items = Array.isArray(data) ? data : (data && data.items) || [];
      items.sort((a, b) => String(a.name).localeCompare(String(b.name)));
      for (const queue of items) queueSelect.append(el("option", { value: queue.id }, queue.name));
    } catch (_) {
      queuesFilled = false; // the filter stays at "All queues"; try again later
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (state.loading) return;
    const { params, error } = readForm();
    showError(error);
    if (error) return;
    state.loading = true;
    submit.disabled = true;
    status.textContent = "Loading reports…";
    try {
      await load(params);
      state.query = params;
    } catch (failure) {
      showError(problemMessage(failure));
      status.textContent = "";
    } finally {
      state.loading = false;
      submit.disabled = false;
    }
  });

  async function load(params) {
    const query = params.toString();
    const agentParams = new URLSearchParams(params);
    agentParams.delete("queue_id");
    const [queues, agents, dispositions, satisfaction, topics, byAgent] = await Promise.all([
      getJson(`/reports/queues?${query}`),
      getJson(`/reports/agents?${agentParams}`),
      getJson(`/reports/dispositions?${query}`),
      getJson(`/reports/satisfaction?${query}`),
      getJson(`/reports/topics?${query}&limit=8`),
      getJson(`/reports/satisfaction?${query}&by=agent`),
    ]);
    output.replaceChildren(
      queueSection(queues, query),
      agentSection(agents, agentParams.toString()),
      dispositionSection(dispositions, query),
      satisfactionSection(satisfaction, byAgent, query),
      topicSection(topics, `${query}&limit=8`),
    );
    const days = periodDays(queues.period);
    status.textContent = `Reports for ${localLabel(days[0])} to ${localLabel(days[days.length - 1])} `
      + `(${queues.period.tz}).`;
  }

  // ---------------------------------------------------------------- sections

  function section(title, csvPath, ...content) {
    const button = el("button", { type: "button", class: "secondary rp-download" }, "Download CSV");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try { await downloadCsv(csvPath); showError(""); } catch (error) { showError(problemMessage(error)); }
      finally { button.disabled = false; }
    });
    return el("section", { class: "rp-section" },
      el("div", { class: "rp-head" }, el("h3", {}, title), button), ...content);
  }

  function table(caption, headers, rows, numericFrom) {
    const head = el("tr", {}, ...headers.map((text, index) =>
      el("th", { scope: "col", class: index >= numericFrom ? "rp-num" : null }, text)));
    const body = el("tbody");
    // A row is an array of cells, or { cells, kind } where kind "main" is a line that has
    // "sub" lines (its channels) under it.
    for (const row of rows.slice(0, MAX_TABLE_ROWS)) {
      const cells = Array.isArray(row) ? row : row.cells;
      const kind = Array.isArray(row) ? null : `rp-${row.kind}`;
      body.append(el("tr", { class: kind }, ...cells.map((cell, index) => index === 0
        ? el("th", { scope: "row" }, cell)
        : el("td", { class: index >= numericFrom ? "rp-num" : null }, cell))));
    }
    const wrap = el("div", { class: "table-wrap" },
      el("table", { class: "board rp-table" }, el("caption", { class: "visually-hidden" }, caption),
        el("thead", {}, head), body));
    if (rows.length > MAX_TABLE_ROWS) {
      wrap.append(el("p", { class: "hint" },
        `Showing ${MAX_TABLE_ROWS} of ${rows.length} rows; the CSV download has them all.`));
    }
    return wrap;
  }

  function empty(text) { return el("p", { class: "empty" }, text); }

  function channelName(value) { return CHANNEL_NAMES.get(value) || value; }

  /** A line's rows: its own, then (over all channels) one per channel it had activity on.
   * A screen reader hears the line's name before each channel's. */
  function withChannels(name, line, cellsOf, split) {
    if (!split) return [[name, ...cellsOf(line)]];
    const rows = [{ kind: "main", cells: [name, ...cellsOf(line)] }];
    for (const [channel, figures] of Object.entries(line.by_channel || {})) {
      rows.push({ kind: "sub", cells: [
        el("span", {}, el("span", { "aria-hidden": "true" }, "↳ "),
          el("span", { class: "visually-hidden" }, `${name}, `), channelName(channel)),
        ...cellsOf(figures),
      ] });
    }
    return rows;
  }

  function queueSection(report, query) {
    const queueFiltered = query.includes("queue_id=");
    const channel = report.channel;
    if (!report.totals.length) {
      const what = channel ? `No ${channelName(channel).toLowerCase()} queue activity` : "No queue activity";
      return section("Queues", `/reports/queues?${query}&format=csv`, empty(`${what} in these days.`));
    }
    const figures = (q) => [q.arrived, q.answered, q.abandoned, percent(q.service_level), duration(q.asa_s),
      percent(q.abandon_rate), duration(q.aht_s), duration(q.avg_first_response_s)];
    const totals = table(channel ? `Queue totals, ${channelName(channel)}` : "Queue totals by channel",
      [channel ? `Queue (${channelName(channel)})` : "Queue / channel", "Arrived", "Answered", "Abandoned",
        "Service level", "ASA", "Abandon rate", "AHT", "First response"],
      report.totals.flatMap((q) => withChannels(q.queue_name, q, figures, !channel)), 1);
    const series = chartSeries(report);
    const shown = (queueFiltered ? report.totals[0].queue_name : "all queues")
      + (channel ? `, ${channelName(channel)}` : "");
    const charts = el("div", { class: "rp-charts" },
      lineChart(`Arrivals ${series.per}, ${shown}`, series.labels,
        [{ name: "Arrived", values: series.arrivals }], { integer: true }),
      lineChart(`Service level ${series.per}, ${shown}`, series.labels,
        [{ name: "Service level", values: series.levels }], { ratio: true }));
    const intervals = el("details", { class: "rp-details" },
      el("summary", {}, `Every interval (${report.intervals.length})`),
      table("Queue intervals", ["Interval", "Queue", "Arrived", "Answered", "Within threshold",
        "Abandoned", "After threshold", "Service level", "ASA", "AHT"], report.intervals.map((row) => [
        localLabel(row.interval_start, true), row.queue_name, row.arrived, row.answered,
        row.answered_within_threshold, row.abandoned, row.abandoned_after_threshold,
        percent(row.service_level), duration(row.asa_s), duration(row.aht_s),
      ]), 2));
    return section("Queues", `/reports/queues?${query}&format=csv`, totals, charts, intervals);
  }

  /** "YYYY-MM-DD HH:MM" of an instant in an IANA zone (the browser knows the zones). */
  function localKeyFormat(tz) {
    let parts;
    try {
      parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit",
        day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    } catch (_) {
      return (ms) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
    }
    return (ms) => {
      const found = {};
      for (const part of parts.formatToParts(new Date(ms))) found[part.type] = part.value;
      return `${found.year}-${found.month}-${found.day} ${found.hour}:${found.minute}`;
    };
  }

  /** The local days of a report period, as YYYY-MM-DD strings. */
  function periodDays(period) {
    const keyOf = localKeyFormat(period.tz);
    const first = period.start.slice(0, 10);
    const last = keyOf(Date.parse(period.end) - 1).slice(0, 10);
    const days = [];
    for (let at = Date.parse(`${first}T00:00:00Z`); days.length <= MAX_DAYS; at += 86400000) {
      const day = new Date(at).toISOString().slice(0, 10);
      days.push(day);
      if (day >= last) break;
    }
    return days;
  }

  /** Chart series over all queues shown: per 15 minutes for a short period, per local hour
   * up to two days, per local day beyond. Counts are summed and the service level
   * recomputed from the sums (DESIGN.md: answered within threshold ÷ (answered + abandoned
   * after threshold)), never averaged. */
  function chartSeries(report) {
    const period = report.period;
    const start = Math.floor(Date.parse(period.start) / INTERVAL_MS) * INTERVAL_MS;
    const end = Date.parse(period.end);
    const intervals = (end - start) / INTERVAL_MS;
    const unit = intervals <= SHORT_INTERVALS ? "minute" : intervals <= DAILY_AFTER_INTERVALS ? "hour" : "day";
    const width = { minute: 16, hour: 13, day: 10 }[unit];
    const keyOf = localKeyFormat(period.tz);
    const slotOf = new Map();
    const keys = [];
    for (let at = start; at < end; at += INTERVAL_MS) {
      const key = keyOf(at).slice(0, width);
      if (slotOf.has(key)) continue;
      slotOf.set(key, keys.length);
      keys.push(key);
    }
    const oneDay = keys.every((key) => key.slice(0, 10) === keys[0].slice(0, 10));
    const labels = keys.map((key) => {
      if (unit === "day") return localLabel(key);
      const time = `${key.slice(11, 13)}:${unit === "hour" ? "00" : key.slice(14, 16)}`;
      return oneDay ? time : `${localLabel(key)} ${time}`;
    });
    const cells = labels.map(() => ({ arrived: 0, answered: 0, within: 0, after: 0 }));
    for (const row of report.intervals) {
      const slot = slotOf.get(keyOf(Date.parse(row.interval_start)).slice(0, width));
      if (slot === undefined) continue;
      const cell = cells[slot];
      cell.arrived += row.arrived;
      cell.answered += row.answered;
      cell.within += row.answered_within_threshold;
      cell.after += row.abandoned_after_threshold;
    }
    const levels = cells.map((cell) => {
      const denominator = cell.answered + cell.after;
      return denominator ? cell.within / denominator : null;
    });
    const per = { minute: "per 15 minutes", hour: "per hour", day: "per day" }[unit];
    return { labels, per, arrivals: cells.map((cell) => cell.arrived), levels };
  }

  function agentSection(report, query) {
    const path = `/reports/agents?${query}&format=csv`;
    const channel = report.channel;
    if (!report.totals.length) return section("Agents", path, empty("No agent activity in these days."));
    const figures = (a) => [a.answered, a.handled, duration(a.handle_s), duration(a.aht_s)];
    const totals = table(channel ? `Agent totals, ${channelName(channel)}` : "Agent totals by channel",
      [channel ? `Agent (${channelName(channel)})` : "Agent / channel", "Answered", "Handled", "Handle time", "AHT"],
      report.totals.flatMap((a) => withChannels(a.agent_name, a, figures, !channel)), 1);
    const chart = barChart("Handled per agent", report.totals.map((a) => ({ label: a.agent_name, value: a.handled })));
    const intervals = el("details", { class: "rp-details" },
      el("summary", {}, `Every interval (${report.intervals.length})`),
      table("Agent intervals", ["Interval", "Agent", "Answered", "Handled", "AHT"], report.intervals.map((row) => [
        localLabel(row.interval_start, true), row.agent_name, row.answered, row.handled, duration(row.aht_s),
      ]), 2));
    return section("Agents", path, totals, chart, intervals,
      el("p", { class: "hint" }, "Occupancy is not in reports: presence history is not stored."));
  }

  function dispositionSection(report, query) {
    const path = `/reports/dispositions?${query}&format=csv`;
    if (!report.totals.length) return section("Services taken (dispositions)", path, empty("No dispositions recorded."));
    const chart = barChart("Dispositions", report.totals.map((d) => ({ label: d.label, value: d.count })));
    const rows = table("Dispositions per queue", ["Queue", "Disposition", "Count"],
      report.rows.map((d) => [d.queue_name, d.label, d.count]), 2);
    return section("Services taken (dispositions)", path, chart, rows);
  }

  function satisfactionSection(report, byAgent, query) {
    const path = `/reports/satisfaction?${query}&format=csv`;
    const overall = report.overall;
    if (!overall.count) return section("Satisfaction", path, empty("No ratings for interactions ended in these days."));
    const average = overall.average === null ? "–" : overall.average.toFixed(2);
    const chart = barChart(`Ratings (average ${average} of 5, ${overall.count} ratings)`,
      ["1", "2", "3", "4", "5"].map((score) => ({ label: `${score} ★`, value: overall.distribution[score] })));
    const ratingTable = (caption, first, rows) => table(caption,
      [first, "Ratings", "Average", "1 ★", "2 ★", "3 ★", "4 ★", "5 ★"],
      rows.map((r) => [r.name, r.count, r.average === null ? "–" : r.average.toFixed(2),
        ...["1", "2", "3", "4", "5"].map((score) => r.distribution[score])]), 1);
    return section("Satisfaction", path, chart,
      ratingTable("Satisfaction per queue", "Queue", report.rows),
      el("details", { class: "rp-details" }, el("summary", {}, "Per agent"),
        ratingTable("Satisfaction per agent", "Agent", byAgent.rows)));
  }

  function topicSection(report, query) {
    const path = `/reports/topics?${query}&format=csv`;
    if (!report.topics.length) return section("Top topics", path, empty("No topics in these days."));
    const labels = report.days.map((day) => localLabel(day));
    const chart = labels.length === 1
      ? barChart("Top topics", report.topics.map((topic) => ({ label: topic.topic, value: topic.total })))
      : lineChart("Top topics per day", labels,
        report.topics.map((topic) => ({ name: topic.topic, values: topic.counts })), { integer: true });
    const rows = table("Top topics", ["Topic", "Total", ...labels],
      report.topics.map((topic) => [topic.topic, topic.total, ...topic.counts]), 1);
    return section("Top topics", path, chart, rows);
  }

  // ---------------------------------------------------------------- charts (SVG)

  function figure(title, chart, legend) {
    return el("figure", { class: "rp-figure" }, el("figcaption", {}, title), chart, legend || null);
  }

  /** Horizontal bars, one per item, longest first as given. */
  function barChart(title, items) {
    const width = 560;
    const row = 22;
    const labelWidth = 190;
    const height = items.length * row + 8;
    const max = Math.max(1, ...items.map((item) => item.value));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "rp-chart", role: "img",
      "aria-label": `${title}: ${items.map((item) => `${item.label} ${item.value}`).join(", ")}` });
    items.forEach((item, index) => {
      const y = 4 + index * row;
      const barWidth = ((width - labelWidth - 50) * item.value) / max;
      chart.append(
        svg("text", { x: labelWidth - 6, y: y + 15, "text-anchor": "end", class: "rp-label",
          text: item.label.length > 28 ? `${item.label.slice(0, 27)}…` : item.label }),
        svg("rect", { x: labelWidth, y: y + 3, width: Math.max(barWidth, item.value ? 2 : 0), height: row - 8,
          fill: COLOURS[0], rx: 2 }),
        svg("text", { x: labelWidth + barWidth + 6, y: y + 15, class: "rp-label", text: String(item.value) }),
      );
    });
    return figure(title, chart);
  }

  /** Lines over a shared x axis; null values break a line (e.g. no service level defined). */
  function lineChart(title, labels, series, options) {
    const opts = options || {};
    const width = 640;
    const height = 220;
    const left = 44;
    const right = 10;
    const top = 10;
    const bottom = 34;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    const all = series.flatMap((one) => one.values.filter((v) => v !== null));
    const max = opts.ratio ? 1 : Math.max(1, ...all);
    const count = Math.max(labels.length, 1);
    const x = (index) => left + (count === 1 ? plotWidth / 2 : (plotWidth * index) / (count - 1));
    const y = (value) => top + plotHeight - (plotHeight * value) / max;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "rp-chart", role: "img",
      "aria-label": `${title}, ${series.length} series over ${labels.length} points; the table has the figures` });
    for (const fraction of [0, 0.5, 1]) {
      const value = max * fraction;
      chart.append(
        svg("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "rp-grid" }),
        svg("text", { x: left - 4, y: y(value) + 4, "text-anchor": "end", class: "rp-label",
          text: opts.ratio ? `${Math.round(value * 100)}%` : String(opts.integer ? Math.round(value) : value) }),
      );
    }
    const step = Math.max(1, Math.ceil(count / 6));
    for (let index = 0; index < labels.length; index += step) {
      const anchor = count === 1 ? "middle" : index === 0 ? "start" : index + step >= labels.length ? "end" : "middle";
      chart.append(svg("text", { x: x(index), y: height - 12, "text-anchor": anchor, class: "rp-label",
        text: labels[index] }));
    }
    series.forEach((one, seriesIndex) => {
      const colour = COLOURS[seriesIndex % COLOURS.length];
      let points = [];
      const flush = () => {
        if (points.length === 1) {
          const [px, py] = points[0].split(",");
          chart.append(svg("circle", { cx: px, cy: py, r: 2.5, fill: colour }));
        } else if (points.length > 1) {
          chart.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: colour,
            "stroke-width": 2 }));
        }
        points = [];
      };
      one.values.forEach((value, index) => {
        if (value === null || value === undefined) { flush(); return; }
        points.push(`${x(index).toFixed(1)},${y(value).toFixed(1)}`);
      });
      flush();
    });
    const legend = el("ul", { class: "rp-legend" }, ...series.map((one, index) =>
      el("li", {}, el("span", { class: "rp-swatch", "data-colour": String(index % COLOURS.length) }), one.name)));
    return figure(title, chart, legend);
  }

  // The page signs in after this script runs: fetch the queue list when first needed.
  queueSelect.addEventListener("focus", fillQueues);
  form.addEventListener("submit", fillQueues);
  if (!document.querySelector('link[href="/static/supervisor-reports.css"]')) {
    document.head.append(el("link", { rel: "stylesheet", href: "/static/supervisor-reports.css" }));
  }
  fillQueues();
})();
