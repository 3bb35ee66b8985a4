// @vitest-environment happy-dom
// The React bindings over the real client and a fake socket: providers enter and leave rooms,
// hooks follow the room's state (rendering only when what they read changed), and writes settle
// from the server's answer.
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { StrictMode, useState } from "react";
import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Client, PulseError, Thread } from "../../src/client/index.js";
import {
  PulseProvider,
  RoomProvider,
  useBroadcastEvent,
  useClient,
  useCreateComment,
  useCreateThread,
  useErrorListener,
  useEventListener,
  useInbox,
  useMyPresence,
  useOthers,
  useRoom,
  useRoomEvent,
  useSelf,
  useStatus,
  useThreads,
} from "../../src/react/index.js";
import { FakeSocket, joined, makeClient, resetSockets, settle, thread, tokenFor } from "../helpers.js";

beforeEach(resetSockets);
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

/** Let the client's queued work and React's updates run. */
async function flush(): Promise<void> {
  await act(async () => {
    await settle();
  });
}

/** Frames from the server, delivered inside act (they change what components show). */
async function receive(socket: FakeSocket, ...frames: Record<string, unknown>[]): Promise<void> {
  await act(async () => {
    for (const frame of frames) socket.receive(frame);
    await settle();
  });
}

async function connect(socket: FakeSocket, extra: Record<string, unknown> = {}): Promise<void> {
  await act(async () => {
    socket.open();
    socket.receive(joined(extra));
    await settle();
  });
}

/** Answers the last `type` request with `frame` (its requestId echoed). */
async function answer(socket: FakeSocket, type: string, frame: Record<string, unknown>): Promise<void> {
  await receive(socket, { ...frame, requestId: socket.lastOfType(type).requestId });
}

function inRoom(client: Client, children: ReactNode, roomId = "room-1"): ReactNode {
  return (
    <PulseProvider client={client}>
      <RoomProvider roomId={roomId}>{children}</RoomProvider>
    </PulseProvider>
  );
}

const grace = { connectionId: "c-grace", userId: "grace", name: "Grace", color: "#00f", presence: null };

describe("providers", () => {
  it("name the provider a hook needs", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    function NeedsRoom(): ReactNode {
      useRoom();
      return null;
    }
    function NeedsClient(): ReactNode {
      useClient();
      return null;
    }
    expect(() => render(<NeedsClient />)).toThrow("useClient: no <PulseProvider> above this component");
    expect(() => render(<PulseProvider client={makeClient()}><NeedsRoom /></PulseProvider>)).toThrow(
      "useRoom: no <RoomProvider> above this component",
    );
  });

  it("enter the room once under StrictMode, and leave it after the last provider unmounts", async () => {
    const client = makeClient();
    const { rerender, unmount } = render(
      <StrictMode>
        {inRoom(client, <>
          <RoomProvider roomId="room-1"><span /></RoomProvider>
        </>)}
      </StrictMode>,
    );
    await flush();
    vi.advanceTimersByTime(10); // the deferred leave of StrictMode's first unmount
    await flush();
    expect(FakeSocket.instances).toHaveLength(1);
    const socket = FakeSocket.last;
    expect(socket.params.get("room")).toBe("room-1");
    expect(socket.closedWith).toBeNull();

    // One of the two providers of room-1 goes: the room stays.
    rerender(<StrictMode>{inRoom(client, <span />)}</StrictMode>);
    vi.advanceTimersByTime(10);
    await flush();
    expect(client.getRoom("room-1")).not.toBeNull();
    expect(socket.closedWith).toBeNull();

    unmount();
    vi.advanceTimersByTime(10);
    expect(client.getRoom("room-1")).toBeNull();
    expect(socket.closedWith).not.toBeNull();
  });

  it("switch rooms when roomId changes, leaving the previous one", async () => {
    const client = makeClient();
    function Shown(): ReactNode {
      return <p data-testid="room">{useRoom().roomId}</p>;
    }
    const { rerender } = render(inRoom(client, <Shown />, "room-1"));
    await flush();
    const first = FakeSocket.last;
    rerender(inRoom(client, <Shown />, "room-2"));
    expect(screen.getByTestId("room").textContent).toBe("room-2");
    await flush();
    vi.advanceTimersByTime(10);
    expect(FakeSocket.last.params.get("room")).toBe("room-2");
    expect(client.getRoom("room-1")).toBeNull();
    expect(first.closedWith).not.toBeNull();
  });

  it("make a client from options and destroy it on unmount", async () => {
    let made: Client | null = null;
    function Grab(): ReactNode {
      made = useClient();
      return null;
    }
    const { unmount } = render(
      <PulseProvider publicApiKey="pk_test" endpoint="ws://127.0.0.1:9/ws" token={tokenFor("ada")} WebSocket={FakeSocket}>
        <RoomProvider roomId="room-1">
          <Grab />
        </RoomProvider>
      </PulseProvider>,
    );
    await flush();
    const socket = FakeSocket.last;
    expect(socket.params.get("apiKey")).toBe("pk_test");
    expect(made).not.toBeNull();
    unmount();
    vi.advanceTimersByTime(10);
    expect(socket.closedWith).not.toBeNull();
    expect(made!.getRoom("room-1")).toBeNull();
  });
});

