/* Switchboard supervisor page: the catalogues supervisors keep for agents, canned responses
 * (/api/v1/canned-responses) and wrap-up dispositions (/api/v1/dispositions): listed with
 * the hidden ones, added, edited, hidden or offered again, and (canned responses) deleted.
 * Each renders into its <section> of the supervisor page, whose elements are named after
 * the section's id P: #P-rows, #P-empty, #P-error, #P-form (inputs #P-field-NAME with
 * #P-field-NAME-error), #P-form-title, #P-form-error, #P-submit, #P-cancel.
 * Plain JavaScript, no framework, nothing loaded from another origin.
 *
 * The session and the element helper are the page's: window.SwitchboardSupervisor (set by
 * supervisor.js, which runs first). */
"use strict";

(function () {
  const shared = window.SwitchboardSupervisor;
  if (!shared) return;
  const el = shared.el;
  const call = (method, path, body) => shared.request(method, path, body);
  const PAGE_LIMIT = 200;

  /** Every item of a paged list (`{items, next_cursor}`). */
  async function allPages(path) {
    const items = [];
    let cursor = null;
    do {
      const query = `?limit=${PAGE_LIMIT}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await call("GET", path + query);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }

  // fields: name -> what an empty input means: {required: "message"} or {empty: value sent}.
  // fixed: fields set at creation only. cells: [class, text] per column before "active".
  const CATALOGUES = [
    {
      id: "canned",
      noun: "canned response",
      nameOf: (item) => item.title,
      list: () => call("GET", "/canned-responses?include_inactive=true"),
      create: (fields) => call("POST", "/canned-responses", fields),
      update: (item, fields) => call("PATCH", `/canned-responses/${item.id}`, fields),
      setActive: (item, active) => call("PATCH", `/canned-responses/${item.id}`, { active }),
      remove: (item) => call("DELETE", `/canned-responses/${item.id}`),
      removeWarning: "Messages already sent keep their text.",
      fields: {
        title: { required: "Give it a title." },
        language: { empty: null },
        body: { required: "Write the text agents will insert." },
      },
      fixed: [],
      cells: (item) => [["name", item.title], ["", item.language || "every language"],
        ["long-text", item.body]],
      hide: "Hide from agents",
      show: "Show to agents",
    },
    {
      id: "dispositions",
      noun: "disposition",
      nameOf: (item) => item.label,
      list: () => allPages("/dispositions"),
      create: (fields) => call("POST", "/dispositions", fields),
      update: (item, fields) => call("PATCH", `/dispositions/${item.id}`, fields),
      setActive: (item, active) =>
        call("POST", `/dispositions/${item.id}/${active ? "activate" : "deactivate"}`),
      remove: null, // outcomes already recorded name it: deactivated, never deleted
      fields: {
        code: { required: "Give it a code, such as work_search_reviewed." },
        label: { required: "Give it the label agents see at wrap-up." },
        description: { empty: "" },
      },
      fixed: ["code"],
      cells: (item) => [["", item.code], ["name", item.label], ["long-text", item.description]],
      hide: "Stop offering",
      show: "Offer again",
    },
  ];

  function say(box, text) {
    box.textContent = text || "";
    box.hidden = !text;
  }

  function problemText(error) {
    if (error.status === 0) return "The server cannot be reached. Check your connection.";
    return error.message || "Something went wrong.";
  }

  function byName(catalogue) {
    return (a, b) => catalogue.nameOf(a).localeCompare(catalogue.nameOf(b));
  }

  function editor(catalogue) {
    const root = document.getElementById(catalogue.id);
    if (!root) return;
    const $ = (suffix) => root.querySelector(`#${catalogue.id}-${suffix}`);
    const names = Object.keys(catalogue.fields);
    const inputs = Object.fromEntries(names.map((name) => [name, $(`field-${name}`)]));
    const fieldErrors = Object.fromEntries(names.map((name) => [name, $(`field-${name}-error`)]));
    const [rows, listError, form, formError, submit, cancel, formTitle] = ["rows", "error",
      "form", "form-error", "submit", "cancel", "form-title"].map($);
    const newTitle = formTitle.textContent;
    const state = { items: [], editing: null, loaded: false };

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

    async function load() {
      try {
        state.items = (await catalogue.list()).sort(byName(catalogue));
        state.loaded = true;
        say(listError, "");
        render();
      } catch (error) {
        say(listError, `The list could not be loaded: ${problemText(error)}`);
      }
    }

    function render() {
      rows.replaceChildren(...state.items.map(row));
      $("empty").hidden = !state.loaded || state.items.length > 0;
    }

    function button(text, label, action) {
      const node = el("button", { type: "button", class: "secondary", text, "aria-label": label });
      node.addEventListener("click", () => action(node));
      return node;
    }

    function row(item) {
      const name = catalogue.nameOf(item);
      const toggleText = item.active ? catalogue.hide : catalogue.show;
      const actions = [
        button("Edit", `Edit ${name}`, () => startEditing(item)),
        button(toggleText, `${toggleText}: ${name}`, (node) => setActive(item, !item.active, node)),
      ];
      if (catalogue.remove) actions.push(button("Delete", `Delete ${name}`, (node) => removeItem(item, node)));
      return el("tr", { "data-id": item.id, class: item.active ? null : "inactive" },
        ...catalogue.cells(item).map(([kind, text]) => el("td", { class: kind || null, text })),
        el("td", { class: "active", text: item.active ? "Yes" : "No (hidden)" }),
        el("td", { class: "actions" }, el("div", { class: "row" }, ...actions)));
    }

    function replace(updated) {
      state.items = state.items.map((item) => (item.id === updated.id ? updated : item))
        .sort(byName(catalogue));
      render();
    }

    async function setActive(item, active, node) {
      node.disabled = true;
      try {
        replace(await catalogue.setActive(item, active));
        say(listError, "");
      } catch (error) {
        say(listError, `“${catalogue.nameOf(item)}” could not be changed: ${problemText(error)}`);
        node.disabled = false;
      }
    }

    async function removeItem(item, node) {
      const name = catalogue.nameOf(item);
      if (!window.confirm(`Delete the ${catalogue.noun} “${name}”? ${catalogue.removeWarning}`)) return;
      node.disabled = true;
      try {
        await catalogue.remove(item);
        state.items = state.items.filter((one) => one.id !== item.id);
        if (state.editing && state.editing.id === item.id) stopEditing();
        say(listError, "");
        render();
      } catch (error) {
        say(listError, `“${name}” could not be deleted: ${problemText(error)}`);
        node.disabled = false;
      }
    }

    function startEditing(item) {
      state.editing = item;
      for (const name of names) {
        inputs[name].value = item[name] || "";
        inputs[name].readOnly = catalogue.fixed.includes(name);
      }
      formTitle.textContent = `Edit “${catalogue.nameOf(item)}”`;
      submit.textContent = "Save changes";
      cancel.hidden = false;
      clearProblems();
      inputs[names.find((name) => !catalogue.fixed.includes(name))].focus();
    }

    function stopEditing() {
      state.editing = null;
      form.reset();
      for (const name of names) inputs[name].readOnly = false;
      formTitle.textContent = newTitle;
      submit.textContent = "Add";
      cancel.hidden = true;
      clearProblems();
    }

    /** The form's values as the API takes them; null when a required one is missing. */
    function values() {
      const fields = {};
      let missing = false;
      for (const name of names) {
        if (state.editing && catalogue.fixed.includes(name)) continue;
        const value = inputs[name].value.trim();
        const rule = catalogue.fields[name];
        if (!value && rule.required) {
          say(fieldErrors[name], rule.required);
          missing = true;
        }
        fields[name] = value || (rule.required ? value : rule.empty);
      }
      return missing ? null : fields;
    }

    async function save(event) {
      event.preventDefault();
      clearProblems();
      const fields = values();
      if (!fields) return;
      submit.disabled = true;
      try {
        if (state.editing) {
          replace(await catalogue.update(state.editing, fields));
        } else {
          state.items = [...state.items, await catalogue.create(fields)].sort(byName(catalogue));
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
  }

  CATALOGUES.forEach(editor);
})();
