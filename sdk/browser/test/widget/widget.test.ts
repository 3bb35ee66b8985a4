// @vitest-environment happy-dom
// <pulse-widget> on a fake room: attributes become client options, the room's events become
// the documented DOM events, and the DOM follows the room's state. (The browser tests in
// tests/browser run it on the real client against the real stack.)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Comment, Member, Thread } from "../../src/client/types.js";
import { fakeCreateClient, made } from "./fake-room.js";
import type { FakeRoom } from "./fake-room.js";

vi.mock("../../src/client/index.js", () => ({ createClient: fakeCreateClient }));

const ADA: Member = { connectionId: "c-ada", userId: "ada", name: "Ada Lovelace", presence: null };
const GRACE: Member = { connectionId: "c-grace", userId: "grace", name: "Grace Hopper", presence: null };

beforeAll(async () => {
  await import("../../src/widget/index.js");
});

afterEach(() => {
  document.body.replaceChildren();
  made.length = 0;
});

type Widget = HTMLElement & {
  status: string;
  lastError: { code: string; message: string; needed?: string } | null;
  access: string | null;
  token: string | null;
  others: Member[];
};

async function mount(attrs: Record<string, string>): Promise<{ w: Widget; events: CustomEvent[] }> {
  const w = document.createElement("pulse-widget") as unknown as Widget;
  for (const [name, value] of Object.entries(attrs)) w.setAttribute(name, value);
  const events: CustomEvent[] = [];
  for (const name of ["pulse:connected", "pulse:error", "pulse:status", "pulse:access", "pulse:members", "pulse:inbox"]) {
    w.addEventListener(name, (e) => events.push(e as CustomEvent));
  }
  document.body.appendChild(w);
  await Promise.resolve(); // the start is queued to the next microtask
  await Promise.resolve();
  return { w, events };
}

const FULL = { "api-key": "pk_test", room: "budget", endpoint: "ws://127.0.0.1:1/", token: "tok-1" };

function room(): FakeRoom {
  const last = made[made.length - 1];
  if (!last) throw new Error("no room entered");
  return last.room;
}

function shadow(w: Widget): ShadowRoot {
  return w.shadowRoot!;
}

function comment(id: string, threadId: string, userId: string, body: string, mentions: string[] = []): Comment {
  return {
    id,
    threadId,
    roomId: "budget",
    userId,
    body,
    createdAt: "2026-12-07T06:00:00Z",
    editedAt: null,
    reactions: [],
    mentions,
    attachments: [],
  };
}

function thread(id: string, resolved: boolean, comments: Comment[], createdAt: string): Thread {
  return {
    id,
    roomId: "budget",
    resolved,
    metadata: {},
    createdAt,
    updatedAt: createdAt,
    createdBy: comments[0]?.userId ?? "ada",
    commentCount: comments.length,
    comments,
    commentsNextCursor: null,
  };
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
}

