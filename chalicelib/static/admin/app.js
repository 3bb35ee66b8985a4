// Pulse Admin Panel. Vanilla JS, no build step, no third-party code. Every action goes through
// the Admin API (/admin/api/...). The operator's session token is kept in sessionStorage only.
// The page runs under a strict CSP: no inline script or style, so the DOM is built with
// createElement (never innerHTML with data) and styling is done with classes.

const API_BASE = new URL("../api/", import.meta.url); // .../admin/assets/app.js -> .../admin/api/
const SESSION_KEY = "pulse.admin.session";
const AVATARS_KEY = "pulse.admin.avatars."; // + operator id: "on" when that operator opted in
const ROLES = ["viewer", "admin", "owner"];
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  token: null,
  operator: null,
  flash: null, // a notice to show after the next render
  renderSeq: 0,
};

// --- DOM helpers --------------------------------------------------------------------------------

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** h("button", {class: "btn", onclick: fn}, "Label") -> an element. */
function h(tag, props, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "text") {
      el.textContent = value;
    } else if (key === "value" && !svg) {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  return append(el, children);
}

let uidCounter = 0;
const uid = (prefix) => `${prefix}-${++uidCounter}`;
const enc = encodeURIComponent; // query values only: ids in paths go through pathOf below

// --- URLs: one helper for every path that carries an id ------------------------------------------
// URL parsers resolve `.` and `..` segments (also spelled %2e), and encodeURIComponent("..") is
// "..": a room named `..` would climb a level. So every id becomes one segment here: percent-
// encoded, or, if a parser could resolve it (or it starts with the escape's `~`), `~` + the
// base64url of its UTF-8, which the server decodes (docs/architecture.md, "Ids in paths").
const ESCAPE = "~";

function escapeId(value) {
  let binary = "";
  for (const byte of new TextEncoder().encode(value)) binary += String.fromCharCode(byte);
  return ESCAPE + btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unescapeId(segment) {
  const base64 = segment.slice(ESCAPE.length).replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/** One path segment that names `id` and nothing else. */
function segment(id) {
  const value = String(id);
  if (!value) throw new TypeError("an empty id cannot be a path segment");
  const dots = /^(?:\.|%2e){1,2}$/i.test(value);
  return dots || value.startsWith(ESCAPE) ? escapeId(value) : encodeURIComponent(value);
}

/** The id a segment names (the inverse of segment(), for the panel's own #/ routes). */
function idOf(part) {
  if (part.startsWith(ESCAPE)) {
    try {
      return unescapeId(part);
    } catch {
      return part;
    }
  }
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** pathOf`a/${x}/b` -> the literal parts as written, every value exactly one segment. */
function pathOf(strings, ids) {
  return ids.reduce((text, id, i) => text + segment(id) + strings[i + 1], strings[0]);
}

/** An Admin API path (relative to /admin/api/): the only thing api() accepts. */
class ApiPath {
  constructor(text) {
    this.text = text;
  }
}
const apiPath = (strings, ...ids) => new ApiPath(pathOf(strings, ids));
/** A #/ route of the panel itself. */
const hashPath = (strings, ...ids) => `#/${pathOf(strings, ids)}`;
const $ = (selector, root = document) => root.querySelector(selector);

function announce(message) {
  const region = $("#announcer");
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = message;
  }, 30);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const shortDay = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  timeZone: "UTC",
});

function time(iso, fallback = "Never") {
  if (!iso) return h("span", { class: "muted" }, fallback);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h("span", {}, iso);
  return h("time", { datetime: iso, title: iso }, dateTime.format(date));
}

const dayLabel = (yyyyMmDd) => shortDay.format(new Date(`${yyyyMmDd}T00:00:00Z`));

function badge(text, tone = "neutral") {
  return h("span", { class: `badge badge-${tone}` }, text);
}

function statusBadge(status) {
  const tone = status === "active" ? "ok" : status === "revoked" ? "danger" : "warn";
  return badge(status, tone);
}

/** An environment's state as operators see it: disabled (for good), suspended (until resumed)
 * or active. A disabled environment may still carry the suspendedAt of before. */
function envState(env) {
  if (env.status !== "active") return env.status;
  return env.suspendedAt ? "suspended" : "active";
}

function mono(text) {
  return h("code", { class: "mono" }, text);
}

function button(label, onclick, { kind = "secondary", small = false, ...rest } = {}) {
  const cls = `btn btn-${kind}${small ? " btn-small" : ""}`;
  return h("button", { type: "button", class: cls, onclick, ...rest }, label);
}

/** While an async action runs, its button is disabled and marked busy. */
async function busy(btn, action) {
  if (btn) {
    btn.disabled = true;
    btn.setAttribute("aria-busy", "true");
  }
  try {
    return await action();
  } finally {
    if (btn && btn.isConnected) {
      btn.disabled = false;
      btn.removeAttribute("aria-busy");
    }
  }
}

// --- session and API ----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || `HTTP_${status}`;
    this.suggestion = error.suggestion || null;
    this.field = error.field || null;
    this.requestId = error.requestId || null;
    this.handled = false;
  }
}

function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (saved && typeof saved.token === "string") {
      state.token = saved.token;
      state.operator = saved.operator || null;
    }
  } catch {
    sessionStorage.removeItem(SESSION_KEY);
  }
}

function saveSession(token, operator) {
  state.token = token;
  state.operator = operator;
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token, operator }));
}

function clearSession() {
  state.token = null;
  state.operator = null;
  sessionStorage.removeItem(SESSION_KEY);
}

const can = (role) =>
  Boolean(state.operator) && ROLES.indexOf(state.operator.role) >= ROLES.indexOf(role);

// Only the login sends and keeps cookies: its `pulse_device` cookie (HttpOnly, set by the server)
// recognises this browser at its next login, which then no flood of wrong passwords can block.
async function api(method, path, { body, query, withCookies = false } = {}) {
  if (!(path instanceof ApiPath)) throw new TypeError("api() takes an apiPath`...`");
  const url = new URL(path.text, API_BASE);
  if (url.pathname !== API_BASE.pathname + path.text) throw new TypeError(`${path.text} changes its path`);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: payload,
      cache: "no-store",
      credentials: withCookies ? "same-origin" : "omit",
    });
  } catch {
    throw new ApiError(0, {
      code: "NETWORK_ERROR",
      message: "The Pulse API could not be reached.",
      suggestion: "Check your connection and that the server is running, then try again.",
    });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {
      code: `HTTP_${response.status}`,
      message: `The server answered ${response.status} ${response.statusText}.`,
    };
    const retry = response.headers.get("Retry-After");
    if (retry && !error.suggestion) error.suggestion = `Try again in ${retry} s.`;
    const err = new ApiError(response.status, error);
    if (response.status === 401 && state.token && path.text !== "login") sessionEnded(err);
    throw err;
  }
  return data;
}

function sessionEnded(err) {
  err.handled = true;
  clearSession();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.remove();
  showBanner({
    tone: "error",
    title: "Your session has ended.",
    message: err.message,
    suggestion: "Log in again to continue.",
    code: err.code,
  });
  render({ keepBanners: true });
}

// --- banners: API errors (message + suggestion) and notices -------------------------------------

function bannerNode({ tone, title, message, suggestion, code, requestId }, dismissible = true) {
  const node = h(
    "div",
    { class: `banner banner-${tone}`, role: tone === "error" ? "alert" : "status" },
    h(
      "div",
      { class: "banner-text" },
      h("p", { class: "banner-title" }, title),
      message && message !== title ? h("p", {}, message) : null,
      suggestion ? h("p", { class: "banner-suggestion" }, suggestion) : null,
      code || requestId
        ? h(
            "p",
            { class: "banner-meta" },
            code ? ["Code ", mono(code)] : null,
            requestId ? [" · request id ", mono(requestId)] : null,
          )
        : null,
    ),
  );
  if (dismissible) {
    node.append(
      h(
        "button",
        {
          type: "button",
          class: "icon-btn",
          "aria-label": "Dismiss",
          onclick: () => node.remove(),
        },
        "×",
      ),
    );
  }
  return node;
}

function showBanner(spec, container = $("#banners")) {
  container.replaceChildren(bannerNode(spec));
}

function clearBanners(container = $("#banners")) {
  container.replaceChildren();
}

function errorSpec(err) {
  if (err instanceof ApiError) {
    return {
      tone: "error",
      title: err.message,
      suggestion: err.suggestion || defaultSuggestion(err),
      code: err.code,
      requestId: err.requestId,
    };
  }
  console.error(err); // eslint-disable-line no-console
  return {
    tone: "error",
    title: "Something went wrong in the Admin Panel.",
    message: String(err && err.message ? err.message : err),
    suggestion: "Reload the page and try again.",
  };
}

function defaultSuggestion(err) {
  if (err.status === 403) return "Ask an owner for a role that allows this.";
  if (err.status === 404) return "It may have been deleted; go back to the list and reload.";
  if (err.status === 409) return "Reload to see the current state, then try again.";
  if (err.status >= 500) return "Try again in a moment.";
  return null;
}

/** Show an error in `container` (a dialog's own error area) or the page banner. */
function reportError(err, container) {
  if (err && err.handled) return;
  showBanner(errorSpec(err), container || $("#banners"));
}

function flash(message) {
  state.flash = message;
}

function notify(message) {
  showBanner({ tone: "ok", title: message });
  announce(message);
}

// --- dialogs (native <dialog>: modal, Escape closes; Tab is kept inside) ------------------------

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function openDialog({ title, body, wide = false, onClose, initialFocus, label = "dialog" }) {
  const opener = document.activeElement;
  const titleId = uid("dialog-title");
  const dialog = h("dialog", {
    class: `dialog${wide ? " dialog-wide" : ""}`,
    "aria-labelledby": titleId,
    "data-dialog": label,
  });
  const head = h(
    "div",
    { class: "dialog-head" },
    h("h2", { id: titleId }, title),
    h(
      "button",
      {
        type: "button",
        class: "icon-btn",
        "aria-label": "Close",
        onclick: () => dialog.close("cancel"),
      },
      "×",
    ),
  );
  const errors = h("div", { class: "dialog-errors" });
  dialog.append(head, errors, ...[body].flat());
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
    if (onClose) onClose(dialog.returnValue);
  });
  document.body.append(dialog);
  dialog.showModal();
  const target = typeof initialFocus === "function" ? initialFocus(dialog) : initialFocus;
  if (target) target.focus();
  dialog.errors = errors;
  return dialog;
}

/** A confirmation that says what stops working. Resolves true when confirmed. */
function confirmDialog({ title, intro, consequences = [], note = null, confirmLabel, confirmKind = "danger", typeToConfirm = null }) {
  return new Promise((resolve) => {
    let confirmed = false;
    const confirmBtn = h(
      "button",
      { type: "submit", class: `btn btn-${confirmKind}`, disabled: Boolean(typeToConfirm) },
      confirmLabel,
    );
    const cancelBtn = h("button", { type: "button", class: "btn btn-secondary" }, "Cancel");
    let typed = null;
    if (typeToConfirm) {
      const id = uid("confirm");
      typed = h(
        "div",
        { class: "field" },
        h("label", { for: id }, `Type “${typeToConfirm}” to confirm`),
        h("input", {
          id,
          type: "text",
          autocomplete: "off",
          spellcheck: "false",
          oninput: (event) => {
            confirmBtn.disabled = event.target.value.trim() !== typeToConfirm;
          },
        }),
      );
    }
    const form = h(
      "form",
      {
        method: "dialog",
        class: "dialog-body",
        onsubmit: () => {
          confirmed = true;
        },
      },
      intro ? h("p", {}, intro) : null,
      consequences.length
        ? h(
            "div",
            { class: "consequences" },
            h("p", { class: "consequences-title" }, "What stops working:"),
            h(
              "ul",
              {},
              consequences.map((line) => h("li", {}, line)),
            ),
          )
        : null,
      note ? h("p", {}, note) : null,
      typed,
      h("div", { class: "dialog-actions" }, cancelBtn, confirmBtn),
    );
    const dialog = openDialog({
      title,
      body: form,
      label: "confirm",
      onClose: () => resolve(confirmed),
      initialFocus: () => (typed ? typed.querySelector("input") : cancelBtn),
    });
    cancelBtn.addEventListener("click", () => dialog.close("cancel"));
  });
}

/** A dialog holding a form; `onSubmit(values, dialog)` runs the API call (errors stay inside). */
function formDialog({ title, fields, submitLabel, onSubmit, intro }) {
  const inputs = {};
  const form = h("form", { class: "dialog-body", novalidate: false });
  if (intro) form.append(h("p", {}, intro));
  for (const field of fields) {
    const id = uid("field");
    let control;
    if (field.type === "checkboxes") {
      // A group of checkboxes: its value is the list of the checked ones.
      control = h(
        "fieldset",
        { id, class: "checks", "data-name": field.name },
        h("legend", {}, field.label),
        field.options.map(([value, text]) =>
          h("label", { class: "check-row" }, h("input", { type: "checkbox", value, name: field.name }), mono(value), h("span", { class: "muted small" }, text)),
        ),
      );
    } else if (field.type === "select") {
      control = h(
        "select",
        { id, name: field.name },
        field.options.map(([value, text]) => h("option", { value }, text)),
      );
      if (field.value) control.value = field.value;
    } else {
      control = h("input", {
        id,
        name: field.name,
        type: field.type || "text",
        required: field.required,
        maxlength: field.maxlength,
        minlength: field.minlength,
        autocomplete: field.autocomplete || "off",
        placeholder: field.placeholder,
        value: field.value,
      });
    }
    inputs[field.name] = control;
    const hintId = field.hint ? uid("hint") : null;
    if (hintId) control.setAttribute("aria-describedby", hintId);
    const wrapper = h(
      "div",
      { class: "field", "data-field": field.name },
      field.type === "checkboxes"
        ? null
        : h(
            "label",
            { for: id },
            field.label,
            field.required || field.type === "select" ? null : h("span", { class: "optional" }, " (optional)"),
          ),
      control,
      field.hint ? h("p", { class: "hint", id: hintId }, field.hint) : null,
    );
    form.append(wrapper);
    if (field.showWhen) {
      // Shown only while another field (a select above) has one value.
      const [other, wanted] = field.showWhen;
      const sync = () => {
        wrapper.hidden = inputs[other].value !== wanted;
      };
      inputs[other].addEventListener("change", sync);
      sync();
    }
  }
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, submitLabel);
  const cancel = h("button", { type: "button", class: "btn btn-secondary" }, "Cancel");
  form.append(h("div", { class: "dialog-actions" }, cancel, submit));
  const dialog = openDialog({ title, body: form, label: "form", initialFocus: inputs[fields[0].name] });
  cancel.addEventListener("click", () => dialog.close("cancel"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const values = {};
    for (const [name, control] of Object.entries(inputs)) {
      control.removeAttribute("aria-invalid");
      values[name] =
        control.tagName === "FIELDSET" ? [...control.querySelectorAll("input:checked")].map((input) => input.value) : control.value;
    }
    clearBanners(dialog.errors);
    try {
      await busy(submit, () => onSubmit(values, dialog));
    } catch (err) {
      if (err instanceof ApiError && err.field && inputs[err.field]) {
        inputs[err.field].setAttribute("aria-invalid", "true");
        (inputs[err.field].querySelector("input") || inputs[err.field]).focus();
      }
      reportError(err, dialog.errors);
    }
  });
  return dialog;
}