describe("room state", () => {
  it("follows the status, self and others", async () => {
    const client = makeClient();
    function Room(): ReactNode {
      const status = useStatus();
      const self = useSelf();
      const others = useOthers();
      return <p data-testid="state">{`${status}|${self?.name ?? "-"}|${others.map((o) => o.name).join(",")}`}</p>;
    }
    render(inRoom(client, <Room />));
    await flush();
    const state = (): string | null => screen.getByTestId("state").textContent;
    expect(state()).toBe("connecting|-|");
    await connect(FakeSocket.last, { others: [grace] });
    expect(state()).toBe("connected|Ada|Grace");
    await receive(FakeSocket.last, { type: "user.left", connectionId: "c-grace", userId: "grace" });
    expect(state()).toBe("connected|Ada|");
    await act(async () => {
      FakeSocket.last.drop(1006);
      await settle();
    });
    expect(state()).toBe("reconnecting|-|"); // self is the connection's: none while down
  });

  it("renders a component only when what it reads changed", async () => {
    const client = makeClient();
    const renders = { others: 0, status: 0 };
    function Others(): ReactNode {
      renders.others++;
      const others = useOthers();
      return <p data-testid="others">{others.map((o) => `${o.name}:${JSON.stringify(o.presence)}`).join(",")}</p>;
    }
    function Status(): ReactNode {
      renders.status++;
      return <p>{useStatus()}</p>;
    }
    render(inRoom(client, <><Others /><Status /></>));
    await flush();
    const socket = FakeSocket.last;
    await connect(socket, { others: [grace] });
    await answer(socket, "threads.list", { type: "threads.listed", data: [], nextCursor: null });
    const before = { ...renders };

    // A broadcast and a new thread change neither the others nor the status.
    await receive(
      socket,
      { type: "broadcast", connectionId: "c-grace", userId: "grace", event: { emoji: "🎉" } },
      { type: "thread.created", thread: thread("th-1"), seq: 1 },
    );
    expect(renders).toEqual(before);

    // Grace's presence changes the others only.
    await receive(socket, { type: "presence.updated", connectionId: "c-grace", userId: "grace", data: { x: 1 } });
    expect(screen.getByTestId("others").textContent).toBe('Grace:{"x":1}');
    expect(renders.others).toBe(before.others + 1);
    expect(renders.status).toBe(before.status);
  });

  it("shows my presence at once and sends it throttled", async () => {
    const client = makeClient();
    function Me(): ReactNode {
      const [presence, update] = useMyPresence();
      return (
        <button type="button" onClick={() => update({ cursor: ((presence?.cursor as number) ?? 0) + 1 })}>
          {JSON.stringify(presence)}
        </button>
      );
    }
    render(inRoom(client, <Me />));
    await flush();
    const socket = FakeSocket.last;
    await connect(socket);
    const button = screen.getByRole("button");
    for (let i = 0; i < 3; i++) {
      fireEvent.click(button);
      await flush();
    }
    expect(button.textContent).toBe('{"cursor":3}');
    expect(socket.ofType("presence.update").map((m) => m.data)).toEqual([{ cursor: 1 }]);
    await act(async () => {
      vi.advanceTimersByTime(100);
      await settle();
    });
    expect(socket.ofType("presence.update").map((m) => m.data)).toEqual([{ cursor: 1 }, { cursor: 3 }]);
  });

  it("hears broadcasts and errors, and sends a broadcast", async () => {
    const client = makeClient();
    const heard: unknown[] = [];
    const errors: string[] = [];
    const created: string[] = [];
    let send: ((event: unknown) => boolean) | null = null;
    function Listener(): ReactNode {
      useEventListener((event) => heard.push(event.event));
      useErrorListener((error) => errors.push(error.code));
      useRoomEvent("thread.created", (frame) => created.push((frame as { thread: Thread }).thread.id));
      send = useBroadcastEvent() as (event: unknown) => boolean;
      return null;
    }
    render(inRoom(client, <Listener />));
    await flush();
    const socket = FakeSocket.last;
    await connect(socket);
    await receive(
      socket,
      { type: "broadcast", connectionId: "c-grace", userId: "grace", event: { wave: true } },
      { type: "error", code: "RATE_LIMITED", message: "Slow down.", retryAfter: 1 },
      { type: "thread.created", thread: thread("th-9"), seq: 1 },
    );
    expect(heard).toEqual([{ wave: true }]);
    expect(errors).toEqual(["RATE_LIMITED"]);
    expect(created).toEqual(["th-9"]);
    expect(send!({ hello: 1 })).toBe(true);
    expect(socket.lastOfType("broadcast").event).toEqual({ hello: 1 });
  });
});