describe("<pulse-widget> on the headless client", () => {
  it("stops with MISSING_ATTRIBUTE naming what is missing, and enters no room", async () => {
    const { w, events } = await mount({ "api-key": "pk_test", room: "budget" });
    expect(w.status).toBe("stopped");
    expect(w.getAttribute("data-status")).toBe("stopped");
    expect(w.lastError?.code).toBe("MISSING_ATTRIBUTE");
    expect(w.lastError?.message).toContain("endpoint");
    expect(events.map((e) => e.type)).toEqual(["pulse:error", "pulse:status"]);
    expect(shadow(w).querySelector(".notice > span")?.textContent).toBe(
      "Comments are unavailable: this page has not set up the widget fully.",
    );
    expect(made).toHaveLength(0);
  });

  it("refuses a room id the server would refuse, before dialling", async () => {
    const { w } = await mount({ ...FULL, room: ".." });
    expect(w.lastError?.code).toBe("INVALID_ROOM");
    expect(w.lastError?.message).toContain('"."');
    expect(made).toHaveLength(0);
  });

  it("maps its attributes to the client's options and hands a new token to the room", async () => {
    const { w } = await mount({ ...FULL, "token-url": "/pulse-token", "token-method": "post" });
    expect(made).toHaveLength(1);
    expect(made[0]!.options).toMatchObject({
      publicApiKey: "pk_test",
      endpoint: "ws://127.0.0.1:1/",
      token: "tok-1",
      tokenUrl: "/pulse-token",
      tokenMethod: "POST",
    });
    expect(room().roomId).toBe("budget");

    w.token = "tok-2";
    expect(room().called("setToken")).toEqual([["tok-2"]]);
    expect(made).toHaveLength(1); // the same room, not a new client

    w.setAttribute("room", "other");
    await Promise.resolve();
    expect(made).toHaveLength(2);
    expect(room().roomId).toBe("other");
  });

  it("re-fires the room's events with the documented details, and mirrors status and access", async () => {
    const { w, events } = await mount(FULL);
    room().join(ADA, [GRACE], "comment");
    expect(w.getAttribute("data-status")).toBe("connected");
    expect(w.getAttribute("data-access")).toBe("comment");
    expect(w.access).toBe("comment");
    const connected = events.find((e) => e.type === "pulse:connected")!;
    expect(connected.detail).toEqual({ connectionId: "c-ada", self: ADA, others: [GRACE], access: "comment" });
    expect(connected.bubbles && connected.composed).toBe(true);
    expect(events.find((e) => e.type === "pulse:members")!.detail).toEqual({ members: [GRACE] });
    expect(events.find((e) => e.type === "pulse:access")!.detail).toEqual({ access: "comment", previous: null });
    expect(w.others).toEqual([GRACE]);

    room().fire("inbox", { count: 3, roomId: "budget", threadId: "t1", unreadCount: 1 });
    expect(events.find((e) => e.type === "pulse:inbox")!.detail).toEqual({
      count: 3,
      roomId: "budget",
      threadId: "t1",
      unreadCount: 1,
    });

    await settle();
    const avatars = shadow(w).querySelectorAll(".avatars li");
    expect(Array.from(avatars, (li) => li.getAttribute("data-user-id"))).toEqual(["ada", "grace"]);
    expect(w.getAttribute("data-members")).toBe("1");
  });

  it("says how to fix a stop in the widget's terms, and lastError is the event's detail", async () => {
    const { w, events } = await mount(FULL);
    room().lastError = {
      code: "TOKEN_EXPIRED",
      message:
        "The token has expired and there is no token provider. Set a fresh token from your backend " +
        "(setToken(): the room connects with it at once), or a token provider (tokenProvider or " +
        "tokenUrl) to get one from.",
      problem: "x",
    };
    room().fire("error", room().lastError!);
    room().setStatus("stopped");
    const error = events.filter((e) => e.type === "pulse:error").map((e) => e.detail);
    expect(error).toEqual([w.lastError]);
    expect(w.lastError!.message).toBe(
      "The token has expired and <pulse-widget> has no token-url. Set a fresh token from your " +
        "backend (the token attribute or property: the widget connects with it at once), or a " +
        "token-url the widget can fetch one from.",
    );
    expect(w.lastError).not.toHaveProperty("problem"); // the documented detail only
    expect(shadow(w).querySelector(".notice > span")?.textContent).toBe(
      "Your session has expired. Reload the page to continue.",
    );
  });

  it("clears a notice about missing access once the room grants more", async () => {
    const { w, events } = await mount(FULL);
    room().join(ADA, [], "read");
    room().fire("notice", { message: "You need comment access to do that here." });
    const notice = (): string | null | undefined => shadow(w).querySelector(".notice > span")?.textContent;
    expect(notice()).toBe("You need comment access to do that here.");
    room().fire("access", { access: "read", previous: "comment" }); // lower: it still holds
    expect(notice()).toBe("You need comment access to do that here.");
    room().fire("access", { access: "write", previous: "read" });
    expect(notice()).toBe("");
    expect(events.filter((e) => e.type === "pulse:access").map((e) => e.detail)).toContainEqual({ access: "write", previous: "read" });
  });

  it("renders the room's threads: counts, mentions as chips, and no composer for read access", async () => {
    const { w } = await mount(FULL);
    room().join(ADA, [], "read");
    room().users.set("grace", GRACE);
    room().threads = [
      thread("t2", false, [comment("c2", "t2", "ada", "Ask <@grace> and <@nobody>", ["grace"])], "2026-12-07T06:02:00Z"),
      thread("t1", true, [comment("c1", "t1", "grace", "Old news")], "2026-12-07T06:01:00Z"),
    ];
    room().threadsState = { loaded: true, loading: false, complete: true, error: null };
    room().changed();
    await settle();
    const root = shadow(w);
    expect(root.querySelector(".filters button")?.textContent).toBe("Open (1)");
    const body = root.querySelector("li.thread[data-thread-id=t2] .body")!;
    expect(body.textContent).toBe("Ask @Grace Hopper and <@nobody>");
    expect(body.querySelector(".mention")?.getAttribute("data-user-id")).toBe("grace");
    expect(root.querySelector<HTMLElement>(".view-only")!.hidden).toBe(false);
    expect(root.querySelector<HTMLElement>("form.new-thread")!.hidden).toBe(true);
    expect(root.querySelector("li.thread[data-thread-id=t1]")).toBeNull(); // resolved: filtered
  });

  it("sends the composer's text through the room, mentions as <@userId>", async () => {
    const { w } = await mount(FULL);
    room().join(ADA, [GRACE], "write");
    room().threadsState = { loaded: true, loading: false, complete: true, error: null };
    room().answers.set("searchUsers", () => Promise.resolve([GRACE]));
    room().changed();
    await settle();
    const textarea = shadow(w).querySelector<HTMLTextAreaElement>("form.new-thread textarea")!;
    textarea.value = "Ask @Gra";
    textarea.setSelectionRange(8, 8);
    textarea.dispatchEvent(new Event("input"));
    await new Promise((resolve) => setTimeout(resolve, 250)); // the search waits for a pause
    expect(room().called("searchUsers")).toEqual([["Gra"]]);
    shadow(w).querySelector<HTMLElement>(".mention-list li")!.click();
    expect(textarea.value).toBe("Ask @Grace Hopper ");
    shadow(w).querySelector<HTMLFormElement>("form.new-thread")!.requestSubmit();
    await settle();
    expect(room().called("createThread")).toEqual([[{ body: "Ask <@grace> " }]]);
    expect(textarea.value).toBe(""); // cleared once the room acknowledged it
  });

  it("shows a refused write under its composer and keeps the text", async () => {
    const { w } = await mount(FULL);
    room().join(ADA, [], "write");
    room().answers.set("createThread", () => Promise.reject({ code: "INVALID_INPUT", message: "body is too long" }));
    room().changed();
    await settle();
    const textarea = shadow(w).querySelector<HTMLTextAreaElement>("form.new-thread textarea")!;
    textarea.value = "Hello";
    textarea.dispatchEvent(new Event("input"));
    shadow(w).querySelector<HTMLFormElement>("form.new-thread")!.requestSubmit();
    await settle();
    expect(shadow(w).querySelector("form.new-thread .form-error")?.textContent).toBe("body is too long");
    expect(textarea.value).toBe("Hello");
  });
});