async function copyText(text, input) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through to the selection-based fallback
    }
  }
  if (input) {
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
  return false;
}

function copyButton(label, getText, input, status) {
  const btn = button(
    "Copy",
    async () => {
      const text = getText();
      const ok = await copyText(text, input);
      btn.dataset.copied = ok ? "true" : "false";
      const message = ok
        ? `${label} copied to the clipboard.`
        : `Could not copy automatically: the ${label.toLowerCase()} is selected, press Ctrl+C (⌘C on a Mac).`;
      btn.textContent = ok ? "Copied" : "Copy";
      if (status) status.textContent = message;
      if (!ok && input) input.select();
      announce(message);
      if (ok) window.setTimeout(() => btn.isConnected && (btn.textContent = "Copy"), 2500);
    },
    { small: true, "aria-label": `Copy ${label.toLowerCase()}` },
  );
  return btn;
}

const KIND_LABEL = { secret: "Secret key", publishable: "Publishable key", restricted: "Restricted key" };
const KIND_HINT = {
  secret: "Backend only: mints user tokens and calls the REST API. Never put it in frontend code.",
  publishable: "Safe in frontend code: the widget connects with it.",
  restricted: "Backend only: a secret key limited to its scopes (and rooms). Never put it in frontend code.",
};
const KIND_PREFIX = { secret: "sk_", publishable: "pk_", restricted: "rk_" };
const KIND_TONE = { secret: "danger", publishable: "info", restricted: "warn" };
// What a restricted key may be given (docs/keys.md); each customer API operation needs one.
const KEY_SCOPES = [
  ["tokens:mint", "mint user tokens (POST /auth/token)"],
  ["rooms:read", "read rooms and who is in them"],
  ["rooms:write", "create, change and delete rooms"],
  ["comments:read", "read threads and comments"],
  ["comments:write", "write threads, comments, reactions, attachments"],
  ["users:read", "read users"],
  ["users:write", "revoke a user's tokens"],
  ["broadcast", "broadcast to a room"],
  ["events:read", "read a room's events"],
];

/** Full keys, shown once, each with a copy button. */
function keysOnceDialog({ title, keys, intro, onClose }) {
  const status = h("p", { class: "copy-status", role: "status" });
  const hasSecret = keys.some((k) => k.kind !== "publishable");
  const rows = keys
    .slice()
    .sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "publishable" ? -1 : 1))
    .map((key) => {
      const id = uid("key");
      const hintId = uid("hint");
      const input = h("textarea", {
        id,
        rows: 1,
        readonly: true,
        class: "mono key-value",
        value: key.key,
        spellcheck: "false",
        autocomplete: "off",
        "aria-describedby": hintId,
        "data-kind": key.kind,
        onfocus: (event) => event.target.select(),
      });
      const label = key.name && key.name !== KIND_LABEL[key.kind] ? `${KIND_LABEL[key.kind]} “${key.name}”` : KIND_LABEL[key.kind];
      return h(
        "div",
        { class: `keybox keybox-${key.kind}` },
        h("label", { for: id }, label, " ", badge(KIND_PREFIX[key.kind], KIND_TONE[key.kind])),
        h("div", { class: "keybox-row" }, input, copyButton(KIND_LABEL[key.kind], () => key.key, input, status)),
        h("p", { class: "hint", id: hintId }, KIND_HINT[key.kind]),
      );
    });
  const done = h("button", { type: "submit", class: "btn btn-primary" }, hasSecret ? "I have saved the secret key" : "Done");
  const body = h(
    "form",
    { method: "dialog", class: "dialog-body" },
    intro ? h("p", {}, intro) : null,
    hasSecret
      ? h(
          "div",
          { class: "callout callout-warn", role: "note" },
          h("p", { class: "callout-title" }, "The secret key is shown only this once."),
          h(
            "p",
            {},
            "Pulse stores only a hash of it and cannot show it again. Copy it now into your secret manager; if it is lost, create a new key or roll it.",
          ),
        )
      : h("p", { class: "muted" }, "A publishable key is public: it stays visible, with a copy button, on the environment's keys tab."),
    rows,
    status,
    h("div", { class: "dialog-actions" }, done),
  );
  return openDialog({ title, body, wide: true, label: "keys", onClose, initialFocus: (d) => d.querySelector(".keybox-row button") });
}

// --- generic list pieces -------------------------------------------------------------------------

/** A table that becomes stacked cards on narrow screens (each cell labelled by its column). */
function dataTable({ caption, columns: maybeColumns, rows, empty = "Nothing here yet.", rowKey }) {
  const columns = maybeColumns.filter(Boolean);
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "table" },
    h("caption", { class: "sr-only" }, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((c) => h("th", { scope: "col", class: c.className }, c.label)),
      ),
    ),
    tbody,
  );
  const emptyNode = h("p", { class: "empty" }, empty);
  const wrap = h("div", { class: "table-wrap" }, table, emptyNode);
  const addRows = (items) => {
    for (const item of items) {
      const tr = h(
        "tr",
        rowKey ? { "data-id": rowKey(item) } : {},
        columns.map((c) =>
          h(
            c.header ? "th" : "td",
            { "data-label": c.label, class: c.className, scope: c.header ? "row" : null },
            h("div", { class: "cell" }, c.render(item)),
          ),
        ),
      );
      tbody.append(tr);
    }
    const none = tbody.children.length === 0;
    table.hidden = none;
    emptyNode.hidden = !none;
  };
  addRows(rows);
  return { node: wrap, addRows, tbody };
}

/** A paged list: loads the first page, then "Load more" follows nextCursor. */
async function pagedTable({ load, ...tableSpec }) {
  const first = await load(null);
  const table = dataTable({ ...tableSpec, rows: first.data });
  let cursor = first.nextCursor;
  const count = h("p", { class: "muted list-count", "aria-live": "polite" });
  const more = button("Load more", async () => {
    await busy(more, async () => {
      try {
        const page = await load(cursor);
        table.addRows(page.data);
        cursor = page.nextCursor;
        update();
        const rows = table.tbody.querySelectorAll("tr");
        const firstNew = rows[rows.length - page.data.length];
        if (firstNew) {
          firstNew.setAttribute("tabindex", "-1");
          if (!cursor) firstNew.focus();
        }
      } catch (err) {
        reportError(err);
      }
    });
  });
  const update = () => {
    const n = table.tbody.children.length;
    more.hidden = !cursor;
    count.textContent = n ? `Showing ${n}${cursor ? "; more are available" : ""}.` : "";
  };
  update();
  return h("div", { class: "paged" }, table.node, h("div", { class: "pager" }, count, more));
}

function searchForm({ label, value, onSearch, placeholder }) {
  const id = uid("search");
  const input = h("input", { id, type: "search", name: "q", value: value || "", placeholder, maxlength: 200, autocomplete: "off" });
  let timer = null;
  const form = h(
    "form",
    {
      role: "search",
      class: "search",
      onsubmit: (event) => {
        event.preventDefault();
        window.clearTimeout(timer);
        onSearch(input.value.trim());
      },
    },
    h("label", { for: id }, label),
    h("div", { class: "search-row" }, input, h("button", { type: "submit", class: "btn btn-secondary" }, "Search")),
  );
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => onSearch(input.value.trim()), 350);
  });
  return { form, input };
}

/** The results of a search box: each new query replaces them; an older, slower answer never
 * overwrites a newer one. `data-query` names the query the shown results are for. */
function liveResults(initial, query, loadList) {
  const results = h("div", { class: "results", "data-query": query }, initial);
  let latest = 0;
  results.search = (value) => {
    const mine = ++latest;
    results.setAttribute("aria-busy", "true");
    loadList(value)
      .then((node) => {
        if (mine !== latest) return;
        results.replaceChildren(node);
        results.dataset.query = value;
      })
      .catch((err) => {
        if (mine === latest) reportError(err);
      })
      .finally(() => {
        if (mine === latest) results.removeAttribute("aria-busy");
      });
  };
  return results;
}

function pageHeader(title, { crumbs = [], actions = [], meta = null } = {}) {
  return h(
    "div",
    { class: "page-head" },
    crumbs.length
      ? h(
          "nav",
          { "aria-label": "Breadcrumb", class: "crumbs" },
          h(
            "ol",
            {},
            crumbs.map(([text, href]) => h("li", {}, href ? h("a", { href }, text) : h("span", { "aria-current": "page" }, text))),
          ),
        )
      : null,
    h(
      "div",
      { class: "page-title-row" },
      h("h1", { tabindex: "-1", class: "page-title" }, title),
      actions.length ? h("div", { class: "actions" }, actions) : null,
    ),
    meta,
  );
}

function section(title, ...children) {
  const id = uid("section");
  return h("section", { class: "section", "aria-labelledby": id }, h("h2", { id }, title), children);
}

// --- login --------------------------------------------------------------------------------------

function loginView() {
  const emailId = uid("email");
  const passwordId = uid("password");
  const email = h("input", { id: emailId, name: "email", type: "email", required: true, autocomplete: "username", maxlength: 254 });
  const password = h("input", { id: passwordId, name: "password", type: "password", required: true, autocomplete: "current-password", maxlength: 1024 });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Log in");
  const errors = h("div", { class: "form-errors" });
  const form = h(
    "form",
    {
      class: "login-form",
      "aria-labelledby": "login-title",
      onsubmit: async (event) => {
        event.preventDefault();
        if (!form.reportValidity()) return;
        clearBanners(errors);
        clearBanners();
        await busy(submit, async () => {
          try {
            const session = await api("POST", apiPath`login`, {
              body: { email: email.value.trim(), password: password.value },
              withCookies: true,
            });
            saveSession(session.token, session.operator);
            password.value = "";
            const next = location.hash && !location.hash.startsWith("#/login") ? location.hash : "#/environments";
            flash(`Logged in as ${session.operator.email} (${session.operator.role}).`);
            if (location.hash === next) render();
            else location.hash = next;
          } catch (err) {
            reportError(err, errors);
            password.select();
            password.focus();
          }
        });
      },
    },
    h("div", { class: "field" }, h("label", { for: emailId }, "Email"), email),
    h("div", { class: "field" }, h("label", { for: passwordId }, "Password"), password),
    submit,
  );
  const view = h(
    "div",
    { class: "login" },
    h(
      "section",
      { class: "card login-card", "aria-labelledby": "login-title" },
      h("h1", { id: "login-title", tabindex: "-1" }, "Log in to Pulse Admin"),
      h("p", { class: "muted" }, "Operators only. Your session ends when you close this tab or log out."),
      errors,
      form,
    ),
  );
  view.focusTarget = email;
  return view;
}

async function logout() {
  try {
    if (state.token) await api("POST", apiPath`logout`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) reportError(err);
  }
  clearSession();
  flash("You are logged out.");
  if (location.hash !== "#/login") location.hash = "#/login";
  else render();
}

// --- environments -------------------------------------------------------------------------------

async function environmentsView(params) {
  const q = params.get("q") || "";
  const actions = [];
  if (can("admin")) actions.push(button("Create environment", createEnvironment, { kind: "primary" }));
  const { form } = searchForm({
    label: "Search environments",
    value: q,
    placeholder: "Name or id",
    onSearch: (value) => {
      const next = value ? `#/environments?q=${enc(value)}` : "#/environments";
      if (location.hash !== next) history.replaceState(null, "", next);
      results.search(value);
    },
  });
  const loadList = (query) =>
    pagedTable({
      caption: "Environments",
      empty: query ? `No environment matches “${query}”.` : "No environments yet.",
      rowKey: (e) => e.id,
      load: (cursor) => api("GET", apiPath`environments`, { query: { q: query, cursor, limit: 20 } }),
      columns: [
        { label: "Name", header: true, render: (e) => h("a", { href: hashPath`environments/${e.id}` }, e.name) },
        { label: "Status", render: (e) => [statusBadge(envState(e)), endingSoonBadge(e)] },
        { label: "ID", render: (e) => mono(e.id) },
        { label: "Created", render: (e) => time(e.createdAt) },
        { label: "Created by", render: (e) => e.createdBy },
      ],
    });
  const results = liveResults(await loadList(q), q, loadList);
  return h(
    "div",
    {},
    pageHeader("Environments", {
      actions,
      meta: h("p", { class: "muted" }, "Each environment has its own keys, rooms, users and comments; nothing crosses between them."),
    }),
    h("div", { class: "toolbar" }, form),
    results,
  );
}

function createEnvironment() {
  formDialog({
    title: "Create environment",
    submitLabel: "Create environment",
    intro: "A publishable key and a secret key are created with it.",
    fields: [{ name: "name", label: "Name", required: true, maxlength: 100, placeholder: "Production" }],
    onSubmit: async (values, dialog) => {
      const created = await api("POST", apiPath`environments`, { body: { name: values.name.trim() } });
      dialog.close("done");
      const env = created.environment;
      keysOnceDialog({
        title: `Environment “${env.name}” created`,
        keys: created.keys,
        intro: "Its keys are ready. Your backend mints user tokens with the secret key; your frontend's widget connects with the publishable key.",
        onClose: () => {
          location.hash = hashPath`environments/${env.id}`;
        },
      });
    },
  });
}

const ENV_TABS = [
  ["keys", "API keys"],
  ["browse", "Browse data"],
  ["users", "Users"],
  ["analytics", "Analytics"],
  ["audit", "Audit log"],
  ["webhooks", "Webhooks"],
  ["settings", "Settings"],
];

