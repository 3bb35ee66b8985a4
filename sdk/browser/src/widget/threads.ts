/** The widget's threads: one view per thread and per comment, with replies, edits, deletes,
 * resolve, reactions, files, unread badges and the subscribe toggle, kept in place as the
 * room's threads change (nodes are reused, so focus and open editors survive). */

import type { AccessLevel, Attachment, Comment, Thread } from "../client/types.js";
import { composer, MENTION } from "./composer.js";
import type { Composer, ComposerHost } from "./composer.js";
import { avatar, el, formatSize, formatTime, reconcile, safeImageUrl } from "./dom.js";

const REACTION_PICKS = ["\uD83D\uDC4D", "\u2764\uFE0F", "\uD83D\uDE02", "\uD83C\uDF89",
  "\uD83D\uDE2E", "\uD83D\uDE22", "\uD83D\uDC40", "\uD83D\uDE80"]; // 👍 ❤️ 😂 🎉 😮 😢 👀 🚀

/** What the thread views need of the widget: its state, and the room's actions. */
export interface ThreadsHost extends ComposerHost {
  can(needed: AccessLevel): boolean;
  me(): string | null;
  userName(userId: string): string;
  reacted(commentId: string, emoji: string): boolean;
  loadingComments(threadId: string): boolean;
  thread(threadId: string): Thread | null;
  createThread(body: string, attachmentIds: string[]): Promise<unknown>;
  resolve(threadId: string, resolved: boolean): Promise<unknown>;
  reply(threadId: string, body: string, attachmentIds: string[]): Promise<unknown>;
  edit(threadId: string, commentId: string, body: string): Promise<unknown>;
  remove(threadId: string, commentId: string): Promise<unknown>;
  react(threadId: string, commentId: string, emoji: string, add: boolean): Promise<unknown>;
  markRead(threadId: string): void;
  setSubscribed(threadId: string, subscribed: boolean): void;
  loadMore(threadId: string): void;
}

interface CommentView {
  item: HTMLLIElement;
  comment: Comment | null;
  avatarSlot: HTMLSpanElement;
  author: HTMLSpanElement;
  authorName: string | null;
  time: HTMLTimeElement;
  edited: HTMLSpanElement;
  body: HTMLParagraphElement;
  bodyKey: string | null;
  files: HTMLUListElement;
  filesKey: string | null;
  reactions: ReactionBar;
  actions: HTMLDivElement;
  editBtn: HTMLButtonElement;
  deleteBtn: HTMLButtonElement;
  editing: Composer | null;
  confirm: HTMLDivElement | null;
}

export interface ThreadView {
  node: HTMLLIElement;
  head: HTMLSpanElement;
  unread: HTMLSpanElement;
  subscribeBtn: HTMLButtonElement;
  resolveBtn: HTMLButtonElement;
  list: HTMLOListElement;
  more: HTMLParagraphElement;
  moreText: HTMLSpanElement;
  moreBtn: HTMLButtonElement;
  reply: Composer;
  comments: Map<string, CommentView>;
}

export function threadView(host: ThreadsHost, threadId: string): ThreadView {
  const node = el("li", { className: "thread", "data-thread-id": threadId });
  const resolveBtn = el("button", { type: "button", className: "link" });
  resolveBtn.addEventListener("click", () => {
    const thread = host.thread(threadId);
    if (!thread) return;
    resolveBtn.disabled = true;
    const enable = (): void => {
      resolveBtn.disabled = false; // an error itself went out as pulse:error
    };
    host.resolve(threadId, !thread.resolved).then(enable, enable);
  });
  const stateEl = el("span", { className: "thread-state" });
  const unread = el("span", { className: "unread", hidden: true });
  const subscribeBtn = el("button", { type: "button", className: "link subscribe", hidden: true });
  subscribeBtn.addEventListener("click", () => {
    const thread = host.thread(threadId);
    if (thread && typeof thread.subscribed === "boolean") host.setSubscribed(threadId, !thread.subscribed);
  });
  const open = (): void => host.markRead(threadId);
  node.addEventListener("pointerdown", open);
  node.addEventListener("focusin", open);
  const head = el("div", { className: "thread-head" }, [
    el("span", {}, [stateEl, unread]),
    el("span", { className: "thread-tools" }, [subscribeBtn, resolveBtn]),
  ]);
  const list = el("ol", { className: "comments" });
  const moreText = el("span");
  const moreBtn = el("button", { type: "button", className: "link", text: "Show more" });
  moreBtn.addEventListener("click", () => host.loadMore(threadId));
  const more = el("p", { className: "more-comments" }, [moreText, moreBtn]);
  const reply = composer(host, {
    label: "Reply",
    placeholder: "Reply…",
    submit: "Reply",
    rows: 1,
    className: "reply",
    attach: true,
    onSubmit: (body, attachmentIds) => host.reply(threadId, body, attachmentIds),
  });
  node.append(head, list, more, reply.form);
  return {
    node,
    head: stateEl,
    unread,
    subscribeBtn,
    resolveBtn,
    list,
    more,
    moreText,
    moreBtn,
    reply,
    comments: new Map(),
  };
}

