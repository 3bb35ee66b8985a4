/** The widget's composers: a labelled textarea with `@` suggestions, and files to attach. */

import type { Attachment, PulseError, UserInfo } from "../client/types.js";
import { avatar, el, formatSize, nextId } from "./dom.js";

const BODY_MAX = 10000;
// `<@userId>` in a body (chalicelib/mentions.py).
export const MENTION = /<@([^\s<>]{1,128})>/g;
// The word being typed after `@` (the server matches ids and words of names by prefix).
const MENTION_TYPED = /(^|\s)@([^\s@<>]{1,64})$/;
const SEARCH_DEBOUNCE_MS = 200; // users.search while typing: one per pause, not per key

/** What a composer needs of the widget around it. */
export interface ComposerHost {
  connected(): boolean;
  searchUsers(q: string): Promise<UserInfo[]>;
  user(userId: string): UserInfo | null;
  upload(file: Blob, name: string, onProgress: (loaded: number) => void, signal: AbortSignal): Promise<Attachment>;
}

export interface ComposerOptions {
  label: string;
  placeholder?: string;
  submit: string;
  rows?: number;
  hint?: boolean;
  className: string;
  attach?: boolean;
  value?: string;
  keep?: boolean;
  extra?: HTMLElement;
  onCancel?: () => void;
  /** Send `body` (with the ids of the files attached); resolves once sent, rejects with why. */
  onSubmit: (body: string, attachmentIds: string[]) => Promise<unknown>;
}

export interface Composer {
  form: HTMLFormElement;
  textarea: HTMLTextAreaElement;
  sync: () => void;
}

/** A labelled textarea + submit button, with `@` suggestions, and with `attach` an attach
 * button (its uploads' ids go with the body). */
export function composer(host: ComposerHost, opts: ComposerOptions): Composer {
  const id = nextId("pulse-text");
  const errorId = nextId("pulse-error");
  const textarea = el("textarea", {
    id,
    rows: opts.rows ?? 2,
    maxlength: BODY_MAX,
    placeholder: opts.placeholder,
    "aria-describedby": errorId,
  });
  let busy = false;
  const submit = el("button", { type: "submit", className: "primary", text: opts.submit });
  let files: AttachBox | null = null;
  const sync = (): void => {
    const uploading = !!files && files.busy();
    submit.disabled = busy || uploading || !textarea.value.trim() || !host.connected();
    if (files) files.button.disabled = !host.connected();
  };
  const mentions = mentionBox(host, textarea);
  files = opts.attach ? attachBox(host, sync) : null;
  if (opts.value) textarea.value = mentions.toDisplay(opts.value);
  const error = el("p", { className: "form-error", id: errorId, role: "alert" });
  const row = el("div", { className: "row" }, [
    opts.hint
      ? el("span", { className: "hint", "aria-hidden": "true", text: "Ctrl+Enter to send" })
      : el("span"),
    el("span", {}, [opts.extra, files?.button, submit]),
  ]);
  const form = el("form", { className: opts.className, novalidate: true }, [
    el("label", { for: id, className: "sr-only", text: opts.label }),
    textarea,
    mentions.list,
    files?.list,
    files?.input,
    error,
    row,
  ]);
  if (opts.extra) opts.extra.style.marginRight = "6px";
  if (files) {
    files.button.style.marginRight = "6px";
    files.acceptDrops(form, textarea);
  }
  textarea.addEventListener("input", sync);
  textarea.addEventListener("keydown", (e) => {
    if (mentions.keydown(e)) return;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    } else if (e.key === "Escape" && opts.onCancel) {
      e.preventDefault();
      opts.onCancel();
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = mentions.toBody(textarea.value);
    if (busy || !body.trim() || files?.busy()) return;
    busy = true;
    error.textContent = "";
    sync();
    const finish = (failure: PulseError | null): void => {
      busy = false;
      if (failure) {
        error.textContent = failure.message || "Something went wrong.";
      } else if (!opts.keep) {
        textarea.value = "";
        mentions.reset();
        files?.clear();
      }
      sync();
    };
    opts.onSubmit(body, files ? files.ids() : []).then(
      () => finish(null),
      (failure: PulseError) => finish(failure),
    );
  });
  sync();
  return { form, textarea, sync };
}

interface MentionBox {
  list: HTMLUListElement;
  keydown: (e: KeyboardEvent) => boolean;
  toBody: (text: string) => string;
  toDisplay: (body: string) => string;
  reset: () => void;
}

/** The composer's `@` suggestions: typing `@` and letters asks the server (debounced) and
 * lists who can read the room; picking one (click, or arrows and Enter) puts `@Name` in the
 * text, sent as `<@userId>`. A listbox the textarea points at (aria-activedescendant), as a
 * combobox does. */