describe("threads", () => {
  it("lists the room's threads live and settles a write from the server's answer", async () => {
    const client = makeClient();
    const results: string[] = [];
    function Threads(): ReactNode {
      const { threads, loaded } = useThreads();
      const createThread = useCreateThread();
      const createComment = useCreateComment();
      return (
        <div>
          <p data-testid="threads">{loaded ? threads.map((t) => `${t.id}(${t.comments.length})`).join(",") : "loading"}</p>
          <button
            type="button"
            onClick={() =>
              createThread({ body: "New plan" }).then(
                (t) => results.push("thread " + t.id),
                (e: PulseError) => results.push("refused " + e.code),
              )
            }
          >
            new
          </button>
          <button
            type="button"
            onClick={() =>
              createComment({ threadId: "th-1", body: "Agreed" }).then(
                (c) => results.push("comment " + c.id),
                (e: PulseError) => results.push("refused " + e.code),
              )
            }
          >
            reply
          </button>
        </div>
      );
    }
    render(inRoom(client, <Threads />));
    await flush();
    const socket = FakeSocket.last;
    const shown = (): string | null => screen.getByTestId("threads").textContent;
    expect(shown()).toBe("loading");
    await connect(socket);
    await answer(socket, "threads.list", { type: "threads.listed", data: [thread("th-1")], nextCursor: null });
    expect(shown()).toBe("th-1(1)");

    fireEvent.click(screen.getByText("new"));
    await flush();
    const sent = socket.lastOfType("thread.create");
    expect(sent.body).toBe("New plan");
    expect(typeof sent.clientMutationId).toBe("string");
    await answer(socket, "thread.create", { type: "thread.created", thread: thread("th-2"), seq: 1 });
    expect(results).toEqual(["thread th-2"]);
    expect(shown()).toBe("th-2(1),th-1(1)");

    fireEvent.click(screen.getByText("reply"));
    await flush();
    await answer(socket, "comment.create", { type: "error", code: "ACCESS_DENIED", message: "no", needed: "comment" });
    expect(results).toEqual(["thread th-2", "refused ACCESS_DENIED"]);
    expect(shown()).toBe("th-2(1),th-1(1)");
  });

  it("filters by resolved", async () => {
    const client = makeClient();
    function Open(): ReactNode {
      return <p data-testid="open">{useThreads({ resolved: false }).threads.map((t) => t.id).join(",")}</p>;
    }
    render(inRoom(client, <Open />));
    await flush();
    const socket = FakeSocket.last;
    await connect(socket);
    const data = [thread("th-2", { resolved: true }), thread("th-1")];
    await answer(socket, "threads.list", { type: "threads.listed", data, nextCursor: null });
    expect(screen.getByTestId("open").textContent).toBe("th-1");
  });
});