export function updateThread(host: ThreadsHost, view: ThreadView, t: Thread): void {
  const { node } = view;
  node.classList.toggle("resolved", !!t.resolved);
  node.setAttribute("data-resolved", t.resolved ? "true" : "false");
  const first = t.comments[0];
  const starter = first ? host.userName(first.userId) : "";
  node.setAttribute("aria-label", "Thread" + (starter ? " by " + starter : ""));
  const count = t.commentCount || t.comments.length;
  view.head.replaceChildren(
    t.resolved
      ? el("span", { className: "badge", text: "Resolved" })
      : document.createTextNode(count + (count === 1 ? " comment" : " comments")),
  );
  updateMarks(host, view, t);
  const canComment = host.can("comment");
  view.resolveBtn.hidden = !canComment;
  view.reply.form.hidden = !canComment;
  view.resolveBtn.textContent = t.resolved ? "Reopen" : "Resolve";
  view.resolveBtn.setAttribute("aria-label", (t.resolved ? "Reopen" : "Resolve") + " thread");
  const seen = new Set<string>();
  const items = t.comments.map((c) => {
    seen.add(c.id);
    let item = view.comments.get(c.id);
    if (!item) {
      item = commentView(host, t.id, c.id);
      view.comments.set(c.id, item);
    }
    updateComment(host, item, c);
    return item.item;
  });
  view.comments.forEach((_item, id) => {
    if (!seen.has(id)) view.comments.delete(id);
  });
  reconcile(view.list, items);
  const hidden = (t.commentCount || 0) - t.comments.length;
  const loading = host.loadingComments(t.id);
  view.moreText.textContent =
    hidden > 0 ? (loading ? "Loading comments…" : hidden + " more comments not shown") : "";
  view.moreBtn.hidden = !(hidden > 0 && t.commentsNextCursor && !loading);
  view.more.hidden = hidden <= 0;
  view.reply.sync();
}

/** The thread's unread badge and subscribe toggle (shown where the server tells them). */
function updateMarks(host: ThreadsHost, view: ThreadView, t: Thread): void {
  const unread = typeof t.unreadCount === "number" ? t.unreadCount : 0;
  view.unread.hidden = unread <= 0;
  view.unread.textContent = unread + " new";
  view.unread.setAttribute("aria-label", unread + (unread === 1 ? " unread comment" : " unread comments"));
  view.node.classList.toggle("has-unread", unread > 0);
  view.node.setAttribute("data-unread", String(unread));
  const button = view.subscribeBtn;
  button.hidden = typeof t.subscribed !== "boolean";
  button.textContent = t.subscribed ? "Unsubscribe" : "Subscribe";
  button.setAttribute("data-subscribed", String(!!t.subscribed));
  button.setAttribute("aria-label", t.subscribed ? "Unsubscribe from this thread" : "Subscribe to this thread");
  button.title = t.subscribed
    ? "You are notified of new comments here. Click to stop."
    : "Get notified of new comments here.";
  button.disabled = !host.connected();
}

