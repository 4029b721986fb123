/*
 * Switchboard claimant chat: pre-chat form, live chat over /ws/chat, rating and transcript.
 *
 * Plain script, no build step, nothing loaded from another origin. The REST calls and
 * websocket frames are described in docs/realtime-protocol.md. User text is only ever
 * written with textContent, never innerHTML.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------- strings (en, es)

  const STRINGS = {
    en: {
      title: "Chat",
      heading: "Chat with us",
      languageGroup: "Language",
      intro: "Tell us a little about your question and we will connect you with a specialist.",
      name: "Your name",
      language: "Preferred language",
      topic: "Topic",
      chooseTopic: "Choose a topic",
      chooseTopicError: "Please choose a topic.",
      email: "Email (optional)",
      caseNumber: "Claim or case number (optional)",
      message: "How can we help?",
      counter: "{n} of {max} characters",
      counterOver: "{n} of {max} characters: {over} too many",
      start: "Start chat",
      starting: "Starting…",
      optionsFailed: "The chat is not available right now. We will keep trying.",
      required: "Please fill in this field.",
      tooLong: "This is too long: at most {max} characters.",
      badEmail: "Enter an email address like name@example.org, or leave it empty.",
      network: "We could not reach the service. Check your connection and try again.",
      rateLimited: "Too many attempts. Please wait {s} seconds and try again.",
      genericError: "Something went wrong. Please try again.",
      conversation: "Conversation",
      queue: "You are number {n} in line, about {m} minutes.",
      queueOneMinute: "You are number {n} in line, about 1 minute.",
      queueNoEstimate: "You are number {n} in line.",
      waiting: "Waiting for a specialist…",
      agentJoined: "{name} joined the chat",
      transferred: "You are being transferred. Please stay in the chat.",
      agentTyping: "{name} is typing…",
      specialist: "Specialist",
      you: "You",
      sending: "Sending…",
      sent: "Sent",
      read: "Read",
      notSent: "Not sent: {detail}",
      notSentShort: "Not sent",
      composeLabel: "Type your message",
      composeHint: "Press Enter to send, Shift+Enter for a new line.",
      send: "Send",
      end: "End chat",
      confirmEnd: "End this chat?",
      confirmEndYes: "Yes, end chat",
      confirmEndNo: "Keep chatting",
      reconnecting: "Connection lost. Reconnecting…",
      reconnected: "Connected again.",
      notConnected: "Not connected yet. Please try again in a moment.",
      ended: "The chat has ended.",
      endedByAgent: "The specialist ended the chat.",
      endedByCustomer: "You ended the chat.",
      endedAbandoned: "You left the line before a specialist joined.",
      gone: "This chat is no longer available.",
      ratingLegend: "How would you rate this chat?",
      ratingHint: "1 = very poor, 5 = excellent",
      score1: "1, very poor",
      score2: "2, poor",
      score3: "3, fair",
      score4: "4, good",
      score5: "5, excellent",
      comment: "Comments (optional)",
      sendRating: "Send rating",
      ratingRequired: "Choose a rating from 1 to 5.",
      ratingThanks: "Thank you for your feedback.",
      transcript: "Download transcript",
      transcriptFailed: "The transcript could not be downloaded. Please try again.",
      newChat: "Start a new chat",
      channelLegend: "How would you like to talk?",
      channelChat: "Chat",
      channelVoice: "Voice call",
      channelVideo: "Video call",
      channelHint: "For a call, your browser asks for your microphone (and camera) only when a specialist answers.",
      continueAsChat: "Continue with a text chat",
      unsupported_no_webrtc: "This browser cannot make calls (it does not support WebRTC). You can talk to us by text chat instead.",
      unsupported_no_media_devices: "This browser cannot use a microphone or camera here, so it cannot make calls. You can talk to us by text chat instead.",
      problem_permission_denied: "The call could not start: permission to use your microphone or camera was denied. You can keep talking to the specialist by text chat here.",
      problem_no_device: "The call could not start: no microphone (or camera) was found. You can keep talking to the specialist by text chat here.",
      problem_device_busy: "The call could not start: your microphone or camera is in use by another program. You can keep talking to the specialist by text chat here.",
      problem_media_failed: "The call could not start. You can keep talking to the specialist by text chat here.",
      problem_no_webrtc: "This browser cannot make calls (it does not support WebRTC). You can keep talking to the specialist by text chat here.",
      problem_no_media_devices: "This browser cannot use a microphone or camera here. You can keep talking to the specialist by text chat here.",
      callTitleVoice: "Voice call",
      callTitleVideo: "Video call",
      callDuration: "Call duration",
      callControls: "Call controls",
      callWaiting: "The call starts when a specialist answers.",
      callAsking: "Starting the call: allow your microphone (and camera) when your browser asks.",
      callConnecting: "Connecting the call…",
      callConnected: "Call connected.",
      callReconnecting: "The connection dropped. Reconnecting the call…",
      callEnded: "The call has ended. You can keep writing here.",
      callEndedByAgent: "The specialist ended the call. You can keep writing here.",
      callEndedLost: "The call ended: the connection was lost. You can keep writing here.",
      callTransferred: "You are back in line: the call will start again when the next specialist answers.",
      callTransferredChat: "The call ended for the transfer: you are back in line. You can keep writing here, and the next specialist can call you again.",
      callRetry: "Try the call again",
      remoteVideo: "Specialist's video",
      localVideo: "Your camera",
      mute: "Mute microphone",
      cameraOff: "Turn camera off",
      shareScreen: "Share my screen",
      stopSharing: "Stop sharing my screen",
      shareFailed: "Your screen is not being shared.",
      hangUp: "Hang up",
      quality: "Connection: {level}",
      quality_good: "good",
      quality_fair: "fair",
      quality_poor: "poor",
      inviteVoice: "{name} invites you to a voice call. Your browser will ask for your microphone.",
      inviteVideo: "{name} invites you to a video call. Your browser will ask for your camera and microphone.",
      inviteAccept: "Accept the call",
      inviteDecline: "No, keep chatting",
    },
    es: {
      title: "Chat",
      heading: "Escríbanos por chat",
      languageGroup: "Idioma",
      intro: "Cuéntenos brevemente su consulta y le pondremos en contacto con un especialista.",
      name: "Su nombre",
      language: "Idioma preferido",
      topic: "Tema",
      chooseTopic: "Elija un tema",
      chooseTopicError: "Elija un tema, por favor.",
      email: "Correo electrónico (opcional)",
      caseNumber: "Número de reclamo o de caso (opcional)",
      message: "¿En qué podemos ayudarle?",
      counter: "{n} de {max} caracteres",
      counterOver: "{n} de {max} caracteres: sobran {over}",
      start: "Iniciar chat",
      starting: "Iniciando…",
      optionsFailed: "El chat no está disponible en este momento. Seguiremos intentándolo.",
      required: "Complete este campo, por favor.",
      tooLong: "Es demasiado largo: como máximo {max} caracteres.",
      badEmail: "Escriba un correo electrónico como nombre@ejemplo.org, o déjelo en blanco.",
      network:
        "No pudimos comunicarnos con el servicio. Revise su conexión e inténtelo de nuevo.",
      rateLimited: "Demasiados intentos. Espere {s} segundos y vuelva a intentarlo.",
      genericError: "Algo salió mal. Inténtelo de nuevo.",
      conversation: "Conversación",
      queue: "Usted es el número {n} en la fila; la espera es de unos {m} minutos.",
      queueOneMinute: "Usted es el número {n} en la fila; la espera es de un minuto aproximadamente.",
      queueNoEstimate: "Usted es el número {n} en la fila.",
      waiting: "Esperando a un especialista…",
      agentJoined: "{name} se unió al chat",
      transferred: "Le estamos transfiriendo. Por favor, permanezca en el chat.",
      agentTyping: "{name} está escribiendo…",
      specialist: "Especialista",
      you: "Usted",
      sending: "Enviando…",
      sent: "Enviado",
      read: "Leído",
      notSent: "No se envió: {detail}",
      notSentShort: "No se envió",
      composeLabel: "Escriba su mensaje",
      composeHint: "Pulse Intro para enviar y Mayús+Intro para una línea nueva.",
      send: "Enviar",
      end: "Terminar chat",
      confirmEnd: "¿Desea terminar este chat?",
      confirmEndYes: "Sí, terminar",
      confirmEndNo: "Seguir conversando",
      reconnecting: "Se perdió la conexión. Reconectando…",
      reconnected: "Conexión restablecida.",
      notConnected: "Todavía no hay conexión. Inténtelo de nuevo en un momento.",
      ended: "El chat ha terminado.",
      endedByAgent: "El especialista terminó el chat.",
      endedByCustomer: "Usted terminó el chat.",
      endedAbandoned: "Usted salió de la fila antes de que un especialista pudiera atenderle.",
      gone: "Este chat ya no está disponible.",
      ratingLegend: "¿Cómo calificaría este chat?",
      ratingHint: "1 = muy malo, 5 = excelente",
      score1: "1, muy malo",
      score2: "2, malo",
      score3: "3, regular",
      score4: "4, bueno",
      score5: "5, excelente",
      comment: "Comentarios (opcional)",
      sendRating: "Enviar calificación",
      ratingRequired: "Elija una calificación del 1 al 5.",
      ratingThanks: "Gracias por su opinión.",
      transcript: "Descargar transcripción",
      transcriptFailed: "No se pudo descargar la transcripción. Inténtelo de nuevo.",
      newChat: "Iniciar un chat nuevo",
      channelLegend: "¿Cómo prefiere comunicarse?",
      channelChat: "Chat",
      channelVoice: "Llamada de voz",
      channelVideo: "Videollamada",
      channelHint: "Para una llamada, su navegador le pedirá el micrófono (y la cámara) solo cuando un especialista responda.",
      continueAsChat: "Continuar por chat de texto",
      unsupported_no_webrtc: "Este navegador no puede hacer llamadas (no admite WebRTC). Puede comunicarse con nosotros por chat de texto.",
      unsupported_no_media_devices: "Este navegador no puede usar un micrófono ni una cámara aquí, así que no puede hacer llamadas. Puede comunicarse con nosotros por chat de texto.",
      problem_permission_denied: "La llamada no pudo iniciarse: se negó el permiso para usar el micrófono o la cámara. Puede seguir hablando con el especialista por chat aquí.",
      problem_no_device: "La llamada no pudo iniciarse: no se encontró un micrófono (o una cámara). Puede seguir hablando con el especialista por chat aquí.",
      problem_device_busy: "La llamada no pudo iniciarse: otro programa está usando su micrófono o cámara. Puede seguir hablando con el especialista por chat aquí.",
      problem_media_failed: "La llamada no pudo iniciarse. Puede seguir hablando con el especialista por chat aquí.",
      problem_no_webrtc: "Este navegador no puede hacer llamadas (no admite WebRTC). Puede seguir hablando con el especialista por chat aquí.",
      problem_no_media_devices: "Este navegador no puede usar un micrófono ni una cámara aquí. Puede seguir hablando con el especialista por chat aquí.",
      callTitleVoice: "Llamada de voz",
      callTitleVideo: "Videollamada",
      callDuration: "Duración de la llamada",
      callControls: "Controles de la llamada",
      callWaiting: "La llamada comenzará cuando un especialista responda.",
      callAsking: "Iniciando la llamada: permita el uso del micrófono (y la cámara) cuando su navegador lo pida.",
      callConnecting: "Conectando la llamada…",
      callConnected: "Llamada conectada.",
      callReconnecting: "Se perdió la conexión. Reconectando la llamada…",
      callEnded: "La llamada terminó. Puede seguir escribiendo aquí.",
      callEndedByAgent: "El especialista terminó la llamada. Puede seguir escribiendo aquí.",
      callEndedLost: "La llamada terminó: se perdió la conexión. Puede seguir escribiendo aquí.",
      callTransferred: "Está de nuevo en la fila: la llamada comenzará de nuevo cuando responda el siguiente especialista.",
      callTransferredChat: "La llamada terminó por la transferencia: está de nuevo en la fila. Puede seguir escribiendo aquí, y el siguiente especialista puede volver a llamarle.",
      callRetry: "Intentar la llamada de nuevo",
      remoteVideo: "Video del especialista",
      localVideo: "Su cámara",
      mute: "Silenciar micrófono",
      cameraOff: "Apagar cámara",
      shareScreen: "Compartir mi pantalla",
      stopSharing: "Dejar de compartir mi pantalla",
      shareFailed: "Su pantalla no se está compartiendo.",
      hangUp: "Colgar",
      quality: "Conexión: {level}",
      quality_good: "buena",
      quality_fair: "regular",
      quality_poor: "mala",
      inviteVoice: "{name} le invita a una llamada de voz. Su navegador le pedirá el micrófono.",
      inviteVideo: "{name} le invita a una videollamada. Su navegador le pedirá la cámara y el micrófono.",
      inviteAccept: "Aceptar la llamada",
      inviteDecline: "No, seguir por chat",
    },
  };

  // ---------------------------------------------------------------- constants and state

  const STORE_KEY = "switchboard.chat"; // {interaction_id, token, last_seq, pending, ended}
  const LANG_KEY = "switchboard.chat.lang";
  const PING_EVERY_MS = 20000;
  const SILENT_SOCKET_MS = 50000; // no frame at all (not even a pong) for this long: reconnect
  const TYPING_THROTTLE_MS = 3000;
  const TYPING_IDLE_MS = 4000;
  const AGENT_TYPING_TIMEOUT_MS = 10000; // in case the agent's "typing: false" is lost
  const MAX_BACKOFF_MS = 10000;
  // The token or the chat is no good: retrying cannot help.
  const FATAL_CLOSE_CODES = new Set([4401, 4403, 4404]);
  // Where each request field's errors are shown (`errors[].field` is e.g. "body.message").
  const FIELD_IDS = {
    name: "f-name",
    language: "f-language",
    topic: "f-topic",
    email: "f-email",
    case_number: "f-case",
    message: "f-message",
  };

  const $ = (id) => document.getElementById(id);

  let lang = "en";
  let options = { languages: [], topics: [], max_message_chars: 2000, max_name_chars: 100 };
  let session = null;
  let socket = null;
  let lastSeq = 0; // highest message seq rendered on this page
  let readSent = 0;
  let agentReadSeq = 0;
  let agentName = null;
  let joinedNotice = null; // the agent whose "joined the chat" this page has shown
  let ended = false;
  let reconnectDelay = 1000;
  let reconnecting = false;
  let reconnectTimer = null;
  let pingTimer = null;
  let lastFrameAt = 0;
  let typingOn = false;
  let typingSentAt = 0;
  let typingIdleTimer = null;
  let agentTypingTimer = null;
  // The call (voice or video) beside the chat: a SwitchboardCall.Call once media is set up.
  let call = null;
  let callMedia = null; // "voice" | "video" while a call is wanted
  let callStarting = false;
  let callGivenUp = false; // the claimant chose the text chat instead of this call
  let callTimer = null;
  let inviteMedia = null;
  // Messages the server has not acknowledged yet: client_message_id -> body. Re-sent with
  // the same id after a reconnect (the server stores a repeated id once).
  const unacked = new Map();

  // ---------------------------------------------------------------- storage

  // sessionStorage can be unavailable (e.g. a third-party iframe with storage blocked):
  // the chat still works, it just cannot survive a reload.
  function storageGet(key) {
    try {
      return window.sessionStorage.getItem(key);
    } catch (_) {
      return null;
    }
  }

  function storageSet(key, value) {
    try {
      if (value === null) window.sessionStorage.removeItem(key);
      else window.sessionStorage.setItem(key, value);
    } catch (_) {
      /* storage full or blocked: nothing to do */
    }
  }

  function loadSession() {
    try {
      const saved = JSON.parse(storageGet(STORE_KEY) || "null");
      return saved && saved.interaction_id && saved.token ? saved : null;
    } catch (_) {
      return null;
    }
  }

  function saveSession() {
    if (!session) return;
    session.last_seq = Math.max(session.last_seq || 0, lastSeq);
    session.pending = Array.from(unacked, ([id, body]) => ({ id, body }));
    storageSet(STORE_KEY, JSON.stringify(session));
  }

  // ---------------------------------------------------------------- language

  function t(key, vars) {
    let text = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
    if (vars) {
      for (const [name, value] of Object.entries(vars)) text = text.split(`{${name}}`).join(value);
    }
    return text;
  }

  /** Set a translatable text; it is re-rendered when the language changes. */
  function setText(el, key, vars) {
    el.dataset.i18n = key;
    if (vars) el.dataset.i18nVars = JSON.stringify(vars);
    else delete el.dataset.i18nVars;
    el.textContent = t(key, vars);
  }

  function initialLanguage() {
    const fromUrl = new URLSearchParams(window.location.search).get("lang");
    const saved = storageGet(LANG_KEY);
    const browser = (navigator.languages || [navigator.language || "en"]).find((l) => /^(en|es)\b/i.test(l));
    for (const candidate of [fromUrl, saved, browser]) {
      const code = (candidate || "").slice(0, 2).toLowerCase();
      if (STRINGS[code]) return code;
    }
    return "en";
  }

  function setLanguage(code) {
    if (!STRINGS[code]) return;
    lang = code;
    storageSet(LANG_KEY, code);
    const select = $("f-language");
    if (Array.from(select.options).some((o) => o.value === code)) select.value = code;
    applyLanguage();
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = t("title");
    for (const el of document.querySelectorAll("[data-i18n]")) {
      const vars = el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : undefined;
      el.textContent = t(el.dataset.i18n, vars);
    }
    for (const el of document.querySelectorAll("[data-i18n-aria-label]")) {
      el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
    }
    for (const button of document.querySelectorAll(".lang-toggle button")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
    }
    for (const el of document.querySelectorAll("time[datetime]")) el.textContent = formatTime(el.dateTime);
    for (const option of $("f-topic").options) {
      const topic = options.topics.find((tp) => tp.key === option.value);
      option.textContent = topic ? topicLabel(topic) : t("chooseTopic");
    }
    updateCounter($("f-message"), $("f-message-counter"));
    updateCounter($("c-message"), $("c-counter"), true);
  }

  function formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleTimeString(lang === "es" ? "es-US" : "en-US", { hour: "numeric", minute: "2-digit" });
  }

  // ---------------------------------------------------------------- small UI helpers

  function show(el, visible) {
    el.hidden = !visible;
  }

  /** "12 of 2000 characters"; in the chat box only once the limit is near. */
  function updateCounter(field, counter, onlyNearLimit) {
    const max = options.max_message_chars;
    const n = field.value.length;
    show(counter, !onlyNearLimit || n > max * 0.8);
    if (n > max) setText(counter, "counterOver", { n, max, over: n - max });
    else setText(counter, "counter", { n, max });
    counter.classList.toggle("over", n > max);
  }

  function setConnection(key) {
    const el = $("connection");
    if (!key) {
      el.textContent = "";
      delete el.dataset.i18n;
      show(el, false);
      return;
    }
    setText(el, key);
    show(el, true);
  }

  // ---------------------------------------------------------------- 1. pre-chat form

  async function loadOptions(attempt) {
    try {
      const response = await fetch("/api/v1/chats/options", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      options = Object.assign(options, await response.json());
    } catch (_) {
      if (!session) showFormError(t("optionsFailed"));
      // Offline or restarting: keep trying, more slowly each time.
      window.setTimeout(() => loadOptions(attempt + 1), Math.min(1000 * 2 ** attempt, MAX_BACKOFF_MS));
      return;
    }
    fillSelect($("f-language"), options.languages.map((l) => [l.code, l.label]), lang);
    // With several topics the claimant picks one (a preselected first topic would be a guess).
    const topics = options.topics.map((tp) => [tp.key, topicLabel(tp)]);
    fillSelect($("f-topic"), topics.length > 1 ? [["", t("chooseTopic")], ...topics] : topics, null);
    if (!session) clearFormErrors();
    $("start").disabled = false;
    applyLanguage();
  }

  function fillSelect(select, entries, preferred) {
    select.replaceChildren();
    for (const [value, label] of entries) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      select.append(option);
    }
    if (preferred && entries.some(([value]) => value === preferred)) select.value = preferred;
  }

  /** A topic's name in the page's language when the server has one. */
  function topicLabel(topic) {
    return (topic.labels && topic.labels[lang]) || topic.label || topic.key;
  }

  function clearFormErrors() {
    show($("form-error"), false);
    $("form-error").textContent = "";
    for (const id of Object.values(FIELD_IDS)) {
      $(id).removeAttribute("aria-invalid");
      $(`${id}-error`).textContent = "";
      show($(`${id}-error`), false);
    }
  }

  function showFormError(text) {
    const box = $("form-error");
    box.textContent = text;
    show(box, true);
  }

  function showFieldError(field, text) {
    const id = FIELD_IDS[field];
    const error = $(`${id}-error`);
    $(id).setAttribute("aria-invalid", "true");
    // Several errors for one field: keep them all.
    error.textContent = error.textContent ? `${error.textContent} ${text}` : text;
    show(error, true);
  }

  /** Our own words (in the page's language) for errors we can explain; else the server's. */
  function describeFieldError(field, serverText) {
    const value = $(FIELD_IDS[field]).value.trim();
    if ((field === "name" || field === "message") && !value) return t("required");
    if (field === "message" && value.length > options.max_message_chars) {
      return t("tooLong", { max: options.max_message_chars });
    }
    if (field === "name" && value.length > options.max_name_chars) return t("tooLong", { max: options.max_name_chars });
    if (field === "email") return t("badEmail");
    return serverText || t("genericError");
  }

  function focusFirstInvalid() {
    const first = document.querySelector("#prechat-form [aria-invalid='true']");
    if (first) first.focus();
    else if (!$("form-error").hidden) $("form-error").focus();
  }

  async function startChat(event) {
    event.preventDefault();
    clearFormErrors();
    const form = {
      name: $("f-name").value.trim(),
      language: $("f-language").value,
      topic: $("f-topic").value,
      email: $("f-email").value.trim(),
      case_number: $("f-case").value.trim(),
      message: $("f-message").value.trim(),
    };
    const missing = ["name", "topic", "message"].filter((field) => !form[field]);
    for (const field of missing) showFieldError(field, t(field === "topic" ? "chooseTopicError" : "required"));
    if (missing.length) return focusFirstInvalid();
    const channel = selectedChannel();
    if (channel !== "chat" && SwitchboardCall.unsupportedReason()) {
      showUnsupported(SwitchboardCall.unsupportedReason());
      return undefined;
    }
    const body = { name: form.name, language: form.language, topic: form.topic, message: form.message };
    if (channel !== "chat") body.channel = channel;
    if (form.email) body.email = form.email;
    if (form.case_number) body.case_number = form.case_number;

    const button = $("start");
    button.disabled = true;
    setText(button, "starting");
    try {
      let response;
      try {
        response = await fetch("/api/v1/chats", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json", "Accept-Language": lang },
          body: JSON.stringify(body),
        });
      } catch (_) {
        showFormError(t("network"));
        return focusFirstInvalid();
      }
      if (response.status === 201) {
        const created = await response.json();
        session = { interaction_id: created.interaction_id, token: created.token, last_seq: 0, pending: [], ended: false, channel };
        saveSession();
        enterChat();
        if (channel !== "chat") showCallWaiting(channel);
        if (created.message) renderMessage(created.message);
        showQueue(created.position, created.estimated_wait_s);
        connect();
        $("c-message").focus();
        return;
      }
      await showProblem(response);
      focusFirstInvalid();
    } finally {
      button.disabled = false;
      setText(button, "start");
    }
  }

  async function readProblem(response) {
    try {
      return await response.json();
    } catch (_) {
      return {};
    }
  }

  async function showProblem(response) {
    const problem = await readProblem(response);
    if (response.status === 429) {
      showFormError(t("rateLimited", { s: retryAfterSeconds(response) }));
      return;
    }
    let shown = false;
    const others = [];
    for (const error of problem.errors || []) {
      const field = String(error.field || "").split(".").pop();
      if (FIELD_IDS[field]) {
        showFieldError(field, describeFieldError(field, error.message));
        shown = true;
      } else if (error.message) {
        others.push(error.message);
      }
    }
    if (others.length || !shown) {
      // e.g. 409 queue_closed: `detail` names the opening hours.
      showFormError([problem.detail || problem.title || t("genericError"), ...others].join(" "));
    }
  }

  function retryAfterSeconds(response) {
    const header = response.headers.get("Retry-After") || "";
    let seconds = Number.parseInt(header, 10);
    if (Number.isNaN(seconds)) {
      const at = Date.parse(header); // Retry-After may also be an HTTP date
      seconds = Number.isNaN(at) ? 60 : Math.ceil((at - Date.now()) / 1000);
    }
    return Math.max(1, seconds);
  }

  // ---------------------------------------------------------------- 2. the chat

  function enterChat() {
    show($("prechat"), false);
    show($("chat"), true);
    show($("compose"), true);
    show($("end"), true);
  }

  function showQueue(position, waitSeconds) {
    const el = $("queue-status");
    if (agentName || ended) return show(el, false);
    if (typeof position !== "number") {
      setText(el, "waiting");
    } else if (typeof waitSeconds !== "number") {
      setText(el, "queueNoEstimate", { n: position });
    } else {
      const minutes = Math.max(1, Math.round(waitSeconds / 60));
      setText(el, minutes === 1 ? "queueOneMinute" : "queue", { n: position, m: minutes });
    }
    show(el, true);
  }

  /** Where new confirmed lines go: before our own messages still waiting for their echo. */
  function appendLine(li) {
    const list = $("messages");
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.insertBefore(li, list.querySelector("li[data-pending]"));
    if (nearBottom || li.classList.contains("msg--customer")) scrollToEnd();
  }

  // Scroll the list itself: scrollIntoView would also scroll the host page of an iframe.
  function scrollToEnd() {
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  }

  function addNotice(key, vars) {
    const li = document.createElement("li");
    li.className = "notice";
    setText(li, key, vars);
    appendLine(li);
  }

  function buildMessage(li, m) {
    const own = m.from === "customer";
    // A supervisor writing in the chat speaks for the agency, like the agent.
    const staff = m.from === "agent" || m.from === "supervisor";
    li.className = `msg msg--${own ? "customer" : staff ? "agent" : "system"}`;
    li.replaceChildren();
    const meta = document.createElement("p");
    meta.className = "meta";
    if (m.from !== "system") {
      const author = document.createElement("span");
      author.className = "author";
      if (own) setText(author, "you");
      else author.textContent = m.author || t("specialist");
      meta.append(author, " ");
    }
    const time = document.createElement("time");
    if (m.sent_at) {
      time.dateTime = m.sent_at;
      time.textContent = formatTime(m.sent_at);
    }
    meta.append(time);
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = m.body; // user text: textContent only
    li.append(meta, body);
    if (own) {
      const state = document.createElement("p");
      state.className = "state";
      li.append(state);
    }
  }

  function setMessageState(li, key, vars) {
    const state = li.querySelector(".state");
    if (!state) return;
    li.dataset.state = key;
    setText(state, key, vars);
  }

  function renderMessage(m) {
    if (typeof m.seq !== "number" || m.seq <= lastSeq) return; // seen already (replay)
    lastSeq = m.seq;
    let li = null;
    if (m.from === "customer" && m.client_message_id) {
      // Our own message coming back: it replaces the "sending…" line.
      li = $("messages").querySelector(`li[data-cmid="${CSS.escape(m.client_message_id)}"]`);
      unacked.delete(m.client_message_id);
    }
    if (li) {
      buildMessage(li, m);
      delete li.dataset.pending;
    } else {
      li = document.createElement("li");
      buildMessage(li, m);
      appendLine(li);
    }
    li.dataset.seq = String(m.seq);
    if (m.client_message_id) li.dataset.cmid = m.client_message_id;
    if (m.from === "customer") setMessageState(li, m.seq <= agentReadSeq ? "read" : "sent");
    if (m.from === "agent") showAgentTyping(false);
    saveSession();
    sendRead();
  }

  function newClientMessageId() {
    // crypto.randomUUID needs a secure context; getRandomValues works everywhere.
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return `c-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  /** A "sending…" line for one of our messages, kept after the confirmed ones. */
  function addPendingLine(id, body) {
    const li = document.createElement("li");
    buildMessage(li, { from: "customer", body });
    li.dataset.cmid = id;
    li.dataset.pending = "true";
    setMessageState(li, "sending");
    $("messages").append(li);
    scrollToEnd();
    return li;
  }

  function sendMessage(event) {
    event.preventDefault();
    const field = $("c-message");
    const body = field.value.trim();
    const error = $("c-error");
    show(error, false);
    field.removeAttribute("aria-invalid");
    if (!body) return;
    if (body.length > options.max_message_chars) {
      setText(error, "tooLong", { max: options.max_message_chars });
      field.setAttribute("aria-invalid", "true");
      show(error, true);
      return;
    }
    const id = newClientMessageId();
    addPendingLine(id, body);
    unacked.set(id, body);
    saveSession();
    field.value = "";
    updateCounter(field, $("c-counter"), true);
    stopTyping();
    sendFrame({ type: "message", client_message_id: id, body }); // or re-sent on reconnect
  }

  function onAck(frame) {
    unacked.delete(frame.client_message_id);
    saveSession();
    const li = $("messages").querySelector(`li[data-cmid="${CSS.escape(String(frame.client_message_id))}"]`);
    if (li && li.dataset.state === "sending") {
      li.dataset.seq = String(frame.seq);
      setMessageState(li, frame.seq <= agentReadSeq ? "read" : "sent");
    }
  }

  /** A line of ours that will never be stored: say so on it, and never send it again. */
  function markNotSent(li, key, vars) {
    unacked.delete(li.dataset.cmid);
    delete li.dataset.pending;
    delete li.dataset.cmid;
    li.classList.add("failed");
    setMessageState(li, key, vars);
  }

  // A call frame that crossed the end of its call (say, a late ICE candidate): nothing to say.
  const QUIET_CALL_ERRORS = new Set(["not_a_call", "call_not_active", "not_your_call", "unknown_call", "no_call_invite"]);

  function onError(frame) {
    if (QUIET_CALL_ERRORS.has(frame.code)) return;
    const li = frame.ref && $("messages").querySelector(`li[data-cmid="${CSS.escape(String(frame.ref))}"]`);
    if (li && unacked.has(frame.ref)) {
      // Refused (e.g. too long): the reason goes on the line itself.
      markNotSent(li, "notSent", { detail: frame.detail || frame.code || "" });
      saveSession();
      return;
    }
    const error = $("c-error");
    delete error.dataset.i18n;
    error.textContent = frame.detail || t("genericError");
    show(error, true);
  }

  function onRead(frame) {
    if (frame.from !== "agent" || typeof frame.seq !== "number") return;
    agentReadSeq = Math.max(agentReadSeq, frame.seq);
    for (const li of $("messages").querySelectorAll("li.msg--customer[data-seq]")) {
      if (Number(li.dataset.seq) <= agentReadSeq && !li.classList.contains("failed")) setMessageState(li, "read");
    }
  }

  /** Tell the agent what we have seen, but only while the page is actually visible. */
  function sendRead() {
    if (document.visibilityState !== "visible" || lastSeq <= readSent || !isOpen()) return;
    readSent = lastSeq;
    sendFrame({ type: "read", seq: lastSeq });
  }

  function showAgentTyping(on) {
    const el = $("typing");
    window.clearTimeout(agentTypingTimer);
    if (on) {
      setText(el, "agentTyping", { name: agentName || t("specialist") });
      agentTypingTimer = window.setTimeout(() => showAgentTyping(false), AGENT_TYPING_TIMEOUT_MS);
    }
    show(el, on);
  }

  function onComposerInput() {
    const field = $("c-message");
    updateCounter(field, $("c-counter"), true);
    if (!field.value.trim()) return stopTyping();
    const now = Date.now();
    // Throttled: "typing: true" at most every few seconds, "false" after a pause.
    if (!typingOn || now - typingSentAt > TYPING_THROTTLE_MS) {
      typingOn = true;
      typingSentAt = now;
      sendFrame({ type: "typing", typing: true });
    }
    window.clearTimeout(typingIdleTimer);
    typingIdleTimer = window.setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    window.clearTimeout(typingIdleTimer);
    if (!typingOn) return;
    typingOn = false;
    sendFrame({ type: "typing", typing: false });
  }

  // ---------------------------------------------------------------- 2b. the call

  function selectedChannel() {
    const checked = document.querySelector("#prechat-form input[name='channel']:checked");
    return checked ? checked.value : "chat";
  }

  function onChannelChange() {
    const channel = selectedChannel();
    const reason = channel === "chat" ? "" : SwitchboardCall.unsupportedReason();
    if (reason) showUnsupported(reason);
    else show($("call-unsupported"), false);
  }

  /** Say plainly that this browser cannot call, and offer the text chat. */
  function showUnsupported(reason) {
    setText($("call-unsupported-text"), `unsupported_${reason}`);
    show($("call-unsupported"), true);
    $("continue-chat").focus();
  }

  function continueAsChat() {
    const chatChoice = document.querySelector("#prechat-form input[name='channel'][value='chat']");
    chatChoice.checked = true;
    show($("call-unsupported"), false);
    chatChoice.focus();
  }

  function isCallSession() {
    return Boolean(session && (session.channel === "voice" || session.channel === "video"));
  }

  function setCallState(state, statusKey, vars) {
    $("call").dataset.state = state;
    if (statusKey) setText($("call-status"), statusKey, vars);
  }

  function showCallPanel(media) {
    callMedia = media;
    setText($("call-title"), media === "video" ? "callTitleVideo" : "callTitleVoice");
    show($("call-camera"), media === "video");
    show($("call"), true);
  }

  function showCallWaiting(media) {
    showCallPanel(media);
    show($("call-controls"), false);
    show($("call-problem"), false);
    setCallState("waiting", "callWaiting");
  }

  /** A voice or video interaction with an agent in it: the call starts (media asked now). */
  function maybeStartCall() {
    if (!isCallSession() || ended || callGivenUp || callStarting || session.callOver) return;
    if (call && !call.ended) return;
    startCall(session.channel, false);
  }

  async function startCall(media, viaInvite) {
    showCallPanel(media);
    show($("call-problem"), false);
    const reason = SwitchboardCall.unsupportedReason();
    if (reason) return callProblem(reason, viaInvite);
    callStarting = true;
    setCallState("asking", "callAsking");
    let stream;
    try {
      stream = await SwitchboardCall.getLocalMedia(media);
    } catch (error) {
      callStarting = false;
      return callProblem(SwitchboardCall.mediaErrorReason(error), viaInvite);
    }
    try {
      const iceServers = await SwitchboardCall.fetchIceServers(session.token);
      if (ended) {
        for (const track of stream.getTracks()) track.stop();
        return undefined;
      }
      if (viaInvite) sendFrame({ type: "call_accept", interaction_id: session.interaction_id });
      call = new SwitchboardCall.Call({
        role: "customer",
        interactionId: session.interaction_id,
        media,
        iceServers,
        send: sendFrame,
        onState: onCallState,
        onRemoteTrack,
        onQuality: showQuality,
        onEnded: onCallEnded,
      });
      $("call").dataset.connection = "new";
      if (media === "video") {
        $("local-video").srcObject = stream;
        show($("call-videos"), true);
      }
      resetControls();
      show($("call-controls"), true);
      setCallState("connecting", "callConnecting");
      await call.start(stream);
    } finally {
      callStarting = false;
    }
    return undefined;
  }

  /** The call cannot go on here: say why, tell the agent, and offer the text chat. */
  function callProblem(reason, viaInvite) {
    if (viaInvite) sendFrame({ type: "call_decline", interaction_id: session.interaction_id });
    else sendFrame({ type: "signal", interaction_id: session.interaction_id, call_id: session.interaction_id, kind: "hangup", reason });
    setCallState("failed", null);
    show($("call-controls"), false);
    show($("call-videos"), false);
    setText($("call-problem-text"), `problem_${reason}`);
    show($("call-retry"), !viaInvite && reason !== "no_webrtc" && reason !== "no_media_devices");
    show($("call-problem"), true);
    $("call-status").textContent = "";
    $("call-use-chat").focus();
  }

  function useChatInstead() {
    callGivenUp = true;
    session.callOver = true;
    saveSession();
    show($("call"), false);
    $("c-message").focus();
  }

  function retryCall() {
    callGivenUp = false;
    if (callMedia) startCall(callMedia, false);
  }

  function resetControls() {
    for (const id of ["call-mute", "call-camera"]) $(id).setAttribute("aria-pressed", "false");
    setText($("call-share"), "shareScreen");
    $("call-timer").textContent = "0:00";
    $("call-timer").dataset.seconds = "0";
    show($("call-quality"), false);
  }

  function onCallState(state) {
    if (!call) return;
    $("call").dataset.connection = state;
    if (state === "connected") {
      setCallState("connected", "callConnected");
      startCallTimer();
    } else if (state === "reconnecting") {
      setCallState("reconnecting", "callReconnecting");
    }
  }

  function onRemoteTrack(track, streams) {
    const stream = (streams && streams[0]) || new MediaStream([track]);
    if (track.kind === "audio") {
      $("remote-audio").srcObject = stream;
      return;
    }
    // The sound plays from the audio element; the video element stays silent.
    const video = $("remote-video");
    video.muted = true;
    video.srcObject = new MediaStream([track]);
    show($("call-videos"), true);
  }

  function startCallTimer() {
    window.clearInterval(callTimer);
    const update = () => {
      if (!call) return;
      const seconds = call.elapsedSeconds();
      const timer = $("call-timer");
      timer.textContent = SwitchboardCall.formatTimer(seconds);
      timer.dataset.seconds = String(seconds);
    };
    update();
    callTimer = window.setInterval(update, 1000);
  }

  function showQuality(quality) {
    const el = $("call-quality");
    el.dataset.level = quality.level;
    setText(el, "quality", { level: t(`quality_${quality.level}`) });
    const parts = [];
    if (quality.rtt != null) parts.push(`RTT ${Math.round(quality.rtt * 1000)} ms`);
    if (quality.jitter != null) parts.push(`jitter ${Math.round(quality.jitter * 1000)} ms`);
    if (quality.loss != null) parts.push(`loss ${(quality.loss * 100).toFixed(1)} %`);
    el.title = parts.join(", ");
    show(el, true);
  }

  function toggleMute() {
    if (!call) return;
    const muted = $("call-mute").getAttribute("aria-pressed") !== "true";
    call.setMuted(muted);
    $("call-mute").setAttribute("aria-pressed", String(muted));
  }

  function toggleCamera() {
    if (!call) return;
    const off = $("call-camera").getAttribute("aria-pressed") !== "true";
    call.setCameraOff(off);
    $("call-camera").setAttribute("aria-pressed", String(off));
  }

  async function toggleShare() {
    if (!call || call.ended) return;
    if (call.screenStream) {
      await call.stopScreen();
      setText($("call-share"), "shareScreen");
      return;
    }
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getDisplayMedia !== "function") {
      setText($("call-status"), "shareFailed");
      return;
    }
    try {
      await call.shareScreen(() => setText($("call-share"), "shareScreen"));
      setText($("call-share"), "stopSharing");
    } catch (_) {
      setText($("call-status"), "shareFailed");
    }
  }

  function hangUp() {
    if (call && !call.ended) call.hangUp("ended");
  }

  function onCallEnded(reason, by) {
    window.clearInterval(callTimer);
    show($("call-controls"), false);
    show($("call-videos"), false);
    $("remote-audio").srcObject = null;
    $("call").dataset.connection = "ended";
    let key = "callEnded";
    if (reason === "media_lost") key = "callEndedLost";
    else if (by === "remote") key = "callEndedByAgent";
    // A call or video interaction calls again with the next specialist; a call in a chat
    // needs the next specialist's invite.
    if (reason === "transferred") key = isCallSession() ? "callTransferred" : "callTransferredChat";
    setCallState("ended", key);
    // This page closing (a reload sets the call up again) is not the specialist leaving.
    const leftHere = reason === "page_closed" && by === "local";
    if (reason !== "transferred" && reason !== "chat_ended" && !leftHere) {
      // Only the agent starts a call again (an invite): a reload must not redial.
      callGivenUp = true;
      session.callOver = true;
      saveSession();
      addNotice(key);
    }
  }

  function endCallForTransfer() {
    if (call && !call.ended) call.finish("transferred", "remote");
    call = null;
    // The next agent sets the call up anew.
    callGivenUp = false;
    if (session.callOver) {
      session.callOver = false;
      saveSession();
    }
  }

  function onCallInvite(frame) {
    if (ended || (call && !call.ended)) return;
    inviteMedia = frame.media === "voice" ? "voice" : "video";
    setText($("call-invite-text"), inviteMedia === "voice" ? "inviteVoice" : "inviteVideo", { name: agentName || t("specialist") });
    show($("call-invite"), true);
    $("invite-accept").focus();
  }

  function answerInvite(accept) {
    show($("call-invite"), false);
    if (!inviteMedia) return;
    const media = inviteMedia;
    inviteMedia = null;
    if (!accept) {
      sendFrame({ type: "call_decline", interaction_id: session.interaction_id });
      $("c-message").focus();
      return;
    }
    callGivenUp = false;
    session.callOver = false;
    startCall(media, true);
  }

  /** Closing the tab ends the call (the agent sees it at once, not after ICE times out). */
  function onPageHide() {
    if (call && !call.ended) call.hangUp("page_closed");
  }

  // ---------------------------------------------------------------- 3. the socket

  function isOpen() {
    return socket !== null && socket.readyState === WebSocket.OPEN && socket.welcomed;
  }

  function sendFrame(frame) {
    if (!isOpen()) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    window.clearTimeout(reconnectTimer);
    if (ended || !session || socket) return;
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${window.location.host}/ws/chat`);
    socket = ws;
    ws.welcomed = false;
    ws.onopen = () => {
      lastFrameAt = Date.now();
      ws.send(JSON.stringify({ type: "hello", token: session.token, last_seq: lastSeq }));
    };
    ws.onmessage = (event) => {
      if (ws !== socket) return;
      lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      handleFrame(frame);
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      dropSocket();
      if (ended) return;
      if (FATAL_CLOSE_CODES.has(event.code)) return chatGone();
      scheduleReconnect();
    };
  }

  function dropSocket() {
    window.clearInterval(pingTimer);
    const ws = socket;
    socket = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
  }

  function scheduleReconnect() {
    reconnecting = true;
    setConnection("reconnecting");
    window.clearTimeout(reconnectTimer);
    reconnectTimer = window.setTimeout(connect, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, MAX_BACKOFF_MS);
  }

  function startHeartbeat() {
    window.clearInterval(pingTimer);
    pingTimer = window.setInterval(() => {
      if (Date.now() - lastFrameAt > SILENT_SOCKET_MS) {
        // A socket can look open on a dead network: give up on it and dial again.
        dropSocket();
        scheduleReconnect();
        return;
      }
      sendFrame({ type: "ping" });
    }, PING_EVERY_MS);
  }

  function handleFrame(frame) {
    switch (frame.type) {
      case "welcome":
        return onWelcome(frame);
      case "queue":
        return showQueue(frame.position, frame.estimated_wait_s);
      case "agent_joined":
        return onAgentJoined(frame);
      case "message":
        return renderMessage(frame);
      case "ack":
        return onAck(frame);
      case "typing":
        if (frame.from === "agent") showAgentTyping(Boolean(frame.typing));
        return undefined;
      case "read":
        return onRead(frame);
      case "signal":
        if (call && frame.interaction_id === session.interaction_id) call.onSignal(frame);
        return undefined;
      case "call_invite":
        return onCallInvite(frame);
      case "transferred":
        endCallForTransfer();
        agentName = null;
        joinedNotice = null;
        addNotice("transferred");
        return showQueue(null, null);
      case "ended":
        return showEnded(frame);
      case "error":
        return onError(frame);
      default:
        return undefined; // pong and anything newer than this page
    }
  }

  function onAgentJoined(frame) {
    agentName = (frame.agent && frame.agent.first_name) || t("specialist");
    show($("queue-status"), false);
    // Every new connection to a live chat says who is in it: one notice per agent is enough.
    if (joinedNotice === agentName) return maybeStartCall();
    joinedNotice = agentName;
    addNotice("agentJoined", { name: agentName });
    maybeStartCall();
  }

  function onWelcome(frame) {
    socket.welcomed = true;
    reconnectDelay = 1000;
    if (reconnecting) {
      reconnecting = false;
      setConnection("reconnected");
      window.setTimeout(() => {
        if ($("connection").dataset.i18n === "reconnected") setConnection(null);
      }, 4000);
    }
    // The welcome names the agent already in the chat (no agent_joined follows): after a
    // reload the page shows who it is talking to, once per agent as for agent_joined.
    if (frame.agent && frame.agent.first_name) onAgentJoined(frame);
    if (frame.ended) return showEnded({ by: null, reason: null });
    startHeartbeat();
    // Unacknowledged messages go again with the same id: stored once, acknowledged again.
    for (const [id, body] of unacked) sendFrame({ type: "message", client_message_id: id, body });
    if (frame.state === "queued" && !agentName) refreshQueue();
    // Signaling sent while the socket was away is lost: set the media path up again.
    if (call && !call.ended && call.connectedAt != null) call.restart();
    sendRead();
    return undefined;
  }

  /** After a reload the queue frame may not come until the line moves: ask once. */
  async function refreshQueue() {
    try {
      const response = await fetch(`/api/v1/chats/${encodeURIComponent(session.interaction_id)}`, {
        headers: authHeaders(),
      });
      if (!response.ok) return;
      const chat = await response.json();
      if (chat.state === "queued" && !agentName) showQueue(chat.position, chat.estimated_wait_s);
    } catch (_) {
      /* the queue frames will say it */
    }
  }

  function authHeaders() {
    return { Authorization: `Bearer ${session.token}`, Accept: "application/json" };
  }

  // ---------------------------------------------------------------- 4. the end

  function askEnd() {
    show($("end"), false);
    show($("end-confirm"), true);
    $("end-no").focus();
  }

  function cancelEnd() {
    show($("end-confirm"), false);
    show($("end"), true);
    $("end").focus();
  }

  function confirmEnd() {
    if (call && !call.ended && isOpen()) call.hangUp("ended");
    if (!sendFrame({ type: "end" })) {
      setConnection("notConnected");
      return;
    }
    show($("end-confirm"), false);
  }

  function endedTitle(frame) {
    if (frame.reason === "abandoned") return "endedAbandoned";
    if (frame.by === "agent") return "endedByAgent";
    if (frame.by === "customer") return "endedByCustomer";
    return "ended";
  }

  function showEnded(frame) {
    ended = true;
    window.clearTimeout(reconnectTimer);
    dropSocket();
    setConnection(null);
    stopTyping();
    showAgentTyping(false);
    // Whatever was never stored will not be now: say so on the line rather than drop it.
    for (const li of $("messages").querySelectorAll("li[data-pending]")) {
      if (unacked.has(li.dataset.cmid)) markNotSent(li, "notSentShort");
    }
    unacked.clear();
    if (call) call.finish("chat_ended", "local");
    show($("call-invite"), false);
    session.ended = true;
    saveSession();
    for (const id of ["queue-status", "compose", "end", "end-confirm"]) show($(id), false);
    setText($("ended-title"), endedTitle(frame));
    show($("ended"), true);
    $("ended-title").focus();
  }

  function chatGone() {
    storageSet(STORE_KEY, null);
    ended = true;
    setConnection(null);
    for (const id of ["queue-status", "compose", "end", "end-confirm", "rating-form", "transcript"]) show($(id), false);
    setText($("ended-title"), "gone");
    show($("ended"), true);
    $("ended-title").focus();
  }

  async function sendRating(event) {
    event.preventDefault();
    const result = $("rating-result");
    const choice = document.querySelector("#rating-form input[name='score']:checked");
    if (!choice) {
      setText(result, "ratingRequired");
      show(result, true);
      document.querySelector("#rating-form input[name='score']").focus();
      return;
    }
    const body = { score: Number(choice.value) };
    const comment = $("r-comment").value.trim();
    if (comment) body.comment = comment;
    try {
      const response = await fetch(`/api/v1/chats/${encodeURIComponent(session.interaction_id)}/rating`, {
        method: "POST",
        headers: { ...authHeaders(), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (response.ok) {
        show($("rating-form"), false);
        setText(result, "ratingThanks");
      } else {
        const problem = await readProblem(response);
        delete result.dataset.i18n;
        result.textContent = problem.detail || t("genericError");
      }
    } catch (_) {
      setText(result, "network");
    }
    show(result, true);
  }

  async function downloadTranscript() {
    const error = $("ended-error");
    show(error, false);
    try {
      const response = await fetch(`/api/v1/chats/${encodeURIComponent(session.interaction_id)}/transcript`, {
        headers: { Authorization: `Bearer ${session.token}` },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const blob = new Blob([await response.text()], { type: "text/plain;charset=utf-8" });
      // A Blob URL: the bearer token never goes into a link, and it works offline.
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `chat-transcript-${session.interaction_id}.txt`;
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (_) {
      setText(error, "transcriptFailed");
      show(error, true);
    }
  }

  function newChat() {
    dropSocket();
    storageSet(STORE_KEY, null);
    window.location.reload();
  }

  /** A reloaded page whose chat already ended: show what was said, then the ended view. */
  async function restoreEnded() {
    try {
      const response = await fetch(`/api/v1/chats/${encodeURIComponent(session.interaction_id)}/messages?after_seq=0`, {
        headers: authHeaders(),
      });
      if (response.status === 401 || response.status === 403 || response.status === 404) return chatGone();
      if (response.ok) for (const m of (await response.json()).messages || []) renderMessage(m);
    } catch (_) {
      /* offline: the ended view still works for what needs no network */
    }
    return showEnded({ by: null, reason: null });
  }

  // ---------------------------------------------------------------- start

  function init() {
    lang = initialLanguage();
    session = loadSession();

    for (const button of document.querySelectorAll(".lang-toggle button")) {
      button.addEventListener("click", () => setLanguage(button.dataset.lang));
    }
    $("f-language").addEventListener("change", (e) => setLanguage(e.target.value));
    $("f-message").addEventListener("input", () => updateCounter($("f-message"), $("f-message-counter")));
    $("prechat-form").addEventListener("submit", startChat);
    $("compose").addEventListener("submit", sendMessage);
    $("c-message").addEventListener("input", onComposerInput);
    $("c-message").addEventListener("keydown", (e) => {
      // Enter sends; Shift+Enter is a new line; Enter that finishes an IME word is left alone.
      if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
      e.preventDefault();
      $("compose").requestSubmit();
    });
    $("end").addEventListener("click", askEnd);
    $("end-no").addEventListener("click", cancelEnd);
    $("end-yes").addEventListener("click", confirmEnd);
    $("rating-form").addEventListener("submit", sendRating);
    $("transcript").addEventListener("click", downloadTranscript);
    $("new-chat").addEventListener("click", newChat);
    for (const radio of document.querySelectorAll("#prechat-form input[name='channel']")) {
      radio.addEventListener("change", onChannelChange);
    }
    $("continue-chat").addEventListener("click", continueAsChat);
    $("call-mute").addEventListener("click", toggleMute);
    $("call-camera").addEventListener("click", toggleCamera);
    $("call-share").addEventListener("click", toggleShare);
    $("call-hangup").addEventListener("click", hangUp);
    $("call-retry").addEventListener("click", retryCall);
    $("call-use-chat").addEventListener("click", useChatInstead);
    $("invite-accept").addEventListener("click", () => answerInvite(true));
    $("invite-decline").addEventListener("click", () => answerInvite(false));
    window.addEventListener("pagehide", onPageHide);
    document.addEventListener("visibilitychange", sendRead);
    window.addEventListener("online", () => {
      if (!socket && session && !ended) {
        reconnectDelay = 1000;
        connect();
      }
    });

    applyLanguage();
    loadOptions(0);
    if (!session) {
      show($("prechat"), true);
      return;
    }
    // A reload: the same chat, its history replayed from the start (nothing is shown yet).
    enterChat();
    for (const { id, body } of session.pending || []) {
      unacked.set(id, body);
      addPendingLine(id, body);
    }
    if (session.ended) {
      restoreEnded();
    } else {
      showQueue(null, null);
      if (isCallSession()) showCallWaiting(session.channel);
      connect();
    }
  }

  init();
})();