async function environmentView(envId, tab, rest, params) {
  const env = await api("GET", apiPath`environments/${envId}`);
  const base = hashPath`environments/${env.id}`;
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": "Environment sections" },
    h(
      "ul",
      {},
      ENV_TABS.map(([key, label]) =>
        h("li", {}, h("a", { href: `${base}/${key}`, "aria-current": key === tab ? "page" : null }, label)),
      ),
    ),
  );
  const idValue = h("code", { class: "mono" }, env.id);
  const meta = h(
    "dl",
    { class: "meta" },
    h("div", {}, h("dt", {}, "ID"), h("dd", {}, idValue)),
    h("div", {}, h("dt", {}, "Status"), h("dd", {}, statusBadge(envState(env)))),
    h("div", {}, h("dt", {}, "Created"), h("dd", {}, time(env.createdAt), " by ", env.createdBy)),
    envState(env) === "suspended" ? h("div", {}, h("dt", {}, "Suspended"), h("dd", {}, time(env.suspendedAt))) : null,
    env.disabledAt ? h("div", {}, h("dt", {}, "Disabled"), h("dd", {}, time(env.disabledAt))) : null,
  );
  const views = {
    keys: keysTab,
    browse: browseTab,
    users: usersTab,
    analytics: analyticsTab,
    audit: auditTab,
    webhooks: webhooksTab,
    settings: settingsTab,
  };
  const content = await (views[tab] || keysTab)(env, rest, params);
  return h(
    "div",
    {},
    pageHeader(env.name, {
      crumbs: [
        ["Environments", "#/environments"],
        [env.name, null],
      ],
      meta,
    }),
    env.status !== "active"
      ? h(
          "div",
          { class: "callout callout-warn" },
          h("p", { class: "callout-title" }, "This environment is disabled."),
          h("p", {}, "Its keys are revoked and nothing can change it; its data can still be browsed."),
        )
      : envState(env) === "suspended"
        ? h(
            "div",
            { class: "callout callout-warn" },
            h("p", { class: "callout-title" }, "This environment is suspended."),
            h(
              "p",
              {},
              "Every API request, token mint and connection of it is refused with 403 ENVIRONMENT_SUSPENDED until it is resumed (Settings). Its keys and data are kept.",
            ),
          )
        : null,
    leakBanner(env),
    accessWarningNode(env),
    tabs,
    h("div", { class: "tab-panel" }, content),
  );
}

/** A key reported leaked (POST /admin/api/keys/report-leak): shown until an admin dismisses it. */
function leakBanner(env) {
  if (!env.leakReportedAt) return null;
  const dismiss = async (event) => {
    try {
      await busy(event.currentTarget, () => api("POST", apiPath`environments/${env.id}/leak/dismiss`));
      flash("Leak report dismissed.");
      render();
    } catch (err) {
      reportError(err);
    }
  };
  return h(
    "div",
    { class: "callout callout-danger", role: "note", "aria-label": "Leaked key" },
    h("p", { class: "callout-title" }, "A key of this environment was reported leaked."),
    h(
      "p",
      {},
      mono(env.leakedKey || "a key"),
      " was reported leaked ",
      time(env.leakReportedAt),
      " and revoked: requests with it, tokens it minted and their connections stopped at once. Give its backend a new key, then check the audit log for what it did before.",
    ),
    can("admin") ? button("Dismiss", dismiss, { kind: "secondary", small: true }) : null,
  );
}

// --- API keys -----------------------------------------------------------------------------------

function keyConsequences(key) {
  return key.kind !== "publishable"
    ? [
        `Backends calling with ${key.preview} get 401 INVALID_API_KEY on their very next request (POST /auth/token and the /api/v1 REST API).`,
        "User tokens minted with it stop working; widgets connected with those tokens are disconnected.",
      ]
    : [
        `Widgets connecting with ${key.preview} are refused, and the ones connected with it are disconnected.`,
      ];
}

const WEEK_MS = 7 * 86400 * 1000;

/** The environment's active keys that end within 7 days (or have ended), from its keyEnds. */
function keysEndingSoon(env) {
  const limit = Date.now() + WEEK_MS;
  return (env.keyEnds || []).filter((e) => Date.parse(e.expiresAt) <= limit);
}

function endingSoonBadge(env) {
  const soon = keysEndingSoon(env);
  if (!soon.length) return null;
  const text = `${soon.length} key${soon.length === 1 ? "" : "s"} ending within 7 days`;
  return [" ", h("span", { class: "badge badge-warn key-ending", title: soon.map((e) => `${e.keyId}: ${e.expiresAt}`).join("\n") }, text)];
}

/** The key column: a publishable key that still works in full with a copy button (it is
 * public); a secret key's masked preview (its full key was shown once), and a dead key's. */
function keyCell(k) {
  const works = k.status === "active" || k.status === "expiring";
  if (k.kind !== "publishable" || !k.key || !works) return mono(k.preview);
  const status = h("span", { class: "sr-only", role: "status" });
  const input = h("input", {
    type: "text",
    readonly: true,
    class: "mono key-public",
    value: k.key,
    spellcheck: "false",
    "aria-label": `${k.name}: publishable key`,
    onfocus: (event) => event.target.select(),
  });
  return h("div", { class: "key-public-row" }, input, copyButton("Publishable key", () => k.key, input, status), status);
}

function keyStatusCell(k) {
  const out = [statusBadge(k.status)];
  if (k.status === "expiring") out.push(h("span", { class: "muted small" }, " until ", time(k.expiresAt)));
  else if (k.status === "expired") out.push(h("span", { class: "muted small" }, " since ", time(k.expiresAt)));
  else if (k.revokedAt) out.push(h("span", { class: "muted small" }, " ", time(k.revokedAt)));
  if (k.allowedIps) out.push(h("div", { class: "muted small" }, `from ${k.allowedIps.join(", ")}`));
  return out;
}

/** A key's last 30 days as a sparkline (requests + mints + refusals a day), with its totals in
 * words for screen readers and as a tooltip. */