function mentionBox(host: ComposerHost, textarea: HTMLTextAreaElement): MentionBox {
  const listId = nextId("pulse-mentions");
  const list = el("ul", {
    className: "mention-list",
    role: "listbox",
    id: listId,
    "aria-label": "People to mention",
    hidden: true,
  });
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", listId);
  textarea.setAttribute("aria-expanded", "false");
  let typed: { q: string; start: number } | null = null; // the `@word` before the caret
  let options: { user: UserInfo; node: HTMLLIElement }[] = [];
  let active = -1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const picks = new Map<string, string>(); // name -> userId: `@name` stands for `<@userId>`

  const close = (): void => {
    clearTimeout(timer);
    typed = null;
    options = [];
    active = -1;
    list.replaceChildren();
    list.hidden = true;
    textarea.setAttribute("aria-expanded", "false");
    textarea.removeAttribute("aria-activedescendant");
  };
  const setActive = (index: number): void => {
    active = index;
    options.forEach((option, i) => option.node.setAttribute("aria-selected", String(i === index)));
    const chosen = options[index];
    if (chosen) {
      textarea.setAttribute("aria-activedescendant", chosen.node.id);
      chosen.node.scrollIntoView({ block: "nearest" });
    } else {
      textarea.removeAttribute("aria-activedescendant");
    }
  };
  const pick = (index: number): void => {
    const user = options[index]?.user;
    if (!user || !typed) return;
    const name = user.name || user.userId;
    const end = typed.start + 1 + typed.q.length;
    const text = textarea.value;
    const inserted = "@" + name + " ";
    textarea.value = text.slice(0, typed.start) + inserted + text.slice(end);
    const caret = typed.start + inserted.length;
    textarea.setSelectionRange(caret, caret);
    picks.set(name, user.userId);
    close();
    textarea.dispatchEvent(new Event("input"));
  };
  const show = (users: UserInfo[]): void => {
    options = users.map((user, i) => {
      const node = el("li", { role: "option", id: `${listId}-${i}`, "aria-selected": "false" }, [
        avatar(user, true),
        el("span", { className: "name", text: user.name || user.userId }),
        el("span", { className: "uid", text: user.userId }),
      ]);
      node.addEventListener("mousedown", (e) => e.preventDefault()); // keep focus and caret
      node.addEventListener("click", () => pick(i));
      return { user, node };
    });
    list.replaceChildren(...options.map((o) => o.node));
    list.hidden = !options.length;
    textarea.setAttribute("aria-expanded", String(!!options.length));
    setActive(options.length ? 0 : -1);
  };
  const search = (): void => {
    const q = typed?.q;
    if (!q) return;
    host.searchUsers(q).then(
      (users) => {
        if (typed && typed.q === q) show(users);
      },
      () => undefined, // the error itself went out as pulse:error
    );
  };
  textarea.addEventListener("input", () => {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const found = MENTION_TYPED.exec(before);
    if (!found) {
      close();
      return;
    }
    clearTimeout(timer);
    const q = found[2]!;
    typed = { q, start: before.length - q.length - 1 };
    timer = setTimeout(search, SEARCH_DEBOUNCE_MS);
  });
  textarea.addEventListener("blur", close);

  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return {
    list,
    /** Arrow keys, Enter, Tab and Escape while the list is open; true: handled. */
    keydown(e) {
      if (list.hidden || !options.length) return false;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        const step = e.key === "ArrowDown" ? 1 : -1;
        setActive((active + step + options.length) % options.length);
      } else if ((e.key === "Enter" && !e.ctrlKey && !e.metaKey) || e.key === "Tab") {
        pick(active < 0 ? 0 : active);
      } else if (e.key === "Escape") {
        close();
        e.stopPropagation(); // closes the list, not the editor around it
      } else {
        return false;
      }
      e.preventDefault();
      return true;
    },
    /** The text as sent: each picked `@Name` becomes `<@userId>` (longest names first). */
    toBody(text) {
      const names = Array.from(picks.keys()).sort((a, b) => b.length - a.length);
      if (!names.length) return text;
      const pattern = new RegExp("@(" + names.map(escape).join("|") + ")", "g");
      return text.replace(pattern, (_all, name: string) => "<@" + picks.get(name)! + ">");
    },
    /** A stored body as the composer shows it: mentions of known users as `@Name`. */
    toDisplay(body) {
      return String(body).replace(MENTION, (all, userId: string) => {
        const user = host.user(userId);
        if (!user?.name || (picks.has(user.name) && picks.get(user.name) !== userId)) return all;
        picks.set(user.name, userId);
        return "@" + user.name;
      });
    },
    reset() {
      picks.clear();
      close();
    },
  };
}

