/* Switchboard supervisor page: canned responses (/api/v1/canned-responses), listed with
 * every language and the hidden ones, added, edited, hidden from agents or shown again, and
 * deleted. Renders into <section id="canned"> of the supervisor page.
 * Plain JavaScript, no framework, nothing loaded from another origin.
 *
 * The session and the element helper are the page's: window.SwitchboardSupervisor (set by
 * supervisor.js, which runs first). */
"use strict";

(function () {
  const root = document.getElementById("canned");
  const shared = window.SwitchboardSupervisor;
  if (!root || !shared) return;
  const el = shared.el;
  const $ = (selector) => root.querySelector(selector);
  const rows = $("#canned-rows");
  const form = $("#canned-form");
  const inputs = { title: $("#canned-title-input"), language: $("#canned-language"),
    body: $("#canned-body") };
  const fieldErrors = { title: $("#canned-title-error"), language: $("#canned-language-error"),
    body: $("#canned-body-error") };
  const listError = $("#canned-error");
  const formError = $("#canned-form-error");
  const submit = $("#canned-submit");
  const cancel = $("#canned-cancel");
  const state = { items: [], editing: null, loaded: false };

  function call(method, path, body) { return shared.request(method, path, body); }

  function say(box, text) {
    box.textContent = text || "";
    box.hidden = !text;
  }

  function problemText(error) {
    if (error.status === 0) return "The server cannot be reached. Check your connection.";
    return error.message || "Something went wrong.";
  }

  /** Field errors of a 422 go beside their inputs; the rest above the buttons. */
  function showProblem(error) {
    const unplaced = [];
    for (const item of (error.body && error.body.errors) || []) {
      const name = String(item.field || "").split(".").pop();
      if (fieldErrors[name]) say(fieldErrors[name], item.message);
      else unplaced.push(item.message);
    }
    const placed = Object.values(fieldErrors).some((box) => !box.hidden);
    say(formError, placed && !unplaced.length ? "" : [problemText(error), ...unplaced].join(" "));
  }

  function clearProblems() {
    for (const box of Object.values(fieldErrors)) say(box, "");
    say(formError, "");
  }

  // ---------------------------------------------------------------- the list

  async function load() {
    try {
      state.items = await call("GET", "/canned-responses?include_inactive=true");
      state.loaded = true;
      say(listError, "");
      render();
    } catch (error) {
      say(listError, `The canned responses could not be loaded: ${problemText(error)}`);
    }
  }

  function render() {
    rows.replaceChildren(...state.items.map(row));
    $("#canned-empty").hidden = !state.loaded || state.items.length > 0;
  }

  function row(item) {
    const toggle = el("button", { type: "button", class: "secondary",
      text: item.active ? "Hide from agents" : "Show to agents",
      "aria-label": `${item.active ? "Hide from agents" : "Show to agents"}: ${item.title}` });
    toggle.addEventListener("click", () => setActive(item, !item.active, toggle));
    const edit = el("button", { type: "button", class: "secondary", text: "Edit",
      "aria-label": `Edit ${item.title}` });
    edit.addEventListener("click", () => startEditing(item));
    const remove = el("button", { type: "button", class: "secondary", text: "Delete",
      "aria-label": `Delete ${item.title}` });
    remove.addEventListener("click", () => removeItem(item, remove));
    return el("tr", { "data-canned-id": item.id, class: item.active ? null : "inactive" },
      el("td", { class: "canned-title", text: item.title }),
      el("td", { text: item.language || "every language" }),
      el("td", { class: "canned-text", text: item.body }),
      el("td", { class: "canned-active", text: item.active ? "Yes" : "No (hidden)" }),
      el("td", { class: "actions" }, el("div", { class: "row" }, edit, toggle, remove)));
  }

  function replace(updated) {
    state.items = state.items.map((item) => (item.id === updated.id ? updated : item));
    state.items.sort((a, b) => a.title.localeCompare(b.title));
    render();
  }

  async function setActive(item, active, button) {
    button.disabled = true;
    try {
      replace(await call("PATCH", `/canned-responses/${item.id}`, { active }));
      say(listError, "");
    } catch (error) {
      say(listError, `“${item.title}” could not be changed: ${problemText(error)}`);
      button.disabled = false;
    }
  }

  async function removeItem(item, button) {
    if (!window.confirm(`Delete the canned response “${item.title}”? Messages already sent keep their text.`)) return;
    button.disabled = true;
    try {
      await call("DELETE", `/canned-responses/${item.id}`);
      state.items = state.items.filter((one) => one.id !== item.id);
      if (state.editing && state.editing.id === item.id) stopEditing();
      say(listError, "");
      render();
    } catch (error) {
      say(listError, `“${item.title}” could not be deleted: ${problemText(error)}`);
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------- the form

  function startEditing(item) {
    state.editing = item;
    inputs.title.value = item.title;
    inputs.language.value = item.language || "";
    inputs.body.value = item.body;
    $("#canned-form-title").textContent = `Edit “${item.title}”`;
    submit.textContent = "Save changes";
    cancel.hidden = false;
    clearProblems();
    inputs.title.focus();
  }

  function stopEditing() {
    state.editing = null;
    form.reset();
    $("#canned-form-title").textContent = "New canned response";
    submit.textContent = "Add";
    cancel.hidden = true;
    clearProblems();
  }

  async function save(event) {
    event.preventDefault();
    clearProblems();
    const fields = { title: inputs.title.value.trim(), body: inputs.body.value.trim(),
      language: inputs.language.value.trim() || null };
    if (!fields.title) say(fieldErrors.title, "Give it a title.");
    if (!fields.body) say(fieldErrors.body, "Write the text agents will insert.");
    if (!fields.title || !fields.body) return;
    submit.disabled = true;
    try {
      if (state.editing) {
        replace(await call("PATCH", `/canned-responses/${state.editing.id}`, fields));
      } else {
        state.items = [...state.items, await call("POST", "/canned-responses", fields)];
        state.items.sort((a, b) => a.title.localeCompare(b.title));
        render();
      }
      stopEditing();
    } catch (error) {
      showProblem(error);
    } finally {
      submit.disabled = false;
    }
  }

  form.addEventListener("submit", save);
  cancel.addEventListener("click", stopEditing);
  // The page may have signed in (a kept session) before this script ran.
  document.addEventListener("supervisor:signed-in", load);
  if (shared.user()) load();
})();