describe("<pulse-widget> reading and naming", () => {
  it("reads a thread at once when unread activity arrives while the visitor is in it", async () => {
    const { w } = await mount(FULL);
    room().join(GRACE, [], "comment");
    const t = thread("t1", false, [comment("c1", "t1", "ada", "Can you check?")], "2026-12-07T06:01:00Z");
    room().threads = [t];
    room().changed();
    await settle();
    shadow(w).querySelector<HTMLTextAreaElement>("li.thread[data-thread-id=t1] form.reply textarea")!.focus();
    // The real room sends thread.markRead only for a thread it holds as unread.
    const unreadWhenAsked: unknown[] = [];
    room().answers.set("markThreadRead", () => {
      unreadWhenAsked.push(room().threads[0]!.unreadCount);
      return Promise.resolve();
    });
    // The client tells inbox first, then applies the count (as the real room does).
    room().fire("inbox", { count: 1, roomId: "budget", threadId: "t1", unreadCount: 1 });
    room().threads = [{ ...t, unreadCount: 1 }];
    room().changed();
    await settle();
    expect(room().called("markThreadRead")).toEqual([["t1"]]);
    expect(unreadWhenAsked).toEqual([1]); // asked once the room counts it unread

    room().fire("inbox", { count: 2, roomId: "other-room", threadId: "t9", unreadCount: 1 });
    await settle();
    expect(room().called("markThreadRead")).toHaveLength(1); // another room's: only told
  });

  it("shows a mentioned user's name once the room has looked it up", async () => {
    const { w } = await mount(FULL);
    room().join(ADA, [], "comment");
    room().threads = [
      thread("t1", false, [comment("c1", "t1", "ada", "Ping <@linus>", ["linus"])], "2026-12-07T06:01:00Z"),
    ];
    room().changed();
    await settle();
    const chip = (): string | null | undefined => shadow(w).querySelector(".mention")?.textContent;
    expect(chip()).toBe("@linus");
    room().users.set("linus", { userId: "linus", name: "Linus Torvalds" });
    room().fire("users", { userIds: ["linus"] }); // no other state change comes with it
    await settle();
    expect(chip()).toBe("@Linus Torvalds");
  });
});

describe("the widget's code", () => {
  it("does not know the protocol: no socket, no frame types, no sinceSeq", () => {
    const dir = join(__dirname, "../../src/widget");
    for (const file of readdirSync(dir).filter((name) => name.endsWith(".ts"))) {
      const text = readFileSync(join(dir, file), "utf8");
      for (const word of ["WebSocket", "sinceSeq", "requestId:", '"thread.create"', '"comment.create"', "clientMutationId", '"join"']) {
        expect(text.includes(word), `${file} mentions ${word}`).toBe(false);
      }
    }
  });
});
