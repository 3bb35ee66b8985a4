// Test helpers: a fake WebSocket the client is handed, unsigned JWTs, and a connected room.
import { vi } from "vitest";
import { createClient } from "../src/client/index.js";
import type { Client, ClientOptions, Room, ServerMessage } from "../src/client/index.js";

export class FakeSocket {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly params: URLSearchParams;

  constructor(readonly url: string) {
    this.params = new URL(url).searchParams;
    FakeSocket.instances.push(this);
  }

  static get last(): FakeSocket {
    const socket = FakeSocket.instances[FakeSocket.instances.length - 1];
    if (!socket) throw new Error("no socket was opened");
    return socket;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number, reason?: string): void {
    this.readyState = 3;
    this.closedWith = { code, reason };
  }

  /** The server accepted the handshake. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The connection ended from the other side (or was refused before opening). */
  drop(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  ofType(type: string): Record<string, unknown>[] {
    return this.sent.filter((m) => m.type === type);
  }

  lastOfType(type: string): Record<string, unknown> {
    const found = this.ofType(type);
    const last = found[found.length - 1];
    if (!last) throw new Error(`no ${type} was sent; sent: ${JSON.stringify(this.sent)}`);
    return last;
  }
}

/** An unsigned JWT carrying `claims` (the client reads claims, never verifies). */
export function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown): string => {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  return `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}.sig`;
}

export function tokenFor(userId: string, extra: Record<string, unknown> = {}): string {
  return jwt({ sub: userId, exp: Math.floor(Date.now() / 1000) + 3600, ...extra });
}

/** Let queued microtasks run (the queued start, promise callbacks, change notifications). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

export function makeClient(options: Partial<ClientOptions> = {}): Client {
  return createClient({
    publicApiKey: "pk_test",
    endpoint: "ws://127.0.0.1:9/ws",
    token: tokenFor("ada"),
    WebSocket: FakeSocket,
    ...options,
  });
}

export function joined(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "room.joined",
    connectionId: "c-ada",
    self: { userId: "ada", name: "Ada", avatar: null, color: "#ff0000" },
    others: [],
    access: "write",
    seq: 0,
    ...extra,
  };
}

export function thread(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    roomId: "room-1",
    resolved: false,
    metadata: {},
    createdAt: "2026-01-01T00:00:0" + id.slice(-1) + "Z",
    updatedAt: "2026-01-01T00:00:00Z",
    createdBy: "ada",
    commentCount: 1,
    comments: [comment(id + "-c1", id)],
    commentsNextCursor: null,
    ...extra,
  };
}

export function comment(id: string, threadId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    threadId,
    roomId: "room-1",
    userId: "ada",
    body: "hello " + id,
    createdAt: "2026-01-01T00:00:01Z",
    editedAt: null,
    reactions: [],
    mentions: [],
    attachments: [],
    ...extra,
  };
}

/** A room connected and joined, its first threads list answered with `threads`. */
export async function connectedRoom(
  options: Partial<ClientOptions> = {},
  joinExtra: Record<string, unknown> = {},
  threads: Record<string, unknown>[] = [],
): Promise<{ client: Client; room: Room; socket: FakeSocket }> {
  const client = makeClient(options);
  const room = client.enterRoom("room-1");
  await settle();
  const socket = FakeSocket.last;
  socket.open();
  socket.receive(joined(joinExtra));
  const list = socket.lastOfType("threads.list");
  socket.receive({ type: "threads.listed", requestId: list.requestId, data: threads, nextCursor: null });
  await settle();
  return { client, room, socket };
}

export function reply(socket: FakeSocket, type: string, frame: Record<string, unknown>): ServerMessage {
  const request = socket.lastOfType(type);
  const message = { ...frame, requestId: request.requestId };
  socket.receive(message);
  return message as ServerMessage;
}

export function resetSockets(): void {
  FakeSocket.instances = [];
  vi.useFakeTimers();
}