function commentView(host: ThreadsHost, threadId: string, commentId: string): CommentView {
  const item = el("li", { className: "comment", "data-comment-id": commentId });
  const view: CommentView = {
    item,
    comment: null,
    avatarSlot: el("span"),
    author: el("span", { className: "author" }),
    authorName: null,
    time: el("time"),
    edited: el("span", { className: "edited", text: "(edited)" }),
    body: el("p", { className: "body" }),
    bodyKey: null,
    files: el("ul", { className: "files", "aria-label": "Attachments", hidden: true }),
    filesKey: null,
    reactions: reactionBar(host, threadId, commentId),
    actions: el("div", { className: "actions" }),
    editBtn: el("button", { type: "button", className: "link", text: "Edit" }),
    deleteBtn: el("button", { type: "button", className: "link danger", text: "Delete" }),
    editing: null,
    confirm: null,
  };
  const { body, files, actions, editBtn, deleteBtn } = view;
  actions.append(editBtn, deleteBtn);
  item.append(
    el("div", { className: "meta" }, [view.avatarSlot, view.author, view.time, view.edited]),
    body,
    files,
    view.reactions.node,
    actions,
  );

  editBtn.addEventListener("click", () => {
    if (view.editing || !view.comment) return;
    const cancel = (): void => {
      if (!view.editing) return;
      view.editing.form.remove();
      view.editing = null;
      body.hidden = false;
      files.hidden = !files.firstChild;
      actions.hidden = false;
      editBtn.focus();
    };
    const cancelBtn = el("button", { type: "button", text: "Cancel" });
    cancelBtn.addEventListener("click", cancel);
    const editor = composer(host, {
      label: "Edit comment",
      submit: "Save",
      value: view.comment.body,
      className: "edit-form",
      keep: true,
      extra: cancelBtn,
      onCancel: cancel,
      onSubmit: (text) => host.edit(threadId, commentId, text).then(cancel),
    });
    view.editing = editor;
    body.hidden = true;
    files.hidden = true;
    actions.hidden = true;
    item.insertBefore(editor.form, actions);
    editor.textarea.focus();
    editor.textarea.setSelectionRange(editor.textarea.value.length, editor.textarea.value.length);
  });

  deleteBtn.addEventListener("click", () => {
    if (view.confirm) return;
    const yes = el("button", { type: "button", className: "danger", text: "Delete" });
    const no = el("button", { type: "button", text: "Cancel" });
    const confirmRow = el("div", { className: "confirm", role: "group", "aria-label": "Confirm delete" }, [
      el("span", { text: "Delete this comment?" }),
      no,
      yes,
    ]);
    no.addEventListener("click", () => {
      if (!view.confirm) return;
      view.confirm.remove();
      view.confirm = null;
      actions.hidden = false;
      deleteBtn.focus();
    });
    yes.addEventListener("click", () => {
      yes.disabled = no.disabled = true;
      host.remove(threadId, commentId).then(
        () => undefined,
        () => {
          yes.disabled = no.disabled = false; // the error itself went out as pulse:error
        },
      );
    });
    view.confirm = confirmRow;
    actions.hidden = true;
    item.insertBefore(confirmRow, actions.nextSibling);
    no.focus();
  });
  return view;
}

function updateComment(host: ThreadsHost, view: CommentView, c: Comment): void {
  const previous = view.comment;
  view.comment = c;
  const name = host.userName(c.userId);
  const user = host.user(c.userId);
  const mine = !!c.userId && c.userId === host.me();
  view.item.setAttribute("data-user-id", c.userId || "");
  view.item.classList.toggle("mine", mine);
  if (!previous || previous.userId !== c.userId || view.authorName !== name) {
    view.authorName = name;
    view.avatarSlot.replaceChildren(
      avatar({ name, userId: c.userId, avatar: user?.avatar, color: user?.color }, true),
    );
    view.author.textContent = name + (mine ? " (you)" : "");
  }
  view.time.setAttribute("datetime", c.createdAt || "");
  view.time.textContent = formatTime(c.createdAt);
  view.time.title = c.createdAt ? new Date(c.createdAt).toLocaleString() : "";
  view.edited.hidden = !c.editedAt;
  renderBody(host, view, c);
  renderFiles(view, c);
  view.reactions.update(c);
  if (!host.can("comment")) closeEditors(view); // the level went down meanwhile
  view.actions.hidden = !mine || !host.can("comment") || !!view.editing || !!view.confirm;
  const connected = host.connected();
  view.editBtn.disabled = !connected;
  view.deleteBtn.disabled = !connected;
  view.editBtn.setAttribute("aria-label", "Edit your comment");
  view.deleteBtn.setAttribute("aria-label", "Delete your comment");
  view.editing?.sync();
}

/** The body as text, each of the comment's `mentions` a chip with the user's name; a
 * `<@userId>` not among them (no access) stays as it was typed. */
function renderBody(host: ThreadsHost, view: CommentView, c: Comment): void {
  const body = String(c.body || "");
  const mentioned = Array.isArray(c.mentions) ? c.mentions : [];
  const names = mentioned.map((userId) => host.user(userId)?.name || userId);
  const key = JSON.stringify([body, mentioned, names]);
  if (view.bodyKey === key) return;
  view.bodyKey = key;
  const nodes: Node[] = [];
  let at = 0;
  for (const match of body.matchAll(MENTION)) {
    const index = mentioned.indexOf(match[1]!);
    if (index < 0) continue;
    if (match.index > at) nodes.push(document.createTextNode(body.slice(at, match.index)));
    nodes.push(
      el("span", { className: "mention", "data-user-id": match[1], title: match[1], text: "@" + names[index] }),
    );
    at = match.index + match[0].length;
  }
  if (at < body.length || !nodes.length) nodes.push(document.createTextNode(body.slice(at)));
  view.body.replaceChildren(...nodes);
}

/** The comment's files: images as thumbnails opening the full image in a new tab, the rest as
 * chips with name and size; each links to its presigned download. */