describe("inbox", () => {
  it("lists once the room is connected, pages on, and lists again at inbox.updated", async () => {
    const client = makeClient();
    let more: (() => void) | null = null;
    function Inbox(): ReactNode {
      const inbox = useInbox();
      more = inbox.loadMore;
      const entries = inbox.entries.map((e) => `${e.threadId}:${e.unreadCount}`).join(",");
      return <p data-testid="inbox">{`${inbox.count}|${entries}|${inbox.loading ? "loading" : inbox.error?.code ?? "ok"}`}</p>;
    }
    render(inRoom(client, <Inbox />));
    await flush();
    const shown = (): string | null => screen.getByTestId("inbox").textContent;
    expect(shown()).toBe("null||NOT_CONNECTED"); // no room connected yet: nothing was sent

    const socket = FakeSocket.last;
    await connect(socket);
    const entry = (threadId: string, unreadCount: number): Record<string, unknown> => ({
      threadId, roomId: "room-1", unreadCount, reason: "mention", lastActivityAt: "2026-01-01T00:00:00Z",
    });
    expect(socket.ofType("inbox.list")).toHaveLength(1);
    expect(shown()).toBe("null||loading");
    await answer(socket, "inbox.list", { type: "inbox.listed", data: [entry("th-1", 2)], nextCursor: "p2", count: 2 });
    expect(shown()).toBe("2|th-1:2|ok");

    await act(async () => {
      more!();
      await settle();
    });
    expect(socket.lastOfType("inbox.list").cursor).toBe("p2");
    await answer(socket, "inbox.list", { type: "inbox.listed", data: [entry("th-2", 1)], nextCursor: null, count: 2 });
    expect(shown()).toBe("2|th-1:2,th-2:1|ok");

    // Someone replies: the count changes live, and the first page is listed again.
    await receive(socket, { type: "inbox.updated", count: 3, roomId: "room-1", threadId: "th-3", unreadCount: 1 });
    expect(socket.ofType("inbox.list")).toHaveLength(3);
    expect(socket.lastOfType("inbox.list").cursor).toBeUndefined();
    expect(shown()).toBe("3|th-1:2,th-2:1|loading");
    const fresh = [entry("th-3", 1), entry("th-1", 2), entry("th-2", 1)];
    await answer(socket, "inbox.list", { type: "inbox.listed", data: fresh, nextCursor: null, count: 3 });
    expect(shown()).toBe("3|th-3:1,th-1:2,th-2:1|ok");
  });

  it("drops an answer that a newer list overtook", async () => {
    const client = makeClient();
    function Inbox(): ReactNode {
      const [shownAt, setShownAt] = useState(0);
      const inbox = useInbox();
      return (
        <button type="button" onClick={() => (setShownAt(shownAt + 1), inbox.refresh())} data-testid="inbox">
          {inbox.entries.map((e) => e.threadId).join(",")}
        </button>
      );
    }
    render(inRoom(client, <Inbox />));
    await flush();
    const socket = FakeSocket.last;
    await connect(socket);
    const stale = socket.lastOfType("inbox.list").requestId;
    fireEvent.click(screen.getByTestId("inbox"));
    await flush();
    const fresh = socket.lastOfType("inbox.list").requestId;
    expect(fresh).not.toBe(stale);
    const page = (threadId: string): Record<string, unknown> => ({
      type: "inbox.listed", nextCursor: null, count: 1,
      data: [{ threadId, roomId: "room-1", unreadCount: 1, reason: "reply", lastActivityAt: "2026-01-01T00:00:00Z" }],
    });
    await receive(socket, { ...page("th-new"), requestId: fresh }, { ...page("th-old"), requestId: stale });
    expect(screen.getByTestId("inbox").textContent).toBe("th-new");
  });
});