function usageSparkline(k, usage) {
  const counts = usage.get(k.id);
  const days = counts ? counts.requests.map((n, i) => n + counts.mints[i] + counts.refusals[i]) : [];
  const total = (list) => (list || []).reduce((a, b) => a + b, 0);
  const words = counts
    ? `${total(counts.requests)} requests, ${total(counts.mints)} mints, ${total(counts.refusals)} refusals in 30 days`
    : "No use in 30 days";
  if (!counts) return h("span", { class: "muted small usage-none", title: words }, "—");
  const width = 90;
  const height = 22;
  const top = Math.max(1, ...days);
  const step = days.length > 1 ? width / (days.length - 1) : width;
  const points = days.map((n, i) => `${(i * step).toFixed(1)},${(height - 2 - (n / top) * (height - 4)).toFixed(1)}`).join(" ");
  return h(
    "svg:svg",
    { class: "sparkline", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": words },
    h("svg:title", {}, words),
    h("svg:polyline", { points, class: "sparkline-line" }),
  );
}

async function keysTab(env, _rest, params) {
  const q = params.get("q") || "";
  const usage = new Map();
  try {
    const got = await api("GET", apiPath`environments/${env.id}/keys/usage`);
    for (const k of got.keys) usage.set(k.keyId, k);
  } catch (err) {
    reportError(err);
  }
  const editable = can("admin") && env.status === "active";
  const base = hashPath`environments/${env.id}/keys`;
  let activeCount = 0;
  const loadList = async (query) => {
    const list = await pagedTable({
      caption: "API keys",
      empty: query ? `No key matches “${query}”.` : "No keys.",
      rowKey: (k) => k.id,
      load: async (cursor) => {
        const page = await api("GET", apiPath`environments/${env.id}/keys`, { query: { q: query, cursor, limit: 50 } });
        activeCount += page.data.filter((k) => k.status === "active").length;
        return page;
      },
      columns: [
        { label: "Name", header: true, render: (k) => k.name },
        { label: "Kind", render: (k) => [badge(k.kind, KIND_TONE[k.kind]), keyScopes(k)] },
        { label: "Key", render: keyCell },
        { label: "Created", render: (k) => time(k.createdAt) },
        { label: "Last used", render: (k) => time(k.lastUsedAt) },
        { label: "Last 30 days", render: (k) => usageSparkline(k, usage) },
        { label: "Created by", render: (k) => k.createdBy },
        { label: "Status", render: keyStatusCell },
        editable && {
          label: "Actions",
          className: "col-actions",
          render: (k) =>
            k.status === "active" || k.status === "expiring"
              ? h(
                  "div",
                  { class: "row-actions" },
                  button("Roll", () => rollKey(env, k), {
                    small: true,
                    "aria-label": `Roll ${k.name} (${k.preview})`,
                  }),
                  button("Revoke", (event) => revokeKey(env, k, event.currentTarget), {
                    kind: "danger-outline",
                    small: true,
                    "aria-label": `Revoke ${k.name} (${k.preview})`,
                  }),
                )
              : h("span", { class: "muted" }, "—"),
        },
      ],
    });
    return list;
  };
  const { form } = searchForm({
    label: "Search keys",
    value: q,
    placeholder: "Name, id or preview",
    onSearch: (value) => {
      history.replaceState(null, "", value ? `${base}?q=${enc(value)}` : base);
      activeCount = 0;
      results.search(value);
    },
  });
  const results = liveResults(await loadList(q), q, loadList);
  const actions = editable
    ? [
        button("Create key", () => createKey(env), { kind: "primary" }),
        button("Rotate keys", () => rotateKeys(env, activeCount), { kind: "danger-outline" }),
      ]
    : [];
  return section(
    "API keys",
    h("p", { class: "muted" }, "A secret key is shown once, when it is created; only a masked preview of it is kept. A publishable key is public: it is shown in full."),
    keysEndingSoon(env).length
      ? h(
          "div",
          { class: "callout callout-warn key-ending-callout", role: "note" },
          h("p", { class: "callout-title" }, "Keys ending within 7 days"),
          h(
            "ul",
            {},
            keysEndingSoon(env).map((e) => h("li", {}, mono(e.keyId), " ends ", time(e.expiresAt))),
          ),
        )
      : null,
    !can("admin") ? h("p", { class: "callout callout-info" }, "You have read-only access (viewer): keys are managed by admins and owners.") : null,
    h("div", { class: "toolbar" }, form, actions.length ? h("div", { class: "actions" }, actions) : null),
    results,
  );
}

/** What a restricted key may do, under its kind: its scopes and rooms (a secret key: all). */
function keyScopes(key) {
  if (key.kind !== "restricted") return null;
  return h(
    "span",
    { class: "key-scopes small" },
    h("span", { class: "muted" }, "scopes "),
    (key.scopes || []).join(", "),
    h("span", { class: "muted" }, key.rooms ? " · rooms " : " · every room"),
    key.rooms ? mono(key.rooms) : null,
  );
}

function createKey(env) {
  formDialog({
    title: "Create API key",
    submitLabel: "Create key",
    fields: [
      {
        name: "kind",
        label: "Kind",
        type: "select",
        options: [
          ["secret", "Secret key (sk_): backend"],
          ["publishable", "Publishable key (pk_): frontend"],
          ["restricted", "Restricted key (rk_): backend, limited"],
        ],
      },
      { name: "name", label: "Name", maxlength: 100, placeholder: "CI backend", hint: "Helps you tell keys apart, e.g. where it is used." },
      { name: "scopes", label: "Scopes", type: "checkboxes", options: KEY_SCOPES, showWhen: ["kind", "restricted"] },
      {
        name: "rooms",
        label: "Rooms",
        maxlength: 129,
        placeholder: "acme:*",
        hint: "One room id, or a prefix of room ids ending with * (acme:*). Empty: every room. Tokens it mints reach only these rooms.",
        showWhen: ["kind", "restricted"],
      },
      { name: "expiresAt", label: "Ends at", type: "datetime-local", hint: "Secret and restricted keys only: refused like a revoked key from then on (within a year)." },
      {
        name: "allowedIps",
        label: "Allowed addresses",
        placeholder: "203.0.113.0/24, 2001:db8::/32",
        hint: "Secret and restricted keys only: up to 20 IPv4/IPv6 networks; requests from elsewhere get 403 IP_NOT_ALLOWED.",
      },
    ],
    onSubmit: async (values, dialog) => {
      const body = { kind: values.kind };
      if (values.name.trim()) body.name = values.name.trim();
      if (values.kind === "restricted") {
        body.scopes = values.scopes;
        if (values.rooms.trim()) body.rooms = values.rooms.trim();
      }
      if (values.expiresAt) body.expiresAt = new Date(values.expiresAt).toISOString();
      const networks = values.allowedIps.split(/[\s,]+/).filter(Boolean);
      if (networks.length) body.allowedIps = networks;
      const key = await api("POST", apiPath`environments/${env.id}/keys`, { body });
      dialog.close("done");
      keysOnceDialog({ title: `Key “${key.name}” created`, keys: [key], onClose: () => render() });
    },
  });
}

async function rotateKeys(env, activeCount) {
  const ok = await confirmDialog({
    title: `Rotate the keys of “${env.name}”?`,
    intro: `A new publishable key and a new secret key are created, and every active key${activeCount ? ` (${activeCount})` : ""} is revoked at the same moment.`,
    consequences: [
      "Your backend's current secret key: POST /auth/token and REST API calls get 401 on the very next request.",
      "User tokens minted with the old secret key, and widgets connected with them or with the old publishable key (they are disconnected).",
    ],
    note: "The new keys are shown once, right after: deploy them to your backend and frontend.",
    confirmLabel: "Rotate keys",
  });
  if (!ok) return;
  try {
    const result = await api("POST", apiPath`environments/${env.id}/keys/rotate`);
    keysOnceDialog({
      title: "Keys rotated",
      keys: result.keys,
      intro: `${result.revoked.length} key${result.revoked.length === 1 ? " was" : "s were"} revoked. These are the new keys.`,
      onClose: () => render(),
    });
  } catch (err) {
    reportError(err);
  }
}

const ROLL_GRACES = [
  ["now", "Now: the old key stops at once (as a revoke)"],
  ["1h", "In 1 hour"],
  ["24h", "In 24 hours"],
  ["3d", "In 3 days"],
  ["7d", "In 7 days"],
];

function rollKey(env, key) {
  formDialog({
    title: `Roll “${key.name}”?`,
    submitLabel: "Roll key",
    intro: `A new ${KIND_LABEL[key.kind].toLowerCase()} replaces ${key.preview}. The old one keeps working until the end you choose, then stops like a revoked key${
      key.kind === "secret"
        ? " (the user tokens it minted stay valid until they expire)."
        : " (widgets connected with it are disconnected then)."
    }`,
    fields: [{ name: "expiresIn", label: "The old key stops", type: "select", options: ROLL_GRACES, value: "24h" }],
    onSubmit: async (values, dialog) => {
      const created = await api("POST", apiPath`environments/${env.id}/keys/${key.id}/roll`, { body: { expiresIn: values.expiresIn } });
      dialog.close("done");
      const ends = values.expiresIn === "now" ? "was revoked." : `keeps working for ${values.expiresIn}, then stops.`;
      keysOnceDialog({
        title: `Key “${key.name}” rolled`,
        keys: [created],
        intro: `This is the new key. The old one (${key.preview}) ${ends}`,
        onClose: () => render(),
      });
    },
  });
}

async function revokeKey(env, key) {
  const ok = await confirmDialog({
    title: `Revoke “${key.name}”?`,
    intro: `${KIND_LABEL[key.kind]} ${key.preview} is revoked at once. This cannot be undone.`,
    consequences: keyConsequences(key),
    confirmLabel: "Revoke key",
  });
  if (!ok) return;
  try {
    await api("POST", apiPath`environments/${env.id}/keys/${key.id}/revoke`);
    flash(`Key “${key.name}” (${key.preview}) revoked.`);
    render();
  } catch (err) {
    reportError(err);
  }
}

// --- webhooks: endpoints, their secret (shown once), deliveries, retry and replay ----------------

const WEBHOOK_EVENTS = [
  "comment.created",
  "comment.updated",
  "comment.deleted",
  "thread.created",
  "thread.updated",
  "thread.resolved",
  "thread.deleted",
  "room.updated",
  "room.deleted",
];
const DISABLED_BECAUSE = {
  operator: "disabled by an operator",
  gone: "disabled: the endpoint answered 410 Gone",
  failing: "disabled: every attempt failed for 5 days",
};

function webhookState(hook) {
  if (hook.enabled) return hook.failingSince ? badge("failing", "warn") : badge("enabled", "ok");
  return badge("disabled", "danger");
}

/** "a, b" -> ["a", "b"]; empty -> null (every event type). */
function parseEvents(text) {
  const list = text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  return list.length ? list : null;
}

async function webhooksTab(env, rest) {
  const [webhookId] = rest;
  if (webhookId !== undefined) return deliveriesView(env, webhookId);
  const editable = can("admin");
  const list = await pagedTable({
    caption: "Webhook endpoints",
    empty: "No endpoints yet. Add one to receive this environment's events.",
    rowKey: (w) => w.id,
    load: (cursor) => api("GET", apiPath`environments/${env.id}/webhooks`, { query: { cursor, limit: 50 } }),
    columns: [
      {
        label: "URL",
        header: true,
        render: (w) => h("a", { href: hashPath`environments/${env.id}/webhooks/${w.id}` }, w.url),
      },
      { label: "Events", render: (w) => (w.events ? w.events.join(", ") : h("span", { class: "muted" }, "All")) },
      { label: "Description", render: (w) => w.description || h("span", { class: "muted" }, "—") },
      {
        label: "Status",
        render: (w) => [
          webhookState(w),
          !w.enabled && w.disabledReason ? h("span", { class: "muted small" }, " ", DISABLED_BECAUSE[w.disabledReason] || w.disabledReason) : null,
          w.enabled && w.failingSince ? h("span", { class: "muted small" }, " since ", time(w.failingSince)) : null,
        ],
      },
      editable && {
        label: "Actions",
        className: "col-actions",
        render: (w) =>
          h(
            "div",
            { class: "actions" },
            button("Test", (event) => testWebhook(env, w, event.currentTarget), { small: true, "aria-label": `Send a test event to ${w.url}` }),
            button(w.enabled ? "Disable" : "Enable", () => setWebhookEnabled(env, w, !w.enabled), { small: true, "aria-label": `${w.enabled ? "Disable" : "Enable"} ${w.url}` }),
            button("Rotate secret", () => rotateWebhookSecret(env, w), { small: true, "aria-label": `Rotate the secret of ${w.url}` }),
            button("Delete", () => deleteWebhook(env, w), { kind: "danger-outline", small: true, "aria-label": `Delete ${w.url}` }),
          ),
      },
    ],
  });
  return section(
    "Webhooks",
    h("p", { class: "muted" }, "Pulse posts this environment's events to these endpoints, signed (Standard Webhooks) and retried for about a day. Each endpoint's signing secret is shown once, when it is made or rotated."),
    !editable ? h("p", { class: "callout callout-info" }, "You have read-only access (viewer): endpoints are managed by admins and owners.") : null,
    editable ? h("div", { class: "toolbar" }, h("div", { class: "actions" }, button("Add endpoint", () => createWebhook(env), { kind: "primary" }))) : null,
    list,
  );
}

function createWebhook(env) {
  formDialog({
    title: "Add webhook endpoint",
    submitLabel: "Add endpoint",
    fields: [
      { name: "url", label: "URL", type: "url", required: true, maxlength: 2048, placeholder: "https://hooks.example.com/pulse", hint: "An https URL of a public host." },
      { name: "events", label: "Events", maxlength: 400, placeholder: "comment.created, thread.resolved", hint: `Comma-separated; empty: all. One of: ${WEBHOOK_EVENTS.join(", ")}.` },
      { name: "description", label: "Description", maxlength: 200, placeholder: "Email digests" },
    ],
    onSubmit: async (values, dialog) => {
      const body = { url: values.url.trim() };
      const events = parseEvents(values.events);
      if (events) body.events = events;
      if (values.description.trim()) body.description = values.description.trim();
      const hook = await api("POST", apiPath`environments/${env.id}/webhooks`, { body });
      dialog.close("done");
      secretOnceDialog({ title: "Endpoint added", hook, onClose: () => render() });
    },
  });
}

/** The signing secret, shown once, with a copy button. */
function secretOnceDialog({ title, hook, intro, onClose }) {
  const status = h("p", { class: "copy-status", role: "status" });
  const id = uid("secret");
  const input = h("textarea", {
    id,
    rows: 1,
    readonly: true,
    class: "mono key-value",
    value: hook.secret,
    spellcheck: "false",
    autocomplete: "off",
    "data-kind": "webhook-secret",
    onfocus: (event) => event.target.select(),
  });
  const body = h(
    "form",
    { method: "dialog", class: "dialog-body" },
    intro ? h("p", {}, intro) : null,
    h(
      "div",
      { class: "callout callout-warn", role: "note" },
      h("p", { class: "callout-title" }, "The signing secret is shown only this once."),
      h("p", {}, "Your endpoint verifies each delivery with it (docs/webhooks.md). Copy it now into your secret manager; if it is lost, rotate it."),
    ),
    h(
      "div",
      { class: "keybox" },
      h("label", { for: id }, "Signing secret for ", hook.url),
      h("div", { class: "keybox-row" }, input, copyButton("Signing secret", () => hook.secret, input, status)),
    ),
    status,
    h("div", { class: "dialog-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "I have saved the secret")),
  );
  return openDialog({ title, body, wide: true, label: "secret", onClose, initialFocus: (d) => d.querySelector(".keybox-row button") });
}

async function testWebhook(env, hook, btn) {
  try {
    await busy(btn, () => api("POST", apiPath`environments/${env.id}/webhooks/${hook.id}/test`));
    flash(`Test event queued for ${hook.url}: see its deliveries.`);
    render();
  } catch (err) {
    reportError(err);
  }
}

async function setWebhookEnabled(env, hook, enabled) {
  try {
    await api("PATCH", apiPath`environments/${env.id}/webhooks/${hook.id}`, { body: { enabled } });
    flash(`${hook.url} ${enabled ? "enabled" : "disabled"}.`);
    render();
  } catch (err) {
    reportError(err);
  }
}

async function rotateWebhookSecret(env, hook) {
  const ok = await confirmDialog({
    title: `Rotate the secret of ${hook.url}?`,
    intro: "A new signing secret is made. For 24 hours every delivery carries two signatures, one with each secret, so the receiver can switch without losing events.",
    consequences: ["After 24 hours the old secret signs nothing: the receiver must have the new one by then."],
    confirmLabel: "Rotate secret",
    confirmKind: "primary",
  });
  if (!ok) return;
  try {
    const rotated = await api("POST", apiPath`environments/${env.id}/webhooks/${hook.id}/rotate-secret`);
    secretOnceDialog({ title: "Secret rotated", hook: rotated, onClose: () => render() });
  } catch (err) {
    reportError(err);
  }
}

async function deleteWebhook(env, hook) {
  const ok = await confirmDialog({
    title: `Delete ${hook.url}?`,
    intro: "Nothing more is sent to it, queued retries included.",
    consequences: ["Its deliveries log goes with it."],
    confirmLabel: "Delete endpoint",
  });
  if (!ok) return;
  try {
    await api("DELETE", apiPath`environments/${env.id}/webhooks/${hook.id}`);
    flash(`${hook.url} deleted.`);
    render();
  } catch (err) {
    reportError(err);
  }
}

function deliveryStatus(d) {
  const tone = d.status === "succeeded" ? "ok" : d.status === "failed" ? "danger" : "warn";
  return badge(d.status, tone);
}

async function deliveriesView(env, webhookId) {
  const hook = await api("GET", apiPath`environments/${env.id}/webhooks/${webhookId}`);
  const editable = can("admin");
  const list = await pagedTable({
    caption: `Deliveries to ${hook.url}`,
    empty: "No deliveries yet.",
    rowKey: (d) => d.id,
    load: (cursor) => api("GET", apiPath`environments/${env.id}/webhooks/${webhookId}/deliveries`, { query: { cursor, limit: 25 } }),
    columns: [
      { label: "Created", header: true, render: (d) => time(d.createdAt) },
      { label: "Event", render: (d) => [d.eventType, " ", h("span", { class: "muted small" }, d.eventId)] },
      { label: "Status", render: (d) => deliveryStatus(d) },
      { label: "Attempts", render: (d) => String(d.attempt) },
      {
        label: "Response",
        render: (d) =>
          d.responseCode !== null
            ? h("details", {}, h("summary", {}, String(d.responseCode)), h("pre", { class: "mono small" }, d.responseBody || ""))
            : h("span", { class: "muted" }, d.error || "—"),
      },
      { label: "Duration", render: (d) => (d.durationMs === null ? h("span", { class: "muted" }, "—") : `${d.durationMs} ms`) },
      { label: "Next attempt", render: (d) => time(d.nextAttemptAt, "—") },
      editable && {
        label: "Actions",
        className: "col-actions",
        render: (d) =>
          d.status === "pending"
            ? h("span", { class: "muted" }, "—")
            : button("Retry", (event) => retryDelivery(env, hook, d, event.currentTarget), { small: true, "aria-label": `Retry delivery ${d.id}` }),
      },
    ],
  });
  return section(
    "Deliveries",
    h(
      "p",
      {},
      h("a", { href: hashPath`environments/${env.id}/webhooks` }, "All endpoints"),
      " / ",
      mono(hook.url),
      " ",
      webhookState(hook),
      !hook.enabled && hook.disabledReason ? h("span", { class: "muted small" }, " ", DISABLED_BECAUSE[hook.disabledReason] || hook.disabledReason) : null,
    ),
    editable
      ? h(
          "div",
          { class: "toolbar" },
          h(
            "div",
            { class: "actions" },
            button("Send test event", (event) => testWebhook(env, hook, event.currentTarget)),
            button("Replay failed", () => replayDeliveries(env, hook)),
            hook.enabled ? null : button("Enable", () => setWebhookEnabled(env, hook, true), { kind: "primary" }),
          ),
        )
      : null,
    list,
  );
}

async function retryDelivery(env, hook, delivery, btn) {
  try {
    await busy(btn, () => api("POST", apiPath`environments/${env.id}/webhooks/${hook.id}/deliveries/${delivery.id}/retry`));
    flash(`Delivery ${delivery.id} queued again.`);
    render();
  } catch (err) {
    reportError(err);
  }
}

function replayDeliveries(env, hook) {
  const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  formDialog({
    title: "Replay failed deliveries",
    submitLabel: "Replay",
    intro: "Every delivery to this endpoint that failed since this time is sent once more.",
    fields: [{ name: "since", label: "Since (UTC)", required: true, maxlength: 40, value: since, hint: "e.g. 2026-11-25T04:00:00Z" }],
    onSubmit: async (values, dialog) => {
      const result = await api("POST", apiPath`environments/${env.id}/webhooks/${hook.id}/replay`, { body: { since: values.since.trim() } });
      dialog.close("done");
      flash(`${result.replayed} failed deliver${result.replayed === 1 ? "y" : "ies"} queued again.`);
      render();
    },
  });
}

// --- settings: rename, suspend/resume, disable ---------------------------------------------------

async function settingsTab(env) {
  const editable = can("admin") && env.status === "active";
  const id = uid("name");
  const input = h("input", { id, name: "name", type: "text", required: true, maxlength: 100, value: env.name, disabled: !editable });
  const save = h("button", { type: "submit", class: "btn btn-primary", disabled: !editable }, "Save name");
  const errors = h("div");
  const renameForm = h(
    "form",
    {
      class: "inline-form",
      onsubmit: async (event) => {
        event.preventDefault();
        if (!renameForm.reportValidity()) return;
        clearBanners(errors);
        await busy(save, async () => {
          try {
            const updated = await api("PATCH", apiPath`environments/${env.id}`, { body: { name: input.value.trim() } });
            flash(`Environment renamed to “${updated.name}”.`);
            render();
          } catch (err) {
            reportError(err, errors);
          }
        });
      },
    },
    h("div", { class: "field" }, h("label", { for: id }, "Environment name"), h("div", { class: "search-row" }, input, save)),
  );
  const parts = [
    section(
      "Name",
      errors,
      renameForm,
      !editable ? h("p", { class: "muted" }, env.status !== "active" ? "A disabled environment cannot be renamed." : "Renaming needs the admin role.") : null,
    ),
    roomAccessSettings(env, editable),
    attachmentSettings(env, editable),
    notificationSettings(env, editable),
    retentionSettings(env, editable),
  ];
  if (editable) {
    parts.push(suspension(env));
    parts.push(
      h(
        "section",
        { class: "section danger-zone", "aria-labelledby": "danger-title" },
        h("h2", { id: "danger-title" }, "Disable environment"),
        h("p", {}, "Disabling revokes every key of this environment. It cannot be re-enabled."),
        button(
          "Disable environment",
          async () => {
            const ok = await confirmDialog({
              title: `Disable “${env.name}”?`,
              intro: "The environment and all of its keys are switched off for good.",
              consequences: [
                "Every key: backends get 401 on token minting and REST calls.",
                "Every user token of this environment; all of its widgets are disconnected and cannot reconnect.",
                "Renaming and key changes. Its data stays readable here.",
              ],
              confirmLabel: "Disable environment",
              typeToConfirm: env.name,
            });
            if (!ok) return;
            try {
              await api("DELETE", apiPath`environments/${env.id}`, { body: { confirmName: env.name } });
              flash(`Environment “${env.name}” disabled.`);
              render();
            } catch (err) {
              reportError(err);
            }
          },
          { kind: "danger" },
        ),
      ),
    );
  }
  return h("div", {}, parts);
}

/** One settings form of an environment: its fields, a Save button that PATCHes what `body()`
 * returns, the confirmation, and why it is read-only when it is. */
function envSettingsForm(env, editable, { title, button, saved, body, fields }) {
  const save = h("button", { type: "submit", class: "btn btn-primary", disabled: !editable }, button);
  const errors = h("div");
  const form = h(
    "form",
    {
      class: "inline-form",
      onsubmit: async (event) => {
        event.preventDefault();
        clearBanners(errors);
        await busy(save, async () => {
          try {
            await api("PATCH", apiPath`environments/${env.id}`, { body: body() });
            flash(saved);
            render();
          } catch (err) {
            reportError(err, errors);
          }
        });
      },
    },
    ...fields,
    save,
  );
  return section(
    title,
    errors,
    form,
    !editable ? h("p", { class: "muted" }, env.status !== "active" ? "A disabled environment cannot be changed." : "Changing these needs the admin role.") : null,
  );
}

/** The environment's room access settings: the level a new room gets (defaultRoomAccess) and
 * whether a connection may create the room it names (createRoomsOnJoin). */
function roomAccessSettings(env, editable) {
  const levelId = uid("default-room-access");
  const levelHint = uid("hint");
  const joinId = uid("create-on-join");
  const joinHint = uid("hint");
  const level = levelSelect({ id: levelId, value: env.defaultRoomAccess, disabled: !editable });
  level.setAttribute("aria-describedby", levelHint);
  const onJoin = h("input", { id: joinId, type: "checkbox", disabled: !editable, "aria-describedby": joinHint });
  onJoin.checked = Boolean(env.createRoomsOnJoin);
  return envSettingsForm(env, editable, {
    title: "Room access",
    button: "Save room access",
    saved: "Room access settings saved.",
    body: () => ({ defaultRoomAccess: level.value, createRoomsOnJoin: onJoin.checked }),
    fields: [
      h(
        "div",
        { class: "field" },
        h("label", { for: levelId }, "Default room access"),
        level,
        h("p", { class: "hint", id: levelHint }, "The level a room gets when it is created without its own defaultAccess: by your backend (POST /api/v1/rooms) or by a connection to a new room. Rooms that exist keep theirs."),
      ),
      h(
        "div",
        { class: "field field-check" },
        h("div", { class: "check-row" }, onJoin, h("label", { for: joinId }, "Create rooms on join")),
        h("p", { class: "hint", id: joinHint }, "When off, a connection to a room that does not exist is refused (404 ROOM_NOT_FOUND): only your backend creates rooms."),
      ),
    ],
  });
}

/** The environment's attachment limits: the largest upload (attachmentMaxBytes, shown and
 * entered in MB) and the MIME types allowed (attachmentTypes, one a line). The presigned POST's
 * policy enforces both. */
function attachmentSettings(env, editable) {
  const sizeId = uid("attachment-max");
  const sizeHint = uid("hint");
  const typesId = uid("attachment-types");
  const typesHint = uid("hint");
  const mb = (env.attachmentMaxBytes || 0) / (1024 * 1024);
  const size = h("input", {
    id: sizeId,
    type: "number",
    min: "0.001",
    max: "100",
    step: "any",
    value: String(Math.round(mb * 1000) / 1000),
    disabled: !editable,
    "aria-describedby": sizeHint,
  });
  const types = h("textarea", { id: typesId, rows: "6", disabled: !editable, "aria-describedby": typesHint });
  types.value = (env.attachmentTypes || []).join("\n");
  return envSettingsForm(env, editable, {
    title: "Attachments",
    button: "Save attachment limits",
    saved: "Attachment limits saved.",
    body: () => ({
      attachmentMaxBytes: Math.round(Number(size.value) * 1024 * 1024),
      attachmentTypes: types.value.split("\n").map((t) => t.trim()).filter(Boolean),
    }),
    fields: [
      h(
        "div",
        { class: "field" },
        h("label", { for: sizeId }, "Largest attachment (MB)"),
        size,
        h("p", { class: "hint", id: sizeHint }, "Uploads over this size are refused (400 naming size) before anything is signed; S3 itself refuses a file of another size than declared. At most 100 MB."),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: typesId }, "Allowed types (one MIME type a line)"),
        types,
        h("p", { class: "hint", id: typesHint }, "An upload of any other type is refused (400 naming mimeType), and S3 refuses a file sent with another Content-Type."),
      ),
    ],
  });
}

/** End users' names for the data browser: each asked once per view (GET .../users/{userId});
 * null for an id no token was minted for (a backend may write as any user id). */
function userNames(env) {
  const asked = new Map();
  return (userId) => {
    if (!asked.has(userId)) {
      const read = api("GET", apiPath`environments/${env.id}/users/${userId}`);
      asked.set(userId, read.then((user) => (user && user.name) || null, () => null));
    }
    return asked.get(userId);
  };
}

/** A user's id, replaced by "name (id)" once the name is known. */
function userLabel(names, userId, tag = "strong") {
  const label = h(tag, { class: "user-label", "data-user-id": userId }, userId);
  names(userId).then((name) => {
    if (name && name !== userId) label.replaceChildren(name, h("span", { class: "muted small" }, ` (${userId})`));
  });
  return label;
}

const MENTION = /<@([^\s<>]{1,128})>/g;

/** A comment's body as text, each of its `mentions` as "@name" (others stay as typed). */
function commentBody(c, names) {
  const body = String(c.body);
  const mentioned = c.mentions || [];
  const parts = [];
  let at = 0;
  for (const match of body.matchAll(MENTION)) {
    if (!mentioned.includes(match[1])) continue;
    parts.push(body.slice(at, match.index));
    const chip = h("span", { class: "mention", "data-user-id": match[1], title: match[1] }, `@${match[1]}`);
    names(match[1]).then((name) => {
      if (name) chip.textContent = `@${name}`;
    });
    parts.push(chip);
    at = match.index + match[0].length;
  }
  parts.push(body.slice(at));
  return h("p", { class: "comment-body" }, ...parts);
}

/** A comment's reactions: each emoji with its count, and who (the first few) on hover. */
function reactionList(reactions, names) {
  if (!reactions || reactions.length === 0) return null;
  return h(
    "ul",
    { class: "comment-reactions", "aria-label": "Reactions" },
    ...reactions.map((r) => {
      const item = h("li", { "data-emoji": r.emoji, title: r.userIds.join(", ") }, `${r.emoji} ${r.count}`);
      Promise.all(r.userIds.map((id) => names(id).then((name) => name || id))).then((who) => {
        const others = r.count - who.length;
        item.title = who.join(", ") + (others > 0 ? ` and ${others} more` : "");
      });
      return item;
    }),
  );
}

/** How long a user's unread comments wait before the notification.created webhook
 * (notificationDelaySeconds, entered in minutes): a user who reads the thread first is not
 * notified, and a thread notifies a user at most once per delay (docs/inbox.md). */
function notificationSettings(env, editable) {
  const delayId = uid("notification-delay");
  const delayHint = uid("hint");
  const minutes = (env.notificationDelaySeconds ?? 300) / 60;
  const delay = h("input", {
    id: delayId,
    type: "number",
    min: "0",
    max: "10080",
    step: "any",
    value: String(Math.round(minutes * 100) / 100),
    disabled: !editable,
    "aria-describedby": delayHint,
  });
  return envSettingsForm(env, editable, {
    title: "Notifications",
    button: "Save notification delay",
    saved: "Notification delay saved.",
    body: () => ({ notificationDelaySeconds: Math.round(Number(delay.value) * 60) }),
    fields: [
      h(
        "div",
        { class: "field" },
        h("label", { for: delayId }, "Notification delay (minutes)"),
        delay,
        h("p", { class: "hint", id: delayHint }, "How long unread comments wait before your backend gets notification.created (to email or push the user). A user who reads the thread in the widget first is not notified; a thread notifies a user at most once per delay. At most 7 days."),
      ),
    ],
  });
}

/** How long resolved threads are kept (retentionDays; empty or 0: for ever): the hourly
 * retention job deletes those last changed longer ago, with their comments (docs/privacy.md). */
function retentionSettings(env, editable) {
  const daysId = uid("retention-days");
  const daysHint = uid("hint");
  const days = h("input", {
    id: daysId,
    type: "number",
    min: "0",
    max: "3650",
    step: "1",
    value: env.retentionDays ? String(env.retentionDays) : "",
    placeholder: "Keep for ever",
    disabled: !editable,
    "aria-describedby": daysHint,
  });
  return envSettingsForm(env, editable, {
    title: "Retention",
    button: "Save retention",
    saved: "Retention saved.",
    body: () => ({ retentionDays: days.value === "" ? 0 : Number(days.value) }),
    fields: [
      h(
        "div",
        { class: "field" },
        h("label", { for: daysId }, "Delete resolved threads after (days)"),
        days,
        h("p", { class: "hint", id: daysHint }, "Resolved threads untouched for this many days are deleted with their comments and files by an hourly job. Empty or 0 keeps them for ever. At most 3650."),
      ),
    ],
  });
}

/** A comment's files, each a link to its presigned download (valid an hour from the read). */
function attachmentLinks(attachments) {
  if (!attachments || attachments.length === 0) return null;
  const size = (n) => (n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`);
  return h(
    "ul",
    { class: "comment-attachments", "aria-label": "Attachments" },
    ...attachments.map((a) =>
      h(
        "li",
        {},
        a.url && /^https?:\/\//.test(a.url)
          ? h("a", { href: a.url, target: "_blank", rel: "noopener noreferrer" }, a.name)
          : a.name,
        h("span", { class: "muted small" }, ` ${a.mimeType}, ${size(a.size)}`),
      ),
    ),
  );
}

/** Suspend (reversible: nothing is revoked) or resume, behind a confirmation. */
function suspension(env) {
  const suspended = envState(env) === "suspended";
  const titleId = uid("suspension-title");
  const act = async () => {
    const ok = suspended
      ? await confirmDialog({
          title: `Resume “${env.name}”?`,
          intro: "Everything this environment serves starts again, with the keys and tokens it has now.",
          note: "Backends can mint tokens and call the REST API on their next request, and widgets reconnect on their own.",
          confirmLabel: "Resume environment",
          confirmKind: "primary",
        })
      : await confirmDialog({
          title: `Suspend “${env.name}”?`,
          intro: "Everything this environment serves stops at once, until an admin resumes it. Nothing is revoked or deleted.",
          consequences: [
            "Every API request: POST /auth/token (token minting) and every /api/v1 call get 403 ENVIRONMENT_SUSPENDED.",
            "Every live connection: all of its widgets are disconnected now, and cannot reconnect.",
          ],
          note: "Until it is resumed here. Then the same keys and tokens work again, with nothing to redeploy.",
          confirmLabel: "Suspend environment",
        });
    if (!ok) return;
    try {
      await api("POST", suspended ? apiPath`environments/${env.id}/resume` : apiPath`environments/${env.id}/suspend`);
      flash(`Environment “${env.name}” ${suspended ? "resumed" : "suspended"}.`);
      render();
    } catch (err) {
      reportError(err);
    }
  };
  return h(
    "section",
    { class: `section danger-zone${suspended ? " resume-zone" : ""}`, "aria-labelledby": titleId },
    h("h2", { id: titleId }, suspended ? "Resume environment" : "Suspend environment"),
    suspended
      ? h("p", {}, "Suspended since ", time(env.suspendedAt), ": every API request, token mint and connection of it is refused until it is resumed.")
      : h("p", {}, "Suspending refuses every API request, token mint and connection of this environment until it is resumed. Its keys and data are kept."),
    button(suspended ? "Resume environment" : "Suspend environment", act, { kind: suspended ? "primary" : "danger-outline" }),
  );
}

// --- room access: who may enter a room, and what they may do there ------------------------------
// Levels, lowest first (docs/protocol.md, "Room access"). An identity token (no `permissions`)
// gets the highest of the room's defaultAccess, its user's entry and its groups' entries; an
// access token decides alone, whatever the room says.

const LEVELS = ["none", "read", "comment", "write"];
const LEVEL_TEXT = {
  none: "none: cannot enter",
  read: "read: view only",
  comment: "comment: read and comment",
  write: "write: comment and broadcast",
};

function levelSelect({ id, value, label, disabled = false, onchange }) {
  const select = h(
    "select",
    { id, "aria-label": label, disabled, onchange },
    LEVELS.map((level) => h("option", { value: level }, LEVEL_TEXT[level])),
  );
  select.value = value;
  return select;
}

/** What the panel warns of when any signed-in user can enter rooms of `env` with an identity
 * token: a defaultRoomAccess above none (every room made without its own defaultAccess lets
 * them in), worse with createRoomsOnJoin (any room id they name is made for them). null when
 * neither holds, or the environment serves nothing (disabled). */
function openAccessWarning(env) {
  const level = env.defaultRoomAccess;
  if (env.status !== "active" || !level || level === "none") return null;
  const fix =
    "To close it, set Default room access to “none” (Settings) and grant access per room (Browse data) or mint access tokens with permissions.";
  if (env.createRoomsOnJoin) {
    return {
      title: "Any signed-in user can enter any room of this environment.",
      text: `Default room access is “${level}” and rooms are created on join: a user your backend mints a token for can open any room id, even one of another customer of yours, and ${level === "read" ? "read everything in it" : `read and ${level === "write" ? "write" : "comment"} in it`}. ${fix}`,
    };
  }
  return {
    title: "Any signed-in user can enter every room created without its own access.",
    text: `Default room access is “${level}”: rooms your backend creates without a defaultAccess let every user of this environment in at “${level}”. Rooms that do not exist yet are refused (rooms are not created on join). ${fix}`,
  };
}

function accessWarningNode(env) {
  const warning = openAccessWarning(env);
  if (!warning) return null;
  return h(
    "div",
    { class: "callout callout-warn", role: "note", "data-warning": "open-access" },
    h("p", { class: "callout-title" }, warning.title),
    h("p", {}, warning.text),
  );
}

/** A room's access in a few words (the rooms list). */
function accessSummary(room) {
  if (!room.defaultAccess) return h("span", { class: "muted" }, "—");
  const users = Object.keys(room.usersAccess || {}).length;
  const groups = Object.keys(room.groupsAccess || {}).length;
  const extra = [];
  if (users) extra.push(`${users} user${users === 1 ? "" : "s"}`);
  if (groups) extra.push(`${groups} group${groups === 1 ? "" : "s"}`);
  return h(
    "span",
    {},
    badge(room.defaultAccess, room.defaultAccess === "none" ? "neutral" : "info"),
    extra.length ? h("span", { class: "muted small" }, ` + ${extra.join(", ")}`) : null,
  );
}

const GRANTS = {
  usersAccess: { one: "user", title: "Users", idLabel: "User id", placeholder: "user-42" },
  groupsAccess: { one: "group", title: "Groups", idLabel: "Group id", placeholder: "acme-editors" },
};

/** The room view's Access section: the room's defaultAccess and its users' and groups' entries,
 * each change one PATCH of the room (applied at once to its open connections, and audited). */
function roomAccessSection(env, initialRoom) {
  const editable = can("admin") && env.status === "active";
  const errors = h("div", { class: "section-errors" });
  const body = h("div", { class: "room-access" });
  const titleId = uid("access-title");
  const path = apiPath`environments/${env.id}/rooms/${initialRoom.id}`;

  const patch = async (change, message, control) => {
    clearBanners(errors);
    try {
      const room = await busy(control, () => api("PATCH", path, { body: change }));
      draw(room);
      notify(message);
      return true;
    } catch (err) {
      reportError(err, errors);
      return false;
    }
  };

  const grantTable = (room, field) => {
    const spec = GRANTS[field];
    const entries = Object.entries(room[field] || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const table = dataTable({
      caption: `${spec.title} with access to ${room.id}`,
      empty: `No ${spec.one} has an entry of its own.`,
      rowKey: ([id]) => id,
      rows: entries,
      columns: [
        { label: spec.idLabel, header: true, render: ([id]) => mono(id) },
        {
          label: "Level",
          render: ([id, level]) => {
            const select = levelSelect({
              value: level,
              label: `Access of ${spec.one} ${id}`,
              disabled: !editable,
              onchange: () => {
                const next = select.value;
                patch({ [field]: { [id]: next } }, `Access of ${spec.one} ${id} set to ${next}.`, select).then((ok) => {
                  if (!ok && select.isConnected) select.value = level;
                });
              },
            });
            return select;
          },
        },
        editable && {
          label: "Actions",
          className: "col-actions",
          render: ([id]) => {
            const remove = button("Remove", () => patch({ [field]: { [id]: null } }, `The entry of ${spec.one} ${id} was removed.`, remove), {
              kind: "danger-outline",
              small: true,
              "aria-label": `Remove ${spec.one} ${id}`,
            });
            return remove;
          },
        },
      ],
    });
    let add = null;
    if (editable) {
      const idInput = uid("grant-id");
      const input = h("input", { id: idInput, type: "text", required: true, maxlength: 128, autocomplete: "off", spellcheck: "false", placeholder: spec.placeholder });
      const levelId = uid("grant-level");
      const level = levelSelect({ id: levelId, value: "read", label: null });
      const submit = h("button", { type: "submit", class: "btn btn-secondary" }, `Add ${spec.one}`);
      add = h(
        "form",
        {
          class: "grant-form",
          "aria-label": `Add a ${spec.one}`,
          onsubmit: async (event) => {
            event.preventDefault();
            if (!add.reportValidity()) return;
            const id = input.value.trim();
            await patch({ [field]: { [id]: level.value } }, `Access of ${spec.one} ${id} set to ${level.value}.`, submit);
          },
        },
        h("div", { class: "field" }, h("label", { for: idInput }, spec.idLabel), input),
        h("div", { class: "field" }, h("label", { for: levelId }, "Level"), level),
        h("div", { class: "field" }, submit),
      );
    }
    return h("div", { class: "grants", "data-grants": field }, h("h3", {}, spec.title), table.node, add);
  };

  const draw = (room) => {
    const defaultId = uid("default-access");
    const select = levelSelect({
      id: defaultId,
      value: room.defaultAccess,
      disabled: !editable,
      onchange: () => {
        const next = select.value;
        patch({ defaultAccess: next }, `Default access of ${room.id} set to ${next}.`, select).then((ok) => {
          if (!ok && select.isConnected) select.value = room.defaultAccess;
        });
      },
    });
    body.replaceChildren(
      h(
        "div",
        { class: "field field-inline" },
        h("label", { for: defaultId }, "Default access (every signed-in user)"),
        select,
      ),
      grantTable(room, "usersAccess"),
      grantTable(room, "groupsAccess"),
    );
  };

  draw(initialRoom);
  return h(
    "section",
    { class: "section", "aria-labelledby": titleId },
    h("h2", { id: titleId }, "Access"),
    h(
      "p",
      { class: "muted" },
      "With an identity token, a user gets the highest of the default, their own entry and their groups' entries; an access token (minted with permissions) decides alone. A change applies at once to the room's open connections: a user whose level becomes none is disconnected.",
    ),
    !editable ? h("p", { class: "muted" }, env.status !== "active" ? "A disabled environment's rooms cannot be changed." : "Changing access needs the admin role.") : null,
    errors,
    body,
  );
}

// --- browse: rooms -> threads -> comments -------------------------------------------------------

function metadataText(metadata) {
  const entries = Object.entries(metadata || {});
  if (!entries.length) return h("span", { class: "muted" }, "—");
  return h(
    "span",
    { class: "metadata" },
    entries.map(([k, v]) => h("span", { class: "chip" }, `${k}: ${v}`)),
  );
}

async function browseTab(env, rest, params) {
  const [roomId, threadId] = rest;
  if (threadId !== undefined) return commentsView(env, roomId, threadId);
  if (roomId !== undefined) return threadsView(env, roomId, params);
  const deletable = can("admin");
  const list = await pagedTable({
    caption: "Rooms",
    empty: "No rooms yet. Rooms appear when your backend creates them or a widget joins one.",
    rowKey: (r) => r.id,
    load: (cursor) => api("GET", apiPath`environments/${env.id}/rooms`, { query: { cursor, limit: 25 } }),
    columns: [
      { label: "Room", header: true, render: (r) => h("a", { href: hashPath`environments/${env.id}/browse/${r.id}` }, r.id) },
      { label: "Metadata", render: (r) => metadataText(r.metadata) },
      { label: "Access", render: (r) => accessSummary(r) },
      { label: "Created", render: (r) => time(r.createdAt) },
      { label: "Updated", render: (r) => time(r.updatedAt) },
      deletable && {
        label: "Actions",
        className: "col-actions",
        render: (r) =>
          button(
            "Delete",
            () =>
              deleteThing({
                title: `Delete room “${r.id}”?`,
                intro: "The room, all of its threads and all of their comments are deleted. This cannot be undone.",
                consequences: ["Widgets in this room are disconnected; its comments disappear for everyone."],
                path: apiPath`environments/${env.id}/rooms/${r.id}`,
                done: `Room “${r.id}” deleted.`,
              }),
            { kind: "danger-outline", small: true, "aria-label": `Delete room ${r.id}` },
          ),
      },
    ],
  });
  return section("Rooms", list);
}

async function deleteThing({ title, intro, consequences, path, done, then }) {
  const ok = await confirmDialog({ title, intro, consequences, confirmLabel: "Delete" });
  if (!ok) return;
  try {
    await api("DELETE", path);
    flash(done);
    if (then) location.hash = then;
    else render();
  } catch (err) {
    reportError(err);
  }
}

async function threadsView(env, roomId, params) {
  const base = hashPath`environments/${env.id}/browse`;
  const roomBase = hashPath`environments/${env.id}/browse/${roomId}`;
  const filter = params.get("resolved") || "";
  const deletable = can("admin");
  const names = userNames(env);
  const selectId = uid("filter");
  const select = h(
    "select",
    {
      id: selectId,
      onchange: () => {
        history.replaceState(null, "", select.value ? `${roomBase}?resolved=${select.value}` : roomBase);
        render({ focus: false, keepBanners: false });
      },
    },
    h("option", { value: "" }, "All threads"),
    h("option", { value: "false" }, "Open"),
    h("option", { value: "true" }, "Resolved"),
  );
  select.value = filter;
  const list = h("ol", { class: "cards", "aria-label": `Threads in room ${roomId}` });
  const load = (cursor) =>
    api("GET", apiPath`environments/${env.id}/rooms/${roomId}/threads`, {
      query: { cursor, limit: 20, resolved: filter },
    });
  const addThreads = (threads) => {
    for (const t of threads) {
      const first = (t.comments || [])[0];
      list.append(
        h(
          "li",
          { class: "card thread-card", "data-id": t.id },
          h(
            "div",
            { class: "thread-head" },
            h("h3", {}, h("a", { href: hashPath`environments/${env.id}/browse/${roomId}/${t.id}` }, first ? excerpt(first.body, 80) : t.id)),
            t.resolved ? badge("resolved", "ok") : badge("open", "info"),
          ),
          h(
            "p",
            { class: "muted small" },
            `${t.commentCount} comment${t.commentCount === 1 ? "" : "s"} · started by `,
            userLabel(names, t.createdBy),
            " · ",
            time(t.createdAt),
            " · ",
            mono(t.id),
          ),
          h(
            "div",
            { class: "card-actions" },
            h("a", { class: "btn btn-secondary btn-small", href: hashPath`environments/${env.id}/browse/${roomId}/${t.id}` }, "View comments"),
            deletable
              ? button(
                  "Delete thread",
                  () =>
                    deleteThing({
                      title: "Delete this thread?",
                      intro: `Thread ${t.id} and its ${t.commentCount} comment${t.commentCount === 1 ? "" : "s"} are deleted. This cannot be undone.`,
                      consequences: ["The thread disappears from every widget in the room, live."],
                      path: apiPath`environments/${env.id}/rooms/${roomId}/threads/${t.id}`,
                      done: "Thread deleted.",
                    }),
                  { kind: "danger-outline", small: true, "aria-label": `Delete thread ${t.id}` },
                )
              : null,
          ),
        ),
      );
    }
  };
  const [room, page] = await Promise.all([api("GET", apiPath`environments/${env.id}/rooms/${roomId}`), load(null)]);
  addThreads(page.data);
  let cursor = page.nextCursor;
  const more = button("Load more threads", async () => {
    await busy(more, async () => {
      try {
        const next = await load(cursor);
        addThreads(next.data);
        cursor = next.nextCursor;
        more.hidden = !cursor;
      } catch (err) {
        reportError(err);
      }
    });
  });
  more.hidden = !cursor;
  const empty = page.data.length ? null : h("p", { class: "empty" }, "No threads in this room.");
  return h(
    "div",
    {},
    h(
      "nav",
      { "aria-label": "Data path", class: "crumbs sub-crumbs" },
      h("ol", {}, h("li", {}, h("a", { href: base }, "Rooms")), h("li", {}, h("span", { "aria-current": "page" }, roomId))),
    ),
    roomAccessSection(env, room),
    roomLiveSection(env, roomId),
    section(
      `Threads in ${roomId}`,
      h("div", { class: "toolbar" }, h("div", { class: "field field-inline" }, h("label", { for: selectId }, "Show"), select)),
      list,
      empty,
      h("div", { class: "pager" }, more),
    ),
  );
}

// --- a room live: who is connected now, its last events, closing a connection -----------------

const LIVE_POLL_MS = 2000;
const LIVE_EVENTS = 50;

/** The room inspector: its live connections and its last 50 events, asked again every 2 s
 * while the page is shown (the events after the last seq it has), and, for admins, a Close
 * button per connection. */
function roomLiveSection(env, roomId) {
  const closable = can("admin");
  const names = userNames(env);
  const countId = uid("live-count");
  const count = h("span", { id: countId }, "");
  const rows = h("tbody", {});
  const table = h(
    "table",
    { class: "table", "aria-label": `Connected now to room ${roomId}` },
    h(
      "thead",
      {},
      h("tr", {}, h("th", { scope: "col" }, "User"), h("th", { scope: "col" }, "Access"), h("th", { scope: "col" }, "Presence"), h("th", { scope: "col" }, "Since"), h("th", { scope: "col" }, "Connection"), closable ? h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")) : null),
    ),
    rows,
  );
  const nobody = h("p", { class: "empty" }, "Nobody is connected to this room.");
  const events = h("ol", { class: "event-log", "aria-label": `Last events of room ${roomId}`, reversed: true });
  const noEvents = h("p", { class: "empty" }, "No events kept for this room.");
  const status = h("p", { class: "muted small" }, "Loading…");
  let lastSeq = null;
  let kept = [];

  const showConnections = (connections) => {
    count.textContent = ` (${connections.length})`;
    rows.replaceChildren(
      ...connections.map((c) =>
        h(
          "tr",
          { "data-connection-id": c.connectionId },
          h("td", {}, h("strong", { class: "user-label", "data-user-id": c.userId }, c.name || c.userId), c.name && c.name !== c.userId ? h("span", { class: "muted small" }, ` (${c.userId})`) : null),
          h("td", {}, badge(c.access, c.access === "write" ? "ok" : "info")),
          h("td", {}, c.presence === null || c.presence === undefined ? h("span", { class: "muted" }, "none") : h("code", { class: "mono small" }, excerpt(JSON.stringify(c.presence), 120))),
          h("td", {}, time(c.connectedAt)),
          h("td", {}, mono(c.connectionId)),
          closable
            ? h(
                "td",
                {},
                button("Close", () => closeConnection(c), {
                  kind: "danger-outline",
                  small: true,
                  "aria-label": `Close connection ${c.connectionId} of ${c.userId}`,
                }),
              )
            : null,
        ),
      ),
    );
    table.hidden = !connections.length;
    nobody.hidden = Boolean(connections.length);
  };

  const showEvents = () => {
    events.replaceChildren(
      ...kept
        .slice()
        .reverse()
        .map((e) =>
          h(
            "li",
            { "data-seq": String(e.seq) },
            mono(`#${e.seq}`),
            " ",
            h("strong", {}, e.type),
            " ",
            eventSummary(e, names),
            " · ",
            time(e.createdAt),
          ),
        ),
    );
    events.hidden = !kept.length;
    noEvents.hidden = Boolean(kept.length);
  };

  const addEvents = (page, replace) => {
    kept = (replace ? page.data : kept.concat(page.data)).slice(-LIVE_EVENTS);
    if (kept.length) lastSeq = kept[kept.length - 1].seq;
    else if (replace) lastSeq = null;
  };

  const refresh = async () => {
    const [connections, page] = await Promise.all([
      api("GET", apiPath`environments/${env.id}/rooms/${roomId}/connections`),
      lastSeq === null
        ? api("GET", apiPath`environments/${env.id}/rooms/${roomId}/events`).then((p) => ({ p, replace: true }))
        : api("GET", apiPath`environments/${env.id}/rooms/${roomId}/events`, { query: { since: lastSeq } })
            .then((p) => ({ p, replace: false }))
            .catch((err) => {
              if (err.status !== 410) throw err; // the events after it are gone: start again
              return api("GET", apiPath`environments/${env.id}/rooms/${roomId}/events`).then((p) => ({ p, replace: true }));
            }),
    ]);
    showConnections(connections.data);
    addEvents(page.p, page.replace);
    showEvents();
    status.textContent = `Live: updated every ${LIVE_POLL_MS / 1000} s.`;
  };

  async function closeConnection(c) {
    const ok = await confirmDialog({
      title: "Close this connection?",
      intro: `${c.userId}'s connection ${c.connectionId} is closed now.`,
      consequences: [
        "Its client is told that an administrator closed it, and the room that it left.",
        "Its client may connect again while its token is valid: to keep the user out, revoke their tokens or change what the room grants them.",
      ],
      confirmLabel: "Close connection",
    });
    if (!ok) return;
    try {
      await api("DELETE", apiPath`environments/${env.id}/rooms/${roomId}/connections/${c.connectionId}`);
      announce(`Connection ${c.connectionId} closed.`);
      await refresh();
    } catch (err) {
      reportError(err);
    }
  }

  const root = section(
    "Live",
    status,
    h("h3", {}, "Connected now", count),
    table,
    nobody,
    h("h3", {}, `Last ${LIVE_EVENTS} events`),
    events,
    noEvents,
  );
  root.classList.add("room-live");
  table.hidden = true;
  nobody.hidden = true;
  events.hidden = true;
  noEvents.hidden = true;
  const tick = async () => {
    if (!root.isConnected && started) return; // the page was left: stop asking
    started = true;
    if (!document.hidden) {
      try {
        await refresh();
      } catch (err) {
        if (err && err.handled) return;
        status.textContent = `Could not refresh: ${err.message}`;
      }
    }
    window.setTimeout(tick, LIVE_POLL_MS);
  };
  let started = false;
  tick();
  return root;
}