function renderFiles(view: CommentView, c: Comment): void {
  const files = Array.isArray(c.attachments) ? c.attachments : [];
  const key = JSON.stringify(files.map((f) => [f.id, f.url]));
  if (view.filesKey === key) return;
  view.filesKey = key;
  view.files.replaceChildren(...files.map(fileNode));
  view.files.hidden = !files.length || !!view.editing;
}

function fileNode(file: Attachment): HTMLLIElement {
  const url = safeImageUrl(file.url);
  const name = String(file.name || "file");
  const size = typeof file.size === "number" ? formatSize(file.size) : "";
  const link = { href: url, target: "_blank", rel: "noopener noreferrer" };
  if (url && /^image\//.test(String(file.mimeType || ""))) {
    const img = el("img", { src: url, alt: name, referrerpolicy: "no-referrer" });
    return el("li", { "data-attachment-id": file.id }, [
      el("a", { className: "thumb", title: name + " (" + size + ")", ...link }, [img]),
    ]);
  }
  const chip = [el("span", { className: "name", text: name }), el("span", { text: size })];
  return el("li", { "data-attachment-id": file.id }, [
    url
      ? el("a", { className: "file", title: name, ...link }, chip)
      : el("span", { className: "file", title: name + " (not available)" }, chip),
  ]);
}

interface ReactionBar {
  node: HTMLDivElement;
  update: (c: Comment) => void;
}

/** A comment's reactions: one toggle button per emoji (pressed: this user reacted), and a
 * small picker of common emoji. */
function reactionBar(host: ThreadsHost, threadId: string, commentId: string): ReactionBar {
  const buttons = new Map<string, HTMLButtonElement>();
  const node = el("div", { className: "reactions", role: "group", "aria-label": "Reactions" });
  const addBtn = el("button", {
    type: "button",
    className: "add-reaction",
    "aria-label": "Add reaction",
    "aria-expanded": "false",
    text: "+\u263A",
  });
  const picker = el("div", { className: "picker", role: "group", "aria-label": "Pick a reaction", hidden: true });
  let comment: Comment | null = null;
  const toggle = (emoji: string, button: HTMLButtonElement | null): void => {
    const reaction = (comment?.reactions ?? []).find((r) => r.emoji === emoji);
    const mine = !!reaction && host.reacted(commentId, emoji);
    if (button) button.disabled = true;
    const settled = (): void => {
      if (button) button.disabled = !host.connected();
    };
    host.react(threadId, commentId, emoji, !mine).then(settled, settled);
  };
  for (const emoji of REACTION_PICKS) {
    const pick = el("button", { type: "button", "aria-label": "React with " + emoji, text: emoji });
    pick.addEventListener("click", () => {
      picker.hidden = true;
      addBtn.setAttribute("aria-expanded", "false");
      toggle(emoji, null);
    });
    picker.appendChild(pick);
  }
  addBtn.addEventListener("click", () => {
    picker.hidden = !picker.hidden;
    addBtn.setAttribute("aria-expanded", String(!picker.hidden));
  });
  const buttonFor = (emoji: string): HTMLButtonElement => {
    let button = buttons.get(emoji);
    if (!button) {
      const made = el("button", { type: "button", className: "reaction", "data-emoji": emoji });
      made.addEventListener("click", () => toggle(emoji, made));
      buttons.set(emoji, made);
      button = made;
    }
    return button;
  };
  return {
    node,
    update(c) {
      comment = c;
      const canReact = host.can("comment") && host.connected();
      const reactions = Array.isArray(c.reactions) ? c.reactions : [];
      const shown = reactions.map((r) => {
        const button = buttonFor(r.emoji);
        const mine = host.reacted(commentId, r.emoji);
        const userIds = r.userIds ?? [];
        button.textContent = r.emoji + " " + r.count;
        button.setAttribute("aria-pressed", String(mine));
        button.setAttribute("aria-label", r.emoji + " " + r.count + (mine ? ", including you" : ""));
        button.title =
          userIds.map((id) => host.userName(id)).join(", ") + (r.count > userIds.length ? " and others" : "");
        button.disabled = !canReact;
        return button;
      });
      for (const emoji of Array.from(buttons.keys())) {
        if (!reactions.some((r) => r.emoji === emoji)) buttons.delete(emoji);
      }
      addBtn.hidden = !host.can("comment");
      addBtn.disabled = !canReact;
      if (!canReact) picker.hidden = true;
      reconcile(node, [...shown, addBtn, picker]);
    },
  };
}

/** Close a comment's open editor or delete confirmation, keeping nothing of them. */
function closeEditors(view: CommentView): void {
  if (view.editing) {
    view.editing.form.remove();
    view.editing = null;
    view.body.hidden = false;
    view.files.hidden = !view.files.firstChild;
  }
  if (view.confirm) {
    view.confirm.remove();
    view.confirm = null;
  }
}
