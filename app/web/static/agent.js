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
  const CANNED_MAX_AGE_MS = 60000; // a new chat reads the canned responses again past this

  const LANG_KEY = "switchboard.agent.lang"; // the agent's choice, in localStorage
  const LOCALES = { en: "en-US", es: "es-US" }; // for times and dates

  // ---------------------------------------------------------------- strings (en, es)

  // The desk's own words. What the server sends (names, messages, queue, topic and
  // disposition names, canned responses, its error texts) is shown as it comes.
  const STRINGS = {
    en: {
      title: "Switchboard agent desk",
      titleOffers_one: "({n} offer) ",
      titleOffers_other: "({n} offers) ",
      skipLink: "Skip to conversations",
      brandSub: "agent desk",
      language: "Language",
      status: "Status",
      presence_available: "Available",
      presence_offline: "Offline",
      busy_break: "Busy: break",
      busy_training: "Busy: training",
      busy_meeting: "Busy: meeting",
      busy_after_call_work: "Busy: after-call work",
      busy_missed: "Busy: missed offer",
      busyOther: "Busy: {reason}",
      receivingOffers: "Receiving offers",
      notReceivingOffers: "Not receiving offers",
      offline: "Offline",
      missedOffer: "Missed an offer: set Available to continue",
      connecting: "Connecting…",
      reconnecting: "Reconnecting…",
      connected: "Connected",
      reconnectingIn: "Disconnected. Reconnecting in {n} s…",
      renewingSignIn: "Renewing sign-in…",
      notAllowed: "This account may not use the agent desk.",
      signIn: "Sign in",
      signOut: "Sign out",
      username: "Username",
      password: "Password",
      enterUsername: "Enter your username.",
      enterPassword: "Enter your password.",
      sessionEnded: "Your session has ended. Please sign in again.",
      resumeFailed: "Could not resume the session: {detail}",
      noConnection: "No connection",
      noConnectionDetail: "The server could not be reached. Check the network and try again.",
      notValid: "Not valid.",
      somethingWrong: "Something went wrong.",
      tryAgainIn: " Try again in {n} s.",
      serverRefused: "The server refused a request.",
      offersRegion: "Offers waiting for you",
      conversations: "Conversations",
      openConversations: "Open conversations",
      noChats: "No open conversations. Set your status to Available to receive offers.",
      noChatsAvailable: "No open conversations. New offers appear here.",
      offerTitle: "New {channel}: {name}",
      announceOffer: "New {channel} offer from {name}, {language}, {queue}",
      announceTopic: ", about {topic}",
      announceWithin: ". Accept or reject within {n} seconds.",
      offerTimedOut: "The offer timed out and went to someone else.",
      offerWithdrawn: "The offer was withdrawn.",
      expiresIn: "Expires in {n} s",
      expiring: "Expiring…",
      accept: "Accept",
      reject: "Reject",
      channel: "Channel",
      queue: "Queue",
      waiting: "Waiting",
      customer: "Customer",
      languageField: "Language",
      topic: "Topic",
      earlierContacts: "Earlier contacts",
      noneOnRecord: "None on record.",
      andMore: "and {n} more",
      notGiven: "Not given",
      unknown: "Unknown",
      unknownChannel: "Unknown channel",
      aCustomer: "a customer",
      theCustomer: "the customer",
      TheCustomer: "The customer",
      channel_chat: "Chat",
      channel_voice: "Phone call",
      channel_video: "Video call",
      channel_email: "Email",
      channel_sms: "Text message",
      channel_postal: "Postal mail",
      channel_walk_in: "Walk-in",
      language_en: "English",
      language_es: "Spanish (Español)",
      language_vi: "Vietnamese",
      language_ru: "Russian",
      language_zh: "Chinese",
      language_ko: "Korean",
      language_tl: "Tagalog",
      language_so: "Somali",
      language_ar: "Arabic",
      state_queued: "queued",
      state_offered: "offered",
      state_active: "active",
      state_wrap_up: "wrap up",
      state_completed: "completed",
      state_abandoned: "abandoned",
      state_cancelled: "cancelled",
      state_transferred: "transferred",
      noteFromPrevious: "Note from the previous agent",
      callCardText: "The call is connected through the telephony or video system. Use End call when you are done; wrap-up follows.",
      callWith: "{channel} with {name}",
      endCall: "End call",
      endChat: "End chat",
      endCallQuestion: "End this call?",
      endChatQuestion: "End this conversation?",
      yesEnd: "Yes, end it",
      keepTalking: "Keep talking",
      tabWrapUp: "Wrap-up",
      tabDisconnected: "Disconnected",
      unread: "{n} unread",
      messages: "Messages",
      authorSystem: "System",
      authorAgent: "Agent",
      authorCustomer: "Customer",
      authorSupervisor: "{name} (supervisor)",
      supervisor: "Supervisor",
      you: "You",
      internalNote: "Internal note, not shown to the customer",
      sending: "Sending…",
      sent: "Sent",
      read: "Read",
      notSent: "Not sent",
      retry: "Retry",
      typeFirst: "Type a message first.",
      tooLong: "Messages are limited to {n} characters.",
      newMessage: "New message from {name}.",
      isTyping: "{name} is typing…",
      customerDisconnected: "Disconnected",
      customerLeft: "Left the chat",
      announceLeft: "{name} left the chat.",
      announceDisconnected: "{name} disconnected.",
      announceClosed: "Conversation with {name} closed: {reason}.",
      closed_completed: "completed",
      closed_transferred: "transferred",
      closed_abandoned: "the customer left",
      closed_cancelled: "cancelled",
      cannedResponse: "Canned response",
      cannedUntitled: "Response",
      insert: "Insert…",
      message: "Message",
      composerPlaceholder: "Type a reply. Enter sends, Shift+Enter adds a line.",
      send: "Send",
      transferEllipsis: "Transfer…",
      inviteVoice: "Invite to voice call",
      inviteVideo: "Invite to video call",
      name: "Name",
      email: "Email",
      phone: "Phone",
      caseNumber: "Case number",
      accepted: "Accepted",
      callHeading: "Call",
      voiceCall: "Voice call",
      videoCall: "Video call",
      callDuration: "Call duration",
      customerVideo: "Customer's video",
      customerScreen: "Customer's shared screen",
      yourCamera: "Your camera",
      callControls: "Call controls",
      mute: "Mute",
      cameraOff: "Camera off",
      hold: "Hold",
      askShare: "Ask to share screen",
      hangUp: "Hang up",
      callConnecting: "Connecting the call…",
      callConnected: "Call connected.",
      callHeldShort: "On hold.",
      callHeld: "On hold: the customer hears nothing.",
      callReconnecting: "The connection dropped. Reconnecting…",
      shareRequested: "Screen share requested: the customer decides.",
      customerHungUp: "The customer hung up.",
      callEnded_remote: "The customer hung up. End the conversation when you are done.",
      callEnded_local: "You hung up. End the conversation when you are done.",
      callEnded_media_lost: "The call ended: the connection was lost. End the conversation when you are done.",
      callEnded_page_closed: "The customer closed the page: the call ended. End the conversation when you are done.",
      callTransferred: "Call transferred: it starts again when the next specialist answers.",
      noCall_permission_denied: "No call: the customer's browser was refused the microphone or camera. Continue by chat.",
      noCall_no_device: "No call: the customer has no microphone or camera. Continue by chat.",
      noCall_device_busy: "No call: the customer's microphone or camera is in use elsewhere. Continue by chat.",
      noCall_media_failed: "No call: the customer's browser could not start the media. Continue by chat.",
      noCall_no_webrtc: "No call: the customer's browser cannot make calls. Continue by chat.",
      noCall_no_media_devices: "No call: the customer's browser cannot use a microphone here. Continue by chat.",
      browserCannotCall: "This browser cannot make calls: you will hear nothing. Use the chat.",
      micFailed: "Your microphone could not be used ({reason}): the customer will not hear you.",
      micCameraFailed: "Your microphone or camera could not be used ({reason}): the customer will not hear you.",
      mediaError_permission_denied: "permission denied",
      mediaError_no_device: "no device",
      mediaError_device_busy: "device busy",
      mediaError_media_failed: "media failed",
      quality: "Connection: {level}",
      qualityDetails: "Connection: {level} ({details})",
      quality_good: "good",
      quality_fair: "fair",
      quality_poor: "poor",
      roundTrip: "round trip {n} ms",
      jitter: "jitter {n} ms",
      loss: "loss {n} %",
      inviteSent_voice: "Voice call invitation sent.",
      inviteSent_video: "Video call invitation sent.",
      inviteDeclined: "The customer declined the call.",
      inviteDeclinedError: "The customer declined the call (or could not start it).",
      inviteAccepted: "The customer accepted: connecting the call…",
      notConnected: "Not connected: try again in a moment.",
      transferCallFailed: "The call ended for the transfer, but the transfer failed: try again, or continue in the chat.",
      youEnded: "You ended the conversation.",
      conversationEnded: "The conversation has ended.",
      transferredNote: "Transferred. This tab closes in a moment.",
      wrapUp: "Wrap-up",
      wrapUpEndsIn: "Wrap-up ends in {time}",
      wrapUpOver: "Wrap-up time is over",
      wrapUpSaved: "Wrap-up saved.",
      disposition: "Disposition",
      loading: "Loading…",
      noDispositions: "No dispositions are set up.",
      notes: "Notes",
      followUp: "Follow-up callback (optional)",
      followUpNote: "Follow-up note (optional)",
      finishWrapUp: "Finish wrap-up",
      checkFollowUp: "Check the follow-up date and time.",
      futureTime: "Choose a time in the future.",
      transfer: "Transfer",
      transferTo: "Transfer to",
      aQueue: "A queue",
      aNamedAgent: "A named agent",
      agent: "Agent",
      transferKind: "Kind of transfer",
      cold: "Cold: hand over now",
      warm: "Warm: with a private note for the next person",
      privateNote: "Private note (the customer does not see it)",
      cancel: "Cancel",
      conversationWith: "Conversation with {name}",
      loadingQueues: "Loading queues…",
      loadingAgents: "Loading agents…",
      currentQueue: "{name} (current)",
      chooseQueue: "Choose a queue",
      queuesFailed: "Queues could not be loaded",
      agentsFailed: "Agents could not be loaded",
      agentsFailedHint: "Transfer to a queue instead, or close this dialog and try again.",
      agentLoad: "{name} ({n} open)",
      noColleague: "No colleague is available now",
      noColleagueHint: "Only colleagues who are available now are listed: transfer to a queue instead.",
      chooseAgent: "Choose an agent",
      agentsHint: "Colleagues available now; the number in brackets is what they already handle.",
      chooseQueueError: "Choose a queue.",
      chooseAgentError: "Choose an agent.",
      warmNoteError: "Write a note for a warm transfer.",
    },
    es: {
      title: "Switchboard: panel de atención",
      titleOffers_one: "({n} contacto nuevo) ",
      titleOffers_other: "({n} contactos nuevos) ",
      skipLink: "Ir a las conversaciones",
      brandSub: "panel de atención",
      language: "Idioma",
      status: "Estado",
      presence_available: "Disponible",
      presence_offline: "Fuera de línea",
      busy_break: "Ocupado: descanso",
      busy_training: "Ocupado: capacitación",
      busy_meeting: "Ocupado: reunión",
      busy_after_call_work: "Ocupado: cierre de llamada",
      busy_missed: "Ocupado: contacto sin respuesta",
      busyOther: "Ocupado: {reason}",
      receivingOffers: "Recibe contactos",
      notReceivingOffers: "No recibe contactos",
      offline: "Fuera de línea",
      missedOffer: "Un contacto quedó sin respuesta: elija Disponible para continuar",
      connecting: "Conectando…",
      reconnecting: "Reconectando…",
      connected: "Conectado",
      reconnectingIn: "Sin conexión. Reconectando en {n} s…",
      renewingSignIn: "Renovando la sesión…",
      notAllowed: "Esta cuenta no puede usar el panel de atención.",
      signIn: "Iniciar sesión",
      signOut: "Cerrar sesión",
      username: "Nombre de usuario",
      password: "Contraseña",
      enterUsername: "Escriba su nombre de usuario.",
      enterPassword: "Escriba su contraseña.",
      sessionEnded: "Su sesión terminó. Vuelva a iniciar sesión.",
      resumeFailed: "No se pudo retomar la sesión: {detail}",
      noConnection: "Sin conexión",
      noConnectionDetail: "No se pudo comunicar con el servidor. Revise la red e intente de nuevo.",
      notValid: "No es válido.",
      somethingWrong: "Algo salió mal.",
      tryAgainIn: " Intente de nuevo en {n} s.",
      serverRefused: "El servidor rechazó una solicitud.",
      offersRegion: "Contactos que esperan su respuesta",
      conversations: "Conversaciones",
      openConversations: "Conversaciones abiertas",
      noChats: "No hay conversaciones abiertas. Cambie su estado a Disponible para recibir contactos.",
      noChatsAvailable: "No hay conversaciones abiertas. Los nuevos contactos aparecerán aquí.",
      offerTitle: "Nuevo contacto por {channel}: {name}",
      announceOffer: "Nuevo contacto por {channel} de {name}, {language}, {queue}",
      announceTopic: ", sobre {topic}",
      announceWithin: ". Acepte o rechace en {n} segundos.",
      offerTimedOut: "Se acabó el tiempo para responder y el contacto pasó a otra persona.",
      offerWithdrawn: "El contacto fue retirado.",
      expiresIn: "Vence en {n} s",
      expiring: "Vence ahora…",
      accept: "Aceptar",
      reject: "Rechazar",
      channel: "Canal",
      queue: "Fila",
      waiting: "Tiempo de espera",
      customer: "Cliente",
      languageField: "Idioma",
      topic: "Tema",
      earlierContacts: "Contactos anteriores",
      noneOnRecord: "No hay ninguno registrado.",
      andMore: "y {n} más",
      notGiven: "No indicado",
      unknown: "Desconocido",
      unknownChannel: "Canal desconocido",
      aCustomer: "un cliente",
      theCustomer: "el cliente",
      TheCustomer: "El cliente",
      channel_chat: "Chat",
      channel_voice: "Llamada telefónica",
      channel_video: "Videollamada",
      channel_email: "Correo electrónico",
      channel_sms: "Mensaje de texto",
      channel_postal: "Correo postal",
      channel_walk_in: "Visita en persona",
      language_en: "Inglés (English)",
      language_es: "Español",
      language_vi: "Vietnamita",
      language_ru: "Ruso",
      language_zh: "Chino",
      language_ko: "Coreano",
      language_tl: "Tagalo",
      language_so: "Somalí",
      language_ar: "Árabe",
      state_queued: "en fila",
      state_offered: "ofrecido",
      state_active: "activo",
      state_wrap_up: "en cierre",
      state_completed: "completado",
      state_abandoned: "abandonado",
      state_cancelled: "cancelado",
      state_transferred: "transferido",
      noteFromPrevious: "Nota del especialista anterior",
      callCardText: "La llamada está conectada por el sistema de teléfono o de video. Use Terminar llamada cuando acabe; después sigue el cierre.",
      callWith: "{channel} con {name}",
      endCall: "Terminar llamada",
      endChat: "Terminar chat",
      endCallQuestion: "¿Terminar esta llamada?",
      endChatQuestion: "¿Terminar esta conversación?",
      yesEnd: "Sí, terminar",
      keepTalking: "Seguir conversando",
      tabWrapUp: "Cierre",
      tabDisconnected: "Sin conexión",
      unread: "{n} sin leer",
      messages: "Mensajes",
      authorSystem: "Sistema",
      authorAgent: "Especialista",
      authorCustomer: "Cliente",
      authorSupervisor: "{name} (supervisor)",
      supervisor: "Supervisor",
      you: "Usted",
      internalNote: "Nota interna: el cliente no la ve",
      sending: "Enviando…",
      sent: "Enviado",
      read: "Leído",
      notSent: "No enviado",
      retry: "Reintentar",
      typeFirst: "Primero escriba un mensaje.",
      tooLong: "Los mensajes pueden tener hasta {n} caracteres.",
      newMessage: "Nuevo mensaje de {name}.",
      isTyping: "{name} está escribiendo…",
      customerDisconnected: "Sin conexión",
      customerLeft: "Salió del chat",
      announceLeft: "{name} salió del chat.",
      announceDisconnected: "{name} perdió la conexión.",
      announceClosed: "Se cerró la conversación con {name}: {reason}.",
      closed_completed: "completada",
      closed_transferred: "transferida",
      closed_abandoned: "el cliente se fue",
      closed_cancelled: "cancelada",
      cannedResponse: "Respuesta predefinida",
      cannedUntitled: "Respuesta",
      insert: "Insertar…",
      message: "Mensaje",
      composerPlaceholder: "Escriba una respuesta. Enter envía; Mayús+Enter agrega una línea.",
      send: "Enviar",
      transferEllipsis: "Transferir…",
      inviteVoice: "Invitar a llamada de voz",
      inviteVideo: "Invitar a videollamada",
      name: "Nombre",
      email: "Correo electrónico",
      phone: "Teléfono",
      caseNumber: "Número de caso",
      accepted: "Aceptada a las",
      callHeading: "Llamada",
      voiceCall: "Llamada de voz",
      videoCall: "Videollamada",
      callDuration: "Duración de la llamada",
      customerVideo: "Video del cliente",
      customerScreen: "Pantalla compartida del cliente",
      yourCamera: "Su cámara",
      callControls: "Controles de la llamada",
      mute: "Silenciar",
      cameraOff: "Apagar cámara",
      hold: "En espera",
      askShare: "Pedir que comparta la pantalla",
      hangUp: "Colgar",
      callConnecting: "Conectando la llamada…",
      callConnected: "Llamada conectada.",
      callHeldShort: "En espera.",
      callHeld: "En espera: el cliente no escucha nada.",
      callReconnecting: "Se cortó la conexión. Reconectando…",
      shareRequested: "Se pidió compartir la pantalla: el cliente decide.",
      customerHungUp: "El cliente colgó.",
      callEnded_remote: "El cliente colgó. Termine la conversación cuando acabe.",
      callEnded_local: "Usted colgó. Termine la conversación cuando acabe.",
      callEnded_media_lost: "La llamada terminó: se perdió la conexión. Termine la conversación cuando acabe.",
      callEnded_page_closed: "El cliente cerró la página: la llamada terminó. Termine la conversación cuando acabe.",
      callTransferred: "Llamada transferida: vuelve a empezar cuando conteste el siguiente especialista.",
      noCall_permission_denied: "No hay llamada: el navegador del cliente no obtuvo permiso para el micrófono o la cámara. Siga por chat.",
      noCall_no_device: "No hay llamada: el cliente no tiene micrófono ni cámara. Siga por chat.",
      noCall_device_busy: "No hay llamada: otro programa está usando el micrófono o la cámara del cliente. Siga por chat.",
      noCall_media_failed: "No hay llamada: el navegador del cliente no pudo iniciar el audio ni el video. Siga por chat.",
      noCall_no_webrtc: "No hay llamada: el navegador del cliente no puede hacer llamadas. Siga por chat.",
      noCall_no_media_devices: "No hay llamada: el navegador del cliente no puede usar un micrófono aquí. Siga por chat.",
      browserCannotCall: "Este navegador no puede hacer llamadas: no escuchará nada. Use el chat.",
      micFailed: "No se pudo usar su micrófono ({reason}): el cliente no podrá escucharle.",
      micCameraFailed: "No se pudo usar su micrófono o su cámara ({reason}): el cliente no podrá escucharle.",
      mediaError_permission_denied: "permiso denegado",
      mediaError_no_device: "no hay dispositivo",
      mediaError_device_busy: "dispositivo en uso",
      mediaError_media_failed: "no se pudo iniciar",
      quality: "Conexión: {level}",
      qualityDetails: "Conexión: {level} ({details})",
      quality_good: "buena",
      quality_fair: "regular",
      quality_poor: "mala",
      roundTrip: "ida y vuelta {n} ms",
      jitter: "variación {n} ms",
      loss: "pérdida {n} %",
      inviteSent_voice: "Se envió la invitación a una llamada de voz.",
      inviteSent_video: "Se envió la invitación a una videollamada.",
      inviteDeclined: "El cliente no aceptó la llamada.",
      inviteDeclinedError: "El cliente no aceptó la llamada (o no pudo iniciarla).",
      inviteAccepted: "El cliente aceptó: conectando la llamada…",
      notConnected: "Sin conexión: intente de nuevo en un momento.",
      transferCallFailed: "La llamada terminó para la transferencia, pero la transferencia falló: intente de nuevo o siga en el chat.",
      youEnded: "Usted terminó la conversación.",
      conversationEnded: "La conversación terminó.",
      transferredNote: "Transferida. Esta pestaña se cerrará en un momento.",
      wrapUp: "Cierre",
      wrapUpEndsIn: "El cierre termina en {time}",
      wrapUpOver: "Se acabó el tiempo de cierre",
      wrapUpSaved: "Cierre guardado.",
      disposition: "Resultado",
      loading: "Cargando…",
      noDispositions: "No hay resultados configurados.",
      notes: "Notas",
      followUp: "Llamada de seguimiento (opcional)",
      followUpNote: "Nota de seguimiento (opcional)",
      finishWrapUp: "Terminar el cierre",
      checkFollowUp: "Revise la fecha y la hora del seguimiento.",
      futureTime: "Elija una fecha y hora futuras.",
      transfer: "Transferir",
      transferTo: "Transferir a",
      aQueue: "Una fila",
      aNamedAgent: "Un especialista en particular",
      agent: "Especialista",
      transferKind: "Tipo de transferencia",
      cold: "Directa: pasarla ahora",
      warm: "Con nota: con una nota privada para la siguiente persona",
      privateNote: "Nota privada (el cliente no la ve)",
      cancel: "Cancelar",
      conversationWith: "Conversación con {name}",
      loadingQueues: "Cargando filas…",
      loadingAgents: "Cargando especialistas…",
      currentQueue: "{name} (actual)",
      chooseQueue: "Elija una fila",
      queuesFailed: "No se pudieron cargar las filas",
      agentsFailed: "No se pudieron cargar los especialistas",
      agentsFailedHint: "Mejor transfiera a una fila, o cierre esta ventana e intente de nuevo.",
      agentLoad: "{name} ({n} abiertas)",
      noColleague: "No hay especialistas disponibles ahora",
      noColleagueHint: "Solo aparecen los especialistas disponibles en este momento: mejor transfiera a una fila.",
      chooseAgent: "Elija un especialista",
      agentsHint: "Especialistas disponibles ahora; el número entre paréntesis es lo que ya atienden.",
      chooseQueueError: "Elija una fila.",
      chooseAgentError: "Elija un especialista.",
      warmNoteError: "Escriba una nota para la transferencia con nota.",
    },
  };

  // ---------------------------------------------------------------- small helpers

  const $ = (selector, root) => (root || document).querySelector(selector);

  function show(el, visible) {
    if (el) el.hidden = !visible;
  }

  /** A text as it is (a name, the server's words, one already translated): it is not
   * written again when the language changes (see setT). */
  function setText(el, text) {
    if (!el) return;
    delete el.dataset.i18n;
    delete el.dataset.i18nVars;
    el.textContent = text == null ? "" : String(text);
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
    return new Date(ms).toLocaleTimeString(LOCALES[lang], { hour: "2-digit", minute: "2-digit" });
  }

  function formatDate(ms) {
    if (ms == null) return "";
    return new Date(ms).toLocaleDateString(LOCALES[lang], { year: "numeric", month: "short", day: "numeric" });
  }

  function channelLabel(channel) {
    return tCode("channel_", channel, channel || t("unknownChannel"));
  }

  function languageLabel(code) {
    if (!code) return t("notGiven");
    return tCode("language_", code, code);
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

  // ---------------------------------------------------------------- language

  let lang = "en";

  /**
   * The desk's text `key` in the chosen language (the English one when Spanish lacks it),
   * each {name} in it replaced by vars.name; a var may itself be {key, vars}, a text of ours.
   */
  function t(key, vars) {
    let text = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
    for (const [name, value] of Object.entries(vars || {})) {
      const part = value && typeof value === "object" ? t(value.key, value.vars) : String(value);
      text = text.split(`{${name}}`).join(part);
    }
    return text;
  }

  /** The text for a code the server sends (a channel, a state…), or `fallback` for one we do not know. */
  function tCode(prefix, code, fallback) {
    return Object.hasOwn(STRINGS.en, `${prefix}${code}`) ? t(`${prefix}${code}`) : fallback;
  }

  /** Our own text in `el`: written again in the new language when the agent changes it. */
  function setT(el, key, vars) {
    if (!el) return;
    el.dataset.i18n = key;
    if (vars) el.dataset.i18nVars = JSON.stringify(vars);
    else delete el.dataset.i18nVars;
    el.textContent = t(key, vars);
  }

  /** The marked texts, labels and placeholders under `root`, in the chosen language. */
  function translate(root) {
    for (const el of root.querySelectorAll("[data-i18n]")) {
      el.textContent = t(el.dataset.i18n, el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : undefined);
    }
    for (const el of root.querySelectorAll("[data-i18n-aria-label]")) el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
    for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  }

  function savedLanguage() {
    try { return localStorage.getItem(LANG_KEY); } catch (_) { return null; }
  }

  /** ?lang= in the address, else the agent's last choice, else the browser's languages. */
  function initialLanguage() {
    const fromUrl = new URLSearchParams(location.search).get("lang");
    const browser = (navigator.languages || [navigator.language || "en"]).find((l) => /^(en|es)\b/i.test(l));
    for (const candidate of [fromUrl, savedLanguage(), browser]) {
      const code = (candidate || "").slice(0, 2).toLowerCase();
      if (Object.hasOwn(STRINGS, code)) return code;
    }
    return "en";
  }

  /** The agent picked a language: remembered, and a ?lang= in the address follows it (a
   * reload shows the same). */
  function chooseLanguage(code) {
    if (!Object.hasOwn(STRINGS, code) || code === lang) return;
    try { localStorage.setItem(LANG_KEY, code); } catch (_) { /* not remembered: fine */ }
    const url = new URL(location.href);
    if (url.searchParams.has("lang")) {
      url.searchParams.set("lang", code);
      history.replaceState(history.state, "", url);
    }
    lang = code;
    applyLanguage();
  }

  /** Write the whole page in `lang`: marked texts, then what the desk renders itself. */
  function applyLanguage() {
    document.documentElement.lang = lang;
    $("#lang-select").value = lang;
    translate(document);
    for (const time of document.querySelectorAll(".message time")) time.textContent = formatClock(parseTime(time.dateTime));
    for (const offer of desk.offers.values()) renderOffer(offer);
    for (const chat of desk.chats.values()) {
      renderChatDetails(chat);
      if (chat.lastQuality) showDeskQuality(chat, chat.lastQuality);
    }
    tick();
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
    return new ApiError(0, { title: t("noConnection"), detail: t("noConnectionDetail") });
  }

  /** A problem the desk finds itself (not the server's), for showError; re-translated. */
  function deskProblem(key, vars) {
    return { problem: { title: t(key, vars) }, i18n: { key, vars } };
  }

  /** Show a problem in `box`; field errors go to `fieldBoxes[field]` when one is given. */
  function showError(box, error, fieldBoxes) {
    const problem = (error && error.problem) || {};
    const unplaced = [];
    for (const el of Object.values(fieldBoxes || {})) {
      if (el) { setText(el, ""); el.hidden = true; }
    }
    for (const item of problem.errors || []) {
      const field = String(item.field || "");
      const key = field.split(".").pop();
      const target = fieldBoxes && (fieldBoxes[field] || fieldBoxes[key]);
      if (target) {
        setText(target, item.message || t("notValid"));
        target.hidden = false;
      } else {
        unplaced.push(field ? `${key}: ${item.message}` : item.message);
      }
    }
    let text = problem.title || (error && error.message) || t("somethingWrong");
    if (problem.detail && problem.detail !== problem.title) text += `: ${problem.detail}`;
    if (unplaced.length) text += ` (${unplaced.join("; ")})`;
    if (error && error.status === 429 && error.retryAfter) {
      text += t("tryAgainIn", { n: error.retryAfter });
    }
    if (error && error.i18n) setT(box, error.i18n.key, error.i18n.vars);
    else setText(box, text);
    box.hidden = false;
  }

  function clearError(box, fieldBoxes) {
    if (box) { setText(box, ""); box.hidden = true; }
    for (const el of Object.values(fieldBoxes || {})) {
      if (el) { setText(el, ""); el.hidden = true; }
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
          signedOut("sessionEnded");
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
    canned: new Map(), // language -> {at, list}: list a promise of the items, or of null when
    // the endpoint does not exist
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

  function setConnection(key, tone, vars) {
    const el = $("#connection");
    setT(el, key, vars);
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
    setConnection(socket.attempt ? "reconnecting" : "connecting", "pending");
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
      setConnection("renewingSignIn", "pending");
      refreshTokens().then(() => { socket.attempt = 0; connect(); }, () => {});
      return;
    }
    if (code === 4403) {
      socket.wanted = false;
      setConnection("notAllowed", "error");
      return;
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (!socket.wanted) return;
    socket.attempt += 1;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (socket.attempt - 1));
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    setConnection("reconnectingIn", "error", { n: Math.ceil(delay / 1000) });
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
    setConnection("connected", "ok");
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
    const text = frame.detail || frame.code || t("serverRefused");
    if (window.console) console.warn("desk socket error:", frame.code, text);
    if (frame.code === "not_your_chat" || frame.field === "seq" || frame.field === "interaction_id") return;
    // A call frame that crossed the end of its call (say, a late ICE candidate): nothing to do.
    if (QUIET_CALL_ERRORS.has(frame.code)) return;
    const chat = frame.interaction_id && desk.chats.get(frame.interaction_id);
    if (chat) {
      setText(chat.el.composerError, text);
      chat.el.composerError.hidden = false;
      return;
    }
    setText($("#connection"), text);
    $("#connection").dataset.tone = "error";
    window.setTimeout(() => {
      if (socket.ws && socket.ws.readyState === WebSocket.OPEN) setConnection("connected", "ok");
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
      const reason = String(presence.reason || "");
      if (presence.state !== "busy") setText(option, presence.state);
      else if (Object.hasOwn(STRINGS.en, `busy_${reason}`)) setT(option, `busy_${reason}`);
      else setT(option, "busyOther", { reason: reason.replace(/_/g, " ") });
      option.dataset.dynamic = "true";
      select.insertBefore(option, select.lastElementChild);
    }
    select.value = value;
    const dot = $("#presence-dot");
    dot.dataset.state = presence.state;
    let key = presence.state === "available" ? "receivingOffers"
      : presence.state === "busy" ? "notReceivingOffers" : "offline";
    if (presence.state === "busy" && presence.reason === "missed") key = "missedOffer";
    setT($("#presence-text"), key);
    // The empty desk says what to do next: go available, or wait for offers.
    setT($("#no-chats"), presence.state === "available" ? "noChatsAvailable" : "noChats");
  }

  async function changePresence() {
    const select = $("#presence-select");
    const errorBox = $("#presence-error");
    const [state, reason] = select.value.split(":");
    const previous = presenceValue(desk.presence.state, desk.presence.reason);
    clearError(errorBox);
    // Disabling the list while the change is saved drops its focus: a keyboard user gets it back.
    const hadFocus = document.activeElement === select;
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
      if (hadFocus) select.focus();
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
      translate(node);
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
    renderOffer(offer);
    if (isNew) {
      const customer = frame.customer || {};
      const seconds = offer.expiresAt ? Math.round((offer.expiresAt - Date.now()) / 1000) : null;
      announce(t("announceOffer", {
        channel: channelLabel(frame.channel).toLowerCase(), name: customer.name || t("aCustomer"),
        language: languageLabel(customer.language), queue: queueName(frame.queue),
      }) + (frame.topic ? t("announceTopic", { topic: frame.topic }) : "") +
        (seconds != null ? t("announceWithin", { n: seconds }) : "."), true);
    }
  }

  /** The offer's texts (again when the language changes). */
  function renderOffer(offer) {
    const frame = offer.data;
    const node = offer.node;
    const customer = frame.customer || {};
    node.dataset.channel = frame.channel || "";
    setText($(".offer-title", node), t("offerTitle",
      { channel: channelLabel(frame.channel).toLowerCase(), name: customer.name || t("customer") }));
    setText($(".f-channel", node), channelLabel(frame.channel));
    setText($(".f-queue", node), queueName(frame.queue));
    setText($(".f-customer", node), customer.name || t("notGiven"));
    setText($(".f-language", node), languageLabel(customer.language));
    setText($(".f-topic", node), frame.topic || t("notGiven"));
    renderHistory($(".history-list", node), frame.history || []);
    tickOffer(offer);
  }

  function renderHistory(list, history) {
    list.replaceChildren();
    if (!history.length) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = t("noneOnRecord");
      list.appendChild(li);
      return;
    }
    for (const item of history.slice(0, 10)) {
      const li = document.createElement("li");
      const parts = [formatDate(parseTime(item.created_at)), channelLabel(item.channel)];
      if (item.topic) parts.push(item.topic);
      if (item.state) parts.push(tCode("state_", item.state, String(item.state).replace(/_/g, " ")));
      li.textContent = parts.filter(Boolean).join(" · ");
      list.appendChild(li);
    }
    if (history.length > 10) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = t("andMore", { n: history.length - 10 });
      list.appendChild(li);
    }
  }

  function tickOffer(offer) {
    const now = Date.now();
    const node = offer.node;
    if (offer.queuedAt != null) setText($(".f-waited", node), formatDuration((now - offer.queuedAt) / 1000));
    else setText($(".f-waited", node), t("unknown"));
    const text = $(".offer-countdown-text", node);
    const bar = $(".offer-progress", node);
    if (offer.expiresAt == null) {
      setText(text, "");
      bar.hidden = true;
      return;
    }
    const left = Math.max(0, (offer.expiresAt - now) / 1000);
    setText(text, left > 0 ? t("expiresIn", { n: Math.ceil(left) }) : t("expiring"));
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
    if (!quiet && reason === "timed_out") announce(t("offerTimedOut"), false);
    if (!quiet && reason === "revoked") announce(t("offerWithdrawn"), false);
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
    translate(panel);
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
      lastQuality: null, // the call's last quality reading, shown again in a new language
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
    const name = customer.name || t("customer");
    setText(chat.el.tabName, name);
    setText($(".c-name", panel), customer.name || t("notGiven"));
    setText($(".c-language", panel), languageLabel(customer.language));
    setText($(".c-email", panel), customer.email || t("notGiven"));
    setText($(".c-phone", panel), customer.phone || "");
    show($(".c-phone", panel).parentElement, Boolean(customer.phone));
    if (Array.isArray(data.history)) {
      renderHistory($(".side-history-list", panel), data.history);
      show($(".side-history", panel), true);
    }
    setText($(".c-case", panel), customer.case_number || t("notGiven"));
    setText($(".c-topic", panel), data.topic || t("notGiven"));
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
    setText($(".call-title", panel), t("callWith", { channel: channelLabel(chat.channel), name }));
    setT(chat.el.endButton, call ? "endCall" : "endChat");
    setT($(".end-confirm-text", panel), call ? "endCallQuestion" : "endChatQuestion");

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
    if (chat.wrapUpOpen) state = t("tabWrapUp");
    else if (chat.data.customer_connected === false) state = t("tabDisconnected");
    setText(chat.el.tabState, state);
    chat.el.tab.dataset.state = chat.wrapUpOpen ? "wrap_up" : "active";
    const n = chat.unread;
    show(chat.el.unread, n > 0);
    setText(chat.el.unread, n > 99 ? "99+" : String(n));
    chat.el.unread.setAttribute("aria-label", t("unread", { n }));
    updateTitle();
  }

  function updateTitle() {
    let unread = 0;
    for (const chat of desk.chats.values()) unread += chat.unread;
    const offers = desk.offers.size;
    const prefix = offers ? t(offers > 1 ? "titleOffers_other" : "titleOffers_one", { n: offers })
      : unread ? `(${unread}) ` : "";
    document.title = `${prefix}${t("title")}`;
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
    const name = (chat.data.customer && chat.data.customer.name) || t("theCustomer");
    if (reason) announce(t("announceClosed", { name, reason: tCode("closed_", reason, reason) }), false);
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
    if (frame.from === "system") return frame.author || t("authorSystem");
    if (frame.from === "agent") return frame.author || t("authorAgent");
    if (frame.from === "supervisor") return t("authorSupervisor", { name: frame.author || t("supervisor") });
    return frame.author || t("authorCustomer");
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
      setT(tag, "internalNote");
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

  /** A message's delivery status: `key` is sending, sent, read or notSent. */
  function setStatus(li, key, tone) {
    setT($(".status", li), key);
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
      const read = hasSeq && seq <= chat.customerReadSeq;
      setStatus(pending, read ? "read" : "sent", read ? "read" : "sent");
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
      setStatus(li, read ? "read" : "sent", read ? "read" : "sent");
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
          announce(t("newMessage", { name: (chat.data.customer && chat.data.customer.name) || t("theCustomer") }), false);
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
      if (Number.isFinite(own) && own <= upTo && li.dataset.status !== "read") setStatus(li, "read", "read");
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
      setStatus(li, "sending", "pending");
      $(".retry", li) && $(".retry", li).remove();
    } else {
      body = input.value.trim();
      if (!body) {
        showError(errorBox, deskProblem("typeFirst"));
        return;
      }
      if (body.length > desk.maxMessageChars) {
        showError(errorBox, deskProblem("tooLong", { n: desk.maxMessageChars }));
        return;
      }
      cmid = randomId("a-");
      li = buildMessage({ from: "agent", author: (desk.agent && desk.agent.name) || t("you"), body, sent_at: new Date().toISOString() });
      li.classList.add("own");
      li.dataset.clientMessageId = cmid;
      setStatus(li, "sending", "pending");
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
        setStatus(li, "sent", "sent");
      }
    } catch (error) {
      if (!chat.pending.has(cmid)) return; // the socket confirmed it meanwhile
      setStatus(li, "notSent", "failed");
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "retry link";
      setT(retry, "retry");
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
      const name = firstName(chat.data.customer && chat.data.customer.name) || { key: "TheCustomer" };
      setT(chat.el.typing, "isTyping", { name });
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
    setT(chat.el.disconnected, chat.customerLeft ? "customerLeft" : "customerDisconnected");
    if (connected === false && (wasConnected || left)) {
      hideCustomerTyping(chat);
      const name = (chat.data.customer && chat.data.customer.name) || t("TheCustomer");
      announce(t(left ? "announceLeft" : "announceDisconnected", { name }), false);
    } else if (connected !== false) {
      chat.customerLeft = false;
    }
    updateTabState(chat);
  }

  // ---------------------------------------------------------------- canned responses

  function cannedList(language) {
    const key = language || "";
    const kept = desk.canned.get(key);
    // Read again for a new chat once a minute old: supervisors edit the list during the day.
    if (!kept || Date.now() - kept.at > CANNED_MAX_AGE_MS) {
      const query = language ? `?language=${encodeURIComponent(language)}` : "";
      desk.canned.set(key, { at: Date.now(), list: listAll(`/canned-responses${query}`).then(
        (items) => items.filter((item) => item.active !== false).map((item) => ({
          id: item.id || item.key || item.title,
          title: item.title || item.name || item.label || t("cannedUntitled"),
          body: item.body || item.text || "",
          language: item.language || null,
        })).filter((item) => item.body),
        () => null, // 404 (no such endpoint) or refused: no picker
      ) });
    }
    return desk.canned.get(key).list;
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

  function setCallStatus(chat, state, key) {
    chat.el.webCall.dataset.state = state;
    setT(chat.el.callStatus, key);
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
    setT($(".web-call-title", chat.el.panel), media === "video" ? "videoCall" : "voiceCall");
    show(chat.el.callCamera, media === "video");
    show(chat.el.webCall, true);
    show(chat.el.callControls, true);
    show(chat.el.inviteVoice, false);
    show(chat.el.inviteVideo, false);
  }

  function onCallSignal(chat, frame) {
    if (frame.kind === "hangup" && (!chat.call || chat.call.ended)) {
      // The customer's browser could not start (or left before we had media).
      const why = Object.hasOwn(STRINGS.en, `noCall_${frame.reason}`) ? `noCall_${frame.reason}` : null;
      if (why || chat.webCall || isCallChannel(chat.channel)) {
        showWebCall(chat);
        show(chat.el.callControls, false);
        setCallStatus(chat, "ended", why || "customerHungUp");
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
    setCallStatus(chat, "connecting", "callConnecting");
    let stream = null;
    if (SwitchboardCall.unsupportedReason()) {
      showError(chat.el.callError, deskProblem("browserCannotCall"));
    } else {
      try {
        stream = await SwitchboardCall.getLocalMedia(media);
      } catch (error) {
        const reason = SwitchboardCall.mediaErrorReason(error);
        const why = Object.hasOwn(STRINGS.en, `mediaError_${reason}`) ? { key: `mediaError_${reason}` } : reason.replace(/_/g, " ");
        showError(chat.el.callError, deskProblem(media === "video" ? "micCameraFailed" : "micFailed", { reason: why }));
      }
    }
    const iceServers = await request("GET", "/calls/ice-servers").then((answer) => (answer && answer.iceServers) || [], () => []);
    for (const button of [chat.el.callMute, chat.el.callCamera, chat.el.callHold]) button.setAttribute("aria-pressed", "false");
    chat.el.callTimer.dataset.seconds = "0";
    chat.el.callTimer.textContent = "0:00";
    show(chat.el.callQuality, false);
    chat.lastQuality = null;
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
    if (state === "connected") setCallStatus(chat, "connected", chat.call && chat.call.held ? "callHeldShort" : "callConnected");
    else if (state === "reconnecting") setCallStatus(chat, "reconnecting", "callReconnecting");
    else if (state === "connecting") setCallStatus(chat, "connecting", "callConnecting");
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
    chat.lastQuality = quality;
    el.dataset.level = quality.level;
    const parts = [];
    if (quality.rtt != null) parts.push(t("roundTrip", { n: Math.round(quality.rtt * 1000) }));
    if (quality.jitter != null) parts.push(t("jitter", { n: Math.round(quality.jitter * 1000) }));
    if (quality.loss != null) parts.push(t("loss", { n: (quality.loss * 100).toFixed(1) }));
    const level = tCode("quality_", quality.level, quality.level);
    setText(el, parts.length ? t("qualityDetails", { level, details: parts.join(", ") }) : t("quality", { level }));
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
    setCallStatus(chat, held ? "held" : "connected", held ? "callHeld" : "callConnected");
    postChatLine(chat, customerText(chat, HOLD_TEXT)[held ? 0 : 1]);
  }

  function askScreenShare(chat) {
    if (!chat.call || chat.call.ended) return;
    postChatLine(chat, customerText(chat, SHARE_TEXT));
    setT(chat.el.callStatus, "shareRequested");
  }

  function hangUpCall(chat, reason) {
    if (chat.call && !chat.call.ended) chat.call.hangUp(reason);
  }

  function onDeskCallEnded(chat, reason, by) {
    show(chat.el.callControls, false);
    show(chat.el.callVideos, false);
    chat.el.callAudio.srcObject = null;
    let key = by === "remote" ? "callEnded_remote" : "callEnded_local";
    if (reason === "media_lost" || reason === "page_closed") key = `callEnded_${reason}`;
    setCallStatus(chat, "ended", reason === "transferred" ? "callTransferred" : key);
    if (chat.channel === "chat") {
      chat.inviteMedia = null;
      renderChatDetails(chat);
    }
  }

  function inviteToCall(chat, media) {
    clearError(chat.el.actionsError);
    if (!sendFrame({ type: "call_invite", interaction_id: chat.id, media })) {
      showError(chat.el.actionsError, deskProblem("notConnected"));
      return;
    }
    chat.invited = media;
    setText(chat.el.callStatus, "");
    announce(t(media === "video" ? "inviteSent_video" : "inviteSent_voice"), false);
    setText(chat.el.endedNote, "");
  }

  function onInviteAnswered(chat, accepted) {
    const media = chat.invited || "voice";
    chat.invited = null;
    if (!accepted) {
      announce(t("inviteDeclined"), false);
      showError(chat.el.actionsError, deskProblem("inviteDeclinedError"));
      return;
    }
    chat.inviteMedia = media;
    showWebCall(chat);
    setCallStatus(chat, "connecting", "inviteAccepted");
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
      markEnded(chat, "youEnded");
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

  /** The conversation is over here; `key` (and `vars`) say how, under the messages. */
  function markEnded(chat, key, vars) {
    chat.ended = true;
    if (chat.call && !chat.call.ended) chat.call.finish("chat_ended", "local");
    show(chat.el.inviteVoice, false);
    show(chat.el.inviteVideo, false);
    show(chat.el.composer, false);
    show(chat.el.endButton, false);
    show(chat.el.endConfirm, false);
    show(chat.el.transferButton, false);
    hideCustomerTyping(chat);
    setT(chat.el.endedNote, key, vars);
    show(chat.el.endedNote, true);
  }

  function startWrapUp(chat, endsAt) {
    const parsed = parseTime(endsAt);
    if (parsed != null) chat.wrapUpEndsAt = parsed;
    if (!chat.ended) {
      const name = (chat.data.customer && chat.data.customer.name) || { key: "TheCustomer" };
      if (chat.customerLeft) markEnded(chat, "announceLeft", { name });
      else markEnded(chat, "conversationEnded");
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
    setText(chat.el.wrapupCountdown, left > 0 ? t("wrapUpEndsIn", { time: formatDuration(left) }) : t("wrapUpOver"));
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
        setT(p, "noDispositions");
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
      setText(loading, "");
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
        showError(chat.el.wrapupError, deskProblem("checkFollowUp"));
        return;
      }
      if (ms <= Date.now()) {
        setT(fieldBoxes.follow_up_at, "futureTime");
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
      setT(chat.el.wrapupCountdown, "wrapUpSaved");
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

  /** Options [value, label] after a first empty one saying `placeholderKey`; a label is a
   * name as it is, or {key, vars}, a text of ours. */
  function fillSelect(select, items, placeholderKey) {
    select.replaceChildren();
    const first = document.createElement("option");
    first.value = "";
    setT(first, placeholderKey);
    select.appendChild(first);
    for (const [value, label] of items) {
      const option = document.createElement("option");
      option.value = value;
      if (label && typeof label === "object") setT(option, label.key, label.vars);
      else setText(option, label);
      select.appendChild(option);
    }
  }

  async function openTransfer(chat) {
    const els = transferEls();
    transfer.chat = chat;
    clearError(els.error, els.fieldBoxes);
    els.form.reset();
    syncTransferForm();
    setT($("#transfer-subject"), "conversationWith",
      { name: (chat.data.customer && chat.data.customer.name) || { key: "theCustomer" } });
    fillSelect(els.queue, [], "loadingQueues");
    fillSelect(els.agent, [], "loadingAgents");
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
        .map((q) => [q.name, q.name === current ? { key: "currentQueue", vars: { name: q.name } } : q.name]);
      fillSelect(els.queue, items, "chooseQueue");
    } else {
      fillSelect(els.queue, [], "queuesFailed");
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
      fillSelect(els.agent, [], "agentsFailed");
      setT(els.agentHint, "agentsFailedHint");
      showError(els.fieldBoxes.agent_id, error);
      return;
    }
    const list = Array.isArray(agents.value) ? agents.value : [];
    const items = list.filter((a) => a && a.agent_id && String(a.agent_id) !== String(myId))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)))
      .map((a) => {
        const held = totalLoad(a.load);
        const name = a.name || String(a.agent_id);
        return [String(a.agent_id), held ? { key: "agentLoad", vars: { name, n: held } } : name];
      });
    if (!items.length) {
      fillSelect(els.agent, [], "noColleague");
      setT(els.agentHint, "noColleagueHint");
      return;
    }
    fillSelect(els.agent, items, "chooseAgent");
    setT(els.agentHint, "agentsHint");
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
        showError(els.fieldBoxes.queue, deskProblem("chooseQueueError"));
        els.queue.focus();
        return;
      }
      body.queue = els.queue.value;
    } else {
      if (!els.agent.value) {
        showError(els.fieldBoxes.agent_id, deskProblem("chooseAgentError"));
        els.agent.focus();
        return;
      }
      body.agent_id = els.agent.value;
    }
    if (kind === "warm") {
      const note = els.note.value.trim();
      if (!note) {
        showError(els.fieldBoxes.note, deskProblem("warmNoteError"));
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
      markEnded(chat, "transferredNote");
    } catch (error) {
      showError(els.error, error, els.fieldBoxes);
      if (hadCall) {
        setCallStatus(chat, "ended", "transferCallFailed");
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
      if (!username) { setT(fieldBoxes.username, "enterUsername"); fieldBoxes.username.hidden = false; }
      if (!password) { setT(fieldBoxes.password, "enterPassword"); fieldBoxes.password.hidden = false; }
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

  /** Back to the sign-in form; `key` (and `vars`) say why, when there is a why. */
  function signedOut(key, vars) {
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
    if (key) {
      setT(errorBox, key, vars);
      errorBox.hidden = false;
    } else {
      clearError(errorBox);
    }
    $("#signin-username").focus();
    document.title = t("title");
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
    lang = initialLanguage();
    applyLanguage();
    $("#lang-select").addEventListener("change", (event) => chooseLanguage(event.target.value));
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
        if (session.refresh) signedOut("resumeFailed", { detail: error.message });
      });
    } else {
      $("#signin-username").focus();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