/** One line saying what an event changed (its data's ids and, for a comment, its body). */
function eventSummary(e, names) {
  const d = e.data || {};
  const parts = [];
  if (d.userId) parts.push(userLabel(names, d.userId));
  if (typeof d.body === "string") parts.push(h("span", {}, `“${excerpt(d.body, 60)}”`));
  if (d.threadId) parts.push(mono(d.threadId));
  else if (d.id) parts.push(mono(d.id));
  const out = [];
  parts.forEach((p, i) => {
    if (i) out.push(" ");
    out.push(p);
  });
  return h("span", { class: "muted small" }, out);
}

function excerpt(text, max) {
  const clean = String(text).replace(/\s+/g, " ").trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

async function commentsView(env, roomId, threadId) {
  const base = hashPath`environments/${env.id}/browse`;
  const roomBase = hashPath`environments/${env.id}/browse/${roomId}`;
  const threadPath = apiPath`environments/${env.id}/rooms/${roomId}/threads/${threadId}`;
  const thread = await api("GET", threadPath);
  const deletable = can("admin");
  const names = userNames(env);
  const list = h("ol", { class: "comments", "aria-label": "Comments" });
  const addComments = (comments) => {
    for (const c of comments) {
      list.append(
        h(
          "li",
          { class: "comment", "data-id": c.id },
          h(
            "div",
            { class: "comment-head" },
            userLabel(names, c.userId),
            " ",
            time(c.createdAt),
            c.editedAt ? h("span", { class: "muted small" }, " (edited ", time(c.editedAt), ")") : null,
          ),
          commentBody(c, names),
          attachmentLinks(c.attachments),
          reactionList(c.reactions, names),
          deletable
            ? h(
                "div",
                { class: "comment-actions" },
                button(
                  "Delete comment",
                  () =>
                    deleteThing({
                      title: "Delete this comment?",
                      intro: `The comment by ${c.userId} is deleted. This cannot be undone.`,
                      consequences: ["It disappears from every widget in the room, live."],
                      path: apiPath`environments/${env.id}/rooms/${roomId}/threads/${threadId}/comments/${c.id}`,
                      done: "Comment deleted.",
                    }),
                  { kind: "danger-outline", small: true, "aria-label": `Delete comment by ${c.userId}` },
                ),
              )
            : null,
        ),
      );
    }
  };
  const load = (cursor) => api("GET", apiPath`environments/${env.id}/rooms/${roomId}/threads/${threadId}/comments`, { query: { cursor, limit: 50 } });
  const page = await load(null);
  addComments(page.data);
  let cursor = page.nextCursor;
  const more = button("Load more comments", async () => {
    await busy(more, async () => {
      try {
        const next = await load(cursor);
        addComments(next.data);
        cursor = next.nextCursor;
        more.hidden = !cursor;
      } catch (err) {
        reportError(err);
      }
    });
  });
  more.hidden = !cursor;
  return h(
    "div",
    {},
    h(
      "nav",
      { "aria-label": "Data path", class: "crumbs sub-crumbs" },
      h(
        "ol",
        {},
        h("li", {}, h("a", { href: base }, "Rooms")),
        h("li", {}, h("a", { href: roomBase }, roomId)),
        h("li", {}, h("span", { "aria-current": "page" }, `Thread ${threadId}`)),
      ),
    ),
    section(
      "Comments",
      h(
        "p",
        { class: "muted small" },
        thread.resolved ? badge("resolved", "ok") : badge("open", "info"),
        ` ${thread.commentCount} comment${thread.commentCount === 1 ? "" : "s"} · started by `,
        userLabel(names, thread.createdBy, "span"),
        " · ",
        time(thread.createdAt),
        Object.keys(thread.metadata || {}).length ? [" · ", metadataText(thread.metadata)] : null,
      ),
      deletable
        ? h(
            "div",
            { class: "toolbar" },
            button(
              "Delete thread",
              () =>
                deleteThing({
                  title: "Delete this thread?",
                  intro: `The thread and its ${thread.commentCount} comment${thread.commentCount === 1 ? "" : "s"} are deleted. This cannot be undone.`,
                  consequences: ["The thread disappears from every widget in the room, live."],
                  path: threadPath,
                  done: "Thread deleted.",
                  then: roomBase,
                }),
              { kind: "danger-outline", small: true },
            ),
          )
        : null,
      list,
      page.data.length ? null : h("p", { class: "empty" }, "No comments."),
      h("div", { class: "pager" }, more),
    ),
  );
}

// --- users --------------------------------------------------------------------------------------

function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

// End users' avatar URLs point at hosts of their choosing: loading one tells its host when and
// from where an operator looks. So the panel shows initials, unless this operator opted in (in
// this browser). The page is then loaded as /admin?avatars=on, whose CSP allows https: images;
// the default page's CSP allows only the panel's own.
const AVATARS_PARAM = ["avatars", "on"];

function avatarsWanted() {
  if (!state.operator) return false;
  try {
    return localStorage.getItem(AVATARS_KEY + state.operator.id) === "on";
  } catch {
    return false;
  }
}

const avatarsAllowed = () => new URLSearchParams(location.search).get(AVATARS_PARAM[0]) === AVATARS_PARAM[1];

/** Load the page whose CSP matches this operator's choice; true when it is being loaded. */
function syncAvatarPage() {
  const wanted = avatarsWanted();
  if (wanted === avatarsAllowed()) return false;
  const search = wanted ? `?${AVATARS_PARAM.join("=")}` : "";
  location.replace(`${location.pathname}${search}${location.hash}`);
  return true;
}

function setAvatars(on) {
  try {
    if (on) localStorage.setItem(AVATARS_KEY + state.operator.id, "on");
    else localStorage.removeItem(AVATARS_KEY + state.operator.id);
  } catch {
    showBanner({ tone: "error", title: "This browser does not let the panel remember the choice." });
    return;
  }
  syncAvatarPage();
}

function avatarsNote() {
  const on = avatarsWanted() && avatarsAllowed();
  return h(
    "div",
    { class: "callout callout-info avatars-note", role: "note" },
    h(
      "p",
      {},
      on
        ? "Avatars are loaded from the hosts in their URLs, which see when and from where you look."
        : "Avatars are not loaded: their URLs point at hosts of each user's choosing, which would see when and from where you look. Initials are shown instead.",
    ),
    h(
      "p",
      {},
      button(on ? "Stop loading avatars" : "Load avatars", () => setAvatars(!on), { small: true }),
      h("span", { class: "muted small" }, " Remembered for your account in this browser."),
    ),
  );
}

function avatar(user) {
  const fallback = h("span", { class: "avatar avatar-initials", "aria-hidden": "true" }, initials(user.name));
  if (/^#[0-9a-f]{6}$/i.test(user.color || "")) fallback.style.backgroundColor = user.color;
  const remote = /^https:/i.test(user.avatar || "");
  if (user.avatar && (remote ? avatarsWanted() && avatarsAllowed() : /^data:image\//i.test(user.avatar))) {
    const img = h("img", { class: "avatar", src: user.avatar, alt: "", loading: "lazy", referrerpolicy: "no-referrer" });
    if (/^#[0-9a-f]{6}$/i.test(user.color || "")) img.style.borderColor = user.color;
    img.addEventListener("error", () => img.replaceWith(fallback), { once: true });
    return img;
  }
  return fallback;
}

function colorSwatch(color) {
  const swatch = h("span", { class: "swatch", "aria-hidden": "true" });
  if (/^#[0-9a-f]{6}$/i.test(color || "")) swatch.style.backgroundColor = color;
  return h("span", { class: "color" }, swatch, mono(color || "—"));
}

async function usersTab(env) {
  const list = await pagedTable({
    caption: "Users",
    empty: "No users yet. A user appears the first time your backend mints a token for them.",
    rowKey: (u) => u.id,
    load: (cursor) => api("GET", apiPath`environments/${env.id}/users`, { query: { cursor, limit: 25 } }),
    columns: [
      { label: "Avatar", className: "col-avatar", render: (u) => avatar(u) },
      { label: "Name", header: true, render: (u) => u.name },
      { label: "User ID", render: (u) => mono(u.id) },
      { label: "Color", render: (u) => colorSwatch(u.color) },
      { label: "First seen", render: (u) => time(u.firstSeenAt) },
      { label: "Last seen", render: (u) => time(u.lastSeenAt) },
    ],
  });
  return section(
    "Users",
    h("p", { class: "muted" }, "Users are created by token minting; they cannot be deleted from here."),
    avatarsNote(),
    list,
  );
}

// --- analytics ----------------------------------------------------------------------------------

function niceStep(max, ticks = 4) {
  if (max <= ticks) return 1;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return Math.max(1, Math.round(m * power));
  return Math.ceil(raw);
}

function drawBars(series, width, { unit, tone }) {
  const height = width < 480 ? 170 : 210;
  const pad = { top: 14, right: 10, bottom: 28, left: 40 };
  const innerW = Math.max(10, width - pad.left - pad.right);
  const innerH = height - pad.top - pad.bottom;
  const peak = Math.max(0, ...series.map((d) => d.value));
  const step = niceStep(peak);
  const top = Math.max(step, Math.ceil(peak / step) * step);
  const y = (v) => pad.top + innerH - (v / top) * innerH;
  const slot = innerW / Math.max(1, series.length);
  const barW = Math.max(2, Math.min(28, slot * 0.72));
  const svg = h("svg:svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    class: "chart-svg",
    "aria-hidden": "true",
    focusable: "false",
  });
  for (let v = 0; v <= top; v += step) {
    svg.append(
      h("svg:line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: v === 0 ? "axis" : "grid" }),
      h("svg:text", { x: pad.left - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, String(v)),
    );
  }
  const labelEvery = Math.max(1, Math.ceil(64 / slot));
  series.forEach((d, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    const barH = Math.max(d.value > 0 ? 2 : 0, (d.value / top) * innerH);
    const rect = h(
      "svg:rect",
      { x, y: pad.top + innerH - barH, width: barW, height: barH, rx: Math.min(3, barW / 3), class: `bar bar-${tone}`, "data-date": d.date, "data-value": d.value },
      h("svg:title", {}, `${dayLabel(d.date)}: ${d.value} ${unit}`),
    );
    svg.append(rect);
    const fromEnd = series.length - 1 - i;
    if (fromEnd % labelEvery === 0) {
      // The newest day is always labelled, flush with the chart's right edge (never clipped).
      const last = fromEnd === 0;
      svg.append(
        h(
          "svg:text",
          { x: last ? x + barW : x + barW / 2, y: height - 8, class: "tick", "text-anchor": last ? "end" : "middle" },
          dayLabel(d.date),
        ),
      );
    }
  });
  if (peak === 0) {
    svg.append(h("svg:text", { x: pad.left + innerW / 2, y: pad.top + innerH / 2, class: "chart-empty", "text-anchor": "middle" }, `No ${unit} in this period`));
  }
  return svg;
}

function barChart({ title, series, unit, tone, peakOnly = false }) {
  // A peak (most at once) does not add up over days: its "total" is the period's highest.
  const total = peakOnly ? Math.max(0, ...series.map((d) => d.value)) : series.reduce((sum, d) => sum + d.value, 0);
  const totalLabel = (n) => (peakOnly ? `${n.toLocaleString()} at most` : `${n.toLocaleString()} total`);
  const peak = series.reduce((best, d) => (d.value > best.value ? d : best), { value: -1, date: "" });
  const summary =
    series.length === 0
      ? "No data."
      : `${peakOnly ? `At most ${total}` : total} ${unit} over ${series.length === 1 ? "1 day" : `${series.length} days`}, ${dayLabel(series[0].date)} to ${dayLabel(series[series.length - 1].date)}` +
        (peak.value > 0 ? `; the busiest day was ${dayLabel(peak.date)} with ${peak.value}.` : ".");
  const captionId = uid("chart");
  const canvas = h("div", { class: "chart-canvas", role: "img", "aria-labelledby": captionId, "aria-describedby": `${captionId}-d` });
  let drawnWidth = 0;
  const draw = () => {
    const width = Math.floor(canvas.clientWidth);
    if (!width || width === drawnWidth) return;
    drawnWidth = width;
    canvas.replaceChildren(drawBars(series, width, { unit, tone }));
  };
  new ResizeObserver(draw).observe(canvas);
  const table = h(
    "table",
    { class: "table table-compact" },
    h("caption", { class: "sr-only" }, `${title}, day by day`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), h("th", { scope: "col", class: "num" }, peakOnly ? "At most" : "Count"))),
    h(
      "tbody",
      {},
      series.map((d) => h("tr", {}, h("th", { scope: "row" }, dayLabel(d.date)), h("td", { class: "num" }, d.value.toLocaleString()))),
    ),
  );
  return h(
    "figure",
    { class: "card chart", "data-chart": tone },
    h("figcaption", { id: captionId }, h("span", { class: "chart-title" }, title), h("span", { class: "chart-total" }, totalLabel(total))),
    h("div", { class: "chart-body" }, h("div", { class: "chart-main" }, canvas, h("p", { class: "muted small", id: `${captionId}-d` }, summary)), h("div", { class: "chart-table", tabindex: "0", role: "region", "aria-label": `${title}, day by day` }, table)),
  );
}

const PERIODS = [1, 7, 30, 90];
const analyticsPeriod = { days: 30 }; // kept while the panel is open

const usd = (n) => (n >= 0.01 || n === 0 ? `$${n.toFixed(2)}` : `$${n.toPrecision(2)}`);
// Prices of a millionth of a dollar read best per million (API Gateway, Lambda, DynamoDB).
const unitPrice = (p) => (p > 0 && p < 0.001 ? `$${Number((p * 1e6).toPrecision(4))} per million` : `$${p}`);
const quantity = (n) => (Number.isInteger(n) ? n.toLocaleString() : n.toLocaleString(undefined, { maximumFractionDigits: 3 }));

/** Sum each day's {name: count} map over the period: [[name, total], ...], largest first. */
function summed(daily, field) {
  const totals = new Map();
  for (const d of daily) for (const [name, n] of Object.entries(d[field] || {})) totals.set(name, (totals.get(name) || 0) + n);
  return [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function countsTable(caption, label, rows, empty) {
  return h(
    "div",
    { class: "card table-card" },
    h("h3", {}, caption),
    dataTable({
      caption,
      empty,
      rows,
      columns: [
        { label, header: true, render: ([name]) => mono(name) },
        { label: "Count", className: "num", render: ([, n]) => n.toLocaleString() },
      ],
    }).node,
  );
}

function periodPicker() {
  return h(
    "div",
    { class: "segmented", role: "group", "aria-label": "Period" },
    PERIODS.map((days) =>
      h(
        "button",
        {
          type: "button",
          class: "segment",
          "aria-pressed": String(days === analyticsPeriod.days),
          onclick: () => {
            analyticsPeriod.days = days;
            render({ focus: false });
          },
        },
        days === 1 ? "Today" : `${days} days`,
      ),
    ),
  );
}

function costCard(cost) {
  return h(
    "div",
    { class: "card cost", "data-cost": "" },
    h(
      "div",
      { class: "cost-head" },
      h("h3", {}, "Estimated AWS cost"),
      h("p", { class: "cost-figure" }, h("span", { "data-cost-total": "" }, usd(cost.total)), h("span", { class: "muted" }, ` for ${cost.days === 1 ? "today" : `the last ${cost.days} days`} · ${usd(cost.monthly)} a month at this rate`)),
      h("p", { class: "muted small" }, `What this environment used, metered as AWS meters it, at the list prices of ${cost.region} (set PULSE_PRICES to use yours). A connection's minutes count when it ends. Free tiers, data transfer and logs are not included.`),
    ),
    dataTable({
      caption: "Cost by service",
      rows: cost.lines,
      rowKey: (l) => l.name,
      columns: [
        { label: "Service", header: true, render: (l) => l.name },
        { label: "Used", className: "num", render: (l) => `${quantity(l.quantity)} ${l.unit}` },
        { label: "Unit price", className: "num", render: (l) => unitPrice(l.unitPrice) },
        { label: "Cost", className: "num", render: (l) => usd(l.cost) },
      ],
    }).node,
  );
}

async function analyticsTab(env) {
  const days = analyticsPeriod.days;
  const [data, cost] = await Promise.all([
    api("GET", apiPath`environments/${env.id}/analytics`, { query: { days } }),
    api("GET", apiPath`environments/${env.id}/cost`, { query: { days } }),
  ]);
  const stat = (label, value, key) =>
    h("div", { class: "stat card", "data-stat": key }, h("dt", {}, label), h("dd", {}, value.toLocaleString()));
  const daily = data.daily || [];
  const series = (field) => daily.map((d) => ({ date: d.date, value: d[field] }));
  const sumOf = (field) => daily.map((d) => ({ date: d.date, value: Object.values(d[field] || {}).reduce((a, b) => a + b, 0) }));
  const ranked = (rooms) => rooms.map((r) => [r.roomId, r.count]);
  return section(
    "Analytics",
    h(
      "div",
      { class: "toolbar toolbar-center" },
      periodPicker(),
      h("p", { class: "muted" }, "Counts are exact and update with every write (times in UTC)."),
      h("div", { class: "actions" }, button("Refresh", () => render({ focus: false }), { kind: "secondary" })),
    ),
    h(
      "dl",
      { class: "stats" },
      stat("Rooms", data.rooms, "rooms"),
      stat("Threads", data.threads, "threads"),
      stat("Comments", data.comments, "comments"),
      stat("Users", data.users, "users"),
      stat("Active today", data.activeUsers.day, "dau"),
      stat("Active this week", data.activeUsers.week, "wau"),
      stat("Active this month", data.activeUsers.month, "mau"),
      stat("Cost a month", usd(cost.monthly), "cost"),
    ),
    h(
      "div",
      { class: "charts" },
      barChart({ title: "Active users", unit: "active users", tone: "users", series: series("activeUsers") }),
      barChart({ title: "Connections opened", unit: "connections", tone: "connections", series: series("connections") }),
      barChart({ title: "Peak concurrent connections", unit: "connections at once", tone: "peak", series: series("peakConnections"), peakOnly: true }),
      barChart({ title: "Comments", unit: "comments", tone: "comments", series: series("comments") }),
      barChart({ title: "Messages in", unit: "messages", tone: "messages", series: series("messagesIn") }),
      barChart({ title: "Pushes out", unit: "pushes", tone: "pushes", series: series("pushesOut") }),
      barChart({ title: "Connections refused", unit: "refusals", tone: "refused", series: sumOf("refused") }),
      barChart({ title: "Rate-limited requests (429)", unit: "429s", tone: "limited", series: sumOf("rateLimited") }),
      barChart({ title: "Webhook deliveries", unit: "deliveries", tone: "deliveries", series: series("webhookDeliveries") }),
      barChart({ title: "Webhook failures", unit: "failed attempts", tone: "failures", series: series("webhookFailures") }),
    ),
    h(
      "div",
      { class: "tables" },
      countsTable("Busiest rooms by connections", "Room", ranked(data.busiestByConnections), "No connections in this period."),
      countsTable("Busiest rooms by comments", "Room", ranked(data.busiestByComments), "No comments in this period."),
      countsTable("Refused connections by reason", "Reason", summed(daily, "refused"), "No connection was refused."),
      countsTable("429s by key", "Key", summed(daily, "rateLimited"), "No request was rate-limited."),
    ),
    costCard(cost),
  );
}

// --- audit --------------------------------------------------------------------------------------

function details(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h("span", { class: "muted" }, "—");
  return h(
    "span",
    { class: "metadata" },
    entries.map(([k, v]) => {
      const text = Array.isArray(v) ? v.join(", ") : v && typeof v === "object" ? JSON.stringify(v) : v;
      return h("span", { class: "chip" }, `${k}: ${text}`);
    }),
  );
}

function auditTable(path, caption) {
  return pagedTable({
    caption,
    empty: "No events yet.",
    rowKey: (e) => e.id,
    load: (cursor) => api("GET", path, { query: { cursor, limit: 25 } }),
    columns: [
      { label: "When", render: (e) => time(e.createdAt) },
      { label: "Action", header: true, render: (e) => mono(e.action) },
      { label: "By", render: (e) => e.actor.email },
      { label: "Target", render: (e) => [e.target.type, " ", mono(e.target.id)] },
      { label: "Details", render: (e) => details(e.details) },
    ],
  });
}

async function auditTab(env) {
  return section("Audit log", h("p", { class: "muted" }, "Every change to this environment, newest first."), await auditTable(apiPath`environments/${env.id}/audit`, "Audit log"));
}

// --- operators (owner) --------------------------------------------------------------------------

function ownerOnly() {
  return h(
    "div",
    {},
    pageHeader("Operators"),
    h(
      "div",
      { class: "callout callout-warn", role: "note" },
      h("p", { class: "callout-title" }, "Only owners can manage operators."),
      h("p", {}, `You are signed in as ${state.operator.role}. Ask an owner if you need access.`),
    ),
  );
}

async function operatorsView(sub) {
  if (!can("owner")) return ownerOnly();
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": "Operator sections" },
    h(
      "ul",
      {},
      h("li", {}, h("a", { href: "#/operators", "aria-current": sub !== "audit" ? "page" : null }, "Operators")),
      h("li", {}, h("a", { href: "#/operators/audit", "aria-current": sub === "audit" ? "page" : null }, "Audit log")),
    ),
  );
  const head = pageHeader("Operators", {
    actions: [button("Add operator", createOperator, { kind: "primary" })],
    meta: h("p", { class: "muted" }, "Viewers can read everything; admins also manage environments and keys; owners also manage operators."),
  });
  if (sub === "audit") {
    return h("div", {}, head, tabs, section("Operators audit log", await auditTable(apiPath`audit`, "Operators audit log")));
  }
  const list = await pagedTable({
    caption: "Operators",
    rowKey: (o) => o.id,
    load: (cursor) => api("GET", apiPath`operators`, { query: { cursor, limit: 50 } }),
    columns: [
      { label: "Email", header: true, render: (o) => [o.email, o.id === state.operator.id ? h("span", { class: "muted small" }, " (you)") : null] },
      { label: "Role", render: (o) => roleControl(o) },
      { label: "Created", render: (o) => time(o.createdAt) },
      { label: "Last login", render: (o) => time(o.lastLoginAt) },
      {
        label: "Actions",
        className: "col-actions",
        render: (o) =>
          button(
            "Delete",
            async () => {
              const ok = await confirmDialog({
                title: `Delete operator ${o.email}?`,
                intro: "The account is deleted and its sessions end at once.",
                consequences: [`${o.email} can no longer log in; any open session of theirs gets 401 on its next request.`],
                confirmLabel: "Delete operator",
              });
              if (!ok) return;
              try {
                await api("DELETE", apiPath`operators/${o.id}`);
                flash(`Operator ${o.email} deleted.`);
                if (o.id === state.operator.id) {
                  clearSession();
                  location.hash = "#/login";
                }
                render();
              } catch (err) {
                reportError(err);
              }
            },
            { kind: "danger-outline", small: true, "aria-label": `Delete operator ${o.email}` },
          ),
      },
    ],
  });
  return h("div", {}, head, tabs, section("Accounts", list));
}

function roleControl(operator) {
  const id = uid("role");
  const select = h(
    "select",
    { id, "aria-label": `Role of ${operator.email}`, "data-operator": operator.email },
    ROLES.map((r) => h("option", { value: r }, r)),
  );
  select.value = operator.role;
  select.addEventListener("change", async () => {
    const role = select.value;
    select.disabled = true;
    try {
      const updated = await api("PATCH", apiPath`operators/${operator.id}`, { body: { role } });
      operator.role = updated.role;
      notify(`${operator.email} is now ${updated.role}.`);
      if (operator.id === state.operator.id) {
        saveSession(state.token, { ...state.operator, role: updated.role });
        render();
      }
    } catch (err) {
      select.value = operator.role;
      reportError(err);
    } finally {
      if (select.isConnected) select.disabled = false;
    }
  });
  return select;
}

function createOperator() {
  formDialog({
    title: "Add operator",
    submitLabel: "Add operator",
    fields: [
      { name: "email", label: "Email", type: "email", required: true, maxlength: 254, autocomplete: "off" },
      {
        name: "password",
        label: "Initial password",
        type: "password",
        required: true,
        minlength: 12,
        maxlength: 256,
        autocomplete: "new-password",
        hint: "12 to 256 characters. Share it with them over a safe channel.",
      },
      {
        name: "role",
        label: "Role",
        type: "select",
        value: "viewer",
        options: [
          ["viewer", "Viewer: read only"],
          ["admin", "Admin: manages environments and keys"],
          ["owner", "Owner: also manages operators"],
        ],
      },
    ],
    onSubmit: async (values, dialog) => {
      const created = await api("POST", apiPath`operators`, { body: { email: values.email.trim(), password: values.password, role: values.role } });
      dialog.close("done");
      flash(`Operator ${created.email} added as ${created.role}.`);
      render();
    },
  });
}

// --- shell and router ---------------------------------------------------------------------------

function updateShell(parts) {
  const signedIn = Boolean(state.token && state.operator);
  $("#mainnav").hidden = !signedIn;
  $("#account").hidden = !signedIn;
  if (!signedIn) return;
  $("#account-email").textContent = state.operator.email;
  const role = $("#account-role");
  role.textContent = state.operator.role;
  role.className = `badge badge-role-${state.operator.role}`;
  role.title = state.operator.role === "viewer" ? "Read-only access" : "";
  for (const item of document.querySelectorAll("[data-min-role]")) item.hidden = !can(item.dataset.minRole);
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === (parts[0] || "environments")) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path
    .split("/")
    .filter(Boolean)
    .map(idOf);
  return { parts, params: new URLSearchParams(query) };
}

async function route(parts, params) {
  const [first, second, third, ...rest] = parts;
  if (first === "operators") return operatorsView(second);
  if (first === "environments" && second) return environmentView(second, third || "keys", rest, params);
  return environmentsView(params);
}

async function render({ focus = true, keepBanners = false } = {}) {
  const seq = ++state.renderSeq;
  const main = $("#main");
  // A keyboard user switching tabs stays on the tab bar; other navigation lands on the new h1.
  const active = document.activeElement;
  const tabHref = active && active.closest && active.closest(".tabs") ? active.getAttribute("href") : null;
  if (!keepBanners) clearBanners();
  if (syncAvatarPage()) return; // the page is being replaced by the one this operator wants
  const { parts, params } = parseHash();
  if (!state.token) {
    updateShell(parts);
    const view = loginView();
    main.replaceChildren(view);
    showFlash();
    view.focusTarget.focus();
    document.title = "Log in · Pulse Admin";
    return;
  }
  updateShell(parts);
  main.setAttribute("aria-busy", "true");
  let view;
  try {
    view = await route(parts, params);
  } catch (err) {
    if (err && err.handled) return;
    view = h(
      "div",
      {},
      pageHeader("Could not load this page"),
      h("div", { class: "inline-error" }, bannerNode(errorSpec(err), false)),
      h("p", {}, h("a", { href: "#/environments" }, "Back to environments")),
    );
  }
  if (seq !== state.renderSeq) return; // a newer navigation won
  main.removeAttribute("aria-busy");
  main.replaceChildren(view);
  showFlash();
  const title = main.querySelector("h1");
  document.title = `${title ? title.textContent : "Pulse"} · Pulse Admin`;
  const tab = tabHref ? [...main.querySelectorAll(".tabs a")].find((a) => a.getAttribute("href") === tabHref) : null;
  if (focus && tab) tab.focus();
  else if (focus && title) title.focus({ preventScroll: false });
}

function showFlash() {
  if (state.flash) {
    notify(state.flash);
    state.flash = null;
  }
}

async function boot() {
  loadSession();
  $("#logout").addEventListener("click", logout);
  $("#skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    $("#main").focus();
  });
  window.addEventListener("hashchange", () => render());
  if (state.token) {
    try {
      const me = await api("GET", apiPath`me`);
      saveSession(state.token, me.operator);
    } catch (err) {
      if (!err.handled) {
        reportError(err);
        return;
      }
    }
  }
  await render({ focus: false, keepBanners: true });
}

boot();