interface Upload {
  file: File;
  name: string;
  type: string;
  size: number;
  state: "asking" | "uploading" | "done" | "failed";
  loaded: number;
  id: string | null;
  error: string;
  abort: AbortController;
  removed: boolean;
  node: HTMLLIElement | null;
}

interface AttachBox {
  input: HTMLInputElement;
  button: HTMLButtonElement;
  list: HTMLUListElement;
  busy: () => boolean;
  ids: () => string[];
  clear: () => void;
  acceptDrops: (form: HTMLFormElement, textarea: HTMLTextAreaElement) => void;
}

/** The composer's files: each is uploaded by the room (announced, then sent straight to the
 * file store), shown as a chip with its progress, its refusal, and a remove button.
 * `onChange` runs when an upload starts or ends (the submit waits for them). */
function attachBox(host: ComposerHost, onChange: () => void): AttachBox {
  let uploads: Upload[] = [];
  const input = el("input", { type: "file", multiple: true, hidden: true, tabindex: "-1" });
  const button = el("button", { type: "button", text: "Attach", "aria-label": "Attach files" });
  const list = el("ul", { className: "uploads", "aria-label": "Files to attach", hidden: true });
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    add(input.files);
    input.value = "";
  });

  const render = (): void => {
    list.replaceChildren(...uploads.map((u) => u.node!));
    list.hidden = !uploads.length;
    onChange();
  };
  const show = (u: Upload): void => {
    const remove = el("button", { type: "button", "aria-label": "Remove " + u.name, text: "\u00D7" });
    remove.addEventListener("click", () => {
      u.abort.abort();
      u.removed = true;
      uploads = uploads.filter((x) => x !== u);
      render();
    });
    const status = u.state === "failed" ? u.error : u.state === "done" ? formatSize(u.size) : "";
    const progress =
      u.state === "uploading"
        ? el("progress", { max: String(u.size), value: String(u.loaded), "aria-label": "Uploading " + u.name })
        : null;
    const node = el("li", { className: "upload", "data-state": u.state }, [
      el("span", { className: "name", text: u.name }),
      progress,
      status ? el("span", { className: "state", text: status }) : null,
      remove,
    ]);
    u.node?.replaceWith(node);
    u.node = node;
  };
  const update = (u: Upload, changes: Partial<Upload>): void => {
    if (u.removed) return;
    Object.assign(u, changes);
    show(u);
    onChange();
  };
  const start = (u: Upload): void => {
    const progress = (loaded: number): void => update(u, { state: "uploading", loaded });
    host.upload(u.file, u.name, progress, u.abort.signal).then(
      (attachment) => update(u, { state: "done", id: attachment.id }),
      (error: PulseError) => update(u, { state: "failed", error: uploadRefusal(u, error) }),
    );
  };
  const add = (fileList: FileList | null): void => {
    for (const file of Array.from(fileList ?? [])) {
      const u: Upload = {
        file,
        name: file.name || "file",
        type: file.type || "application/octet-stream",
        size: file.size,
        state: "asking",
        loaded: 0,
        id: null,
        error: "",
        abort: new AbortController(),
        removed: false,
        node: null,
      };
      uploads.push(u);
      show(u);
      start(u);
    }
    render();
  };
  return {
    input,
    button,
    list,
    busy: () => uploads.some((u) => u.state === "asking" || u.state === "uploading"),
    ids: () => uploads.filter((u) => u.state === "done" && u.id).map((u) => u.id!),
    clear() {
      uploads = [];
      render();
    },
    /** Files dropped on the form or pasted into the text are attached too. */
    acceptDrops(form, textarea) {
      form.addEventListener("dragover", (e) => {
        if (!e.dataTransfer || !Array.from(e.dataTransfer.types).includes("Files")) return;
        e.preventDefault();
        form.classList.add("dragging");
      });
      form.addEventListener("dragleave", () => form.classList.remove("dragging"));
      form.addEventListener("drop", (e) => {
        form.classList.remove("dragging");
        if (!e.dataTransfer?.files.length) return;
        e.preventDefault();
        add(e.dataTransfer.files);
      });
      textarea.addEventListener("paste", (e) => {
        const pasted = e.clipboardData?.files;
        if (!pasted?.length) return;
        e.preventDefault();
        add(pasted);
      });
    },
  };
}

/** Why a file was not attached, short: the list of accepted types is long. */
function uploadRefusal(u: Upload, error: PulseError): string {
  if (error.field === "mimeType") {
    return "Not attached: files of type " + u.type + " are not accepted here (mimeType).";
  }
  if (error.code === "UPLOAD_FAILED") return error.message; // the file store's own words
  return "Not attached: " + (error.message || error.code);
}
