// The client: the rooms entered with one set of options, and the user's inbox across them.
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, PRESENCE_MIN_MS } from "./constants.js";
import { Emitter } from "./emitter.js";
import { RoomImpl } from "./room.js";
import type { RoomContext } from "./room.js";
import { tokenUrlProvider } from "./token.js";
import type {
  Client,
  ClientEventMap,
  ClientOptions,
  EnterRoomOptions,
  InboxEntry,
  InboxPage,
  InboxUpdate,
  PulseError,
  Room,
  Unsubscribe,
} from "./types.js";

function required(options: ClientOptions, name: "publicApiKey" | "endpoint"): string {
  const value = options[name];
  if (typeof value !== "string" || !value.trim()) throw new TypeError(`createClient: ${name} is required`);
  return value.trim();
}

export class PulseClient implements Client {
  private readonly rooms = new Map<string, RoomImpl>();
  private readonly events = new Emitter<ClientEventMap>();
  private readonly context: Omit<RoomContext, "onInbox">;
  private _inboxCount: number | null = null;
  private lastInbox = "";

  constructor(options: ClientOptions) {
    if (!options || typeof options !== "object") throw new TypeError("createClient(options): options must be an object");
    const provider =
      options.tokenProvider ??
      (options.tokenUrl ? tokenUrlProvider(options.tokenUrl, options.tokenMethod === "POST" ? "POST" : "GET") : null);
    this.context = {
      publicApiKey: required(options, "publicApiKey"),
      endpoint: required(options, "endpoint"),
      token: options.token?.trim() || null,
      provider,
      providerName: options.tokenProvider ? "the token provider" : "token-url",
      // Without one, the page's WebSocket is looked up at each dial (room.ts): a page (or a test
      // tool) may replace it after the client was made.
      WebSocket: options.WebSocket ?? null,
      presenceThrottleMs: options.presenceThrottleMs ?? PRESENCE_MIN_MS,
      backoffInitialMs: options.backoff?.initialMs ?? BACKOFF_BASE_MS,
      backoffMaxMs: options.backoff?.maxMs ?? BACKOFF_MAX_MS,
    };
  }

  /** The room `roomId`, connecting (the same Room for the same id until it is left). */
  enterRoom(roomId: string, options: EnterRoomOptions = {}): Room {
    const known = this.rooms.get(roomId);
    if (known) return known;
    const room = new RoomImpl(
      roomId,
      { ...this.context, onInbox: (update) => this.inboxUpdated(update) },
      options.initialPresence ?? null,
    );
    this.rooms.set(roomId, room);
    room.connect();
    return room;
  }

  getRoom(roomId: string): Room | null {
    return this.rooms.get(roomId) ?? null;
  }

  leaveRoom(roomId: string): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.rooms.delete(roomId);
    room.destroy();
  }

  get inboxCount(): number | null {
    return this._inboxCount;
  }

  /** A page of the user's inbox (inbox.list over any connected room's socket). */
  async getInbox(options: { cursor?: string | null } = {}): Promise<InboxPage> {
    const room = Array.from(this.rooms.values()).find((r) => r.status === "connected");
    if (!room) {
      throw { code: "NOT_CONNECTED", message: "getInbox needs a connected room: enter one first." } satisfies PulseError;
    }
    const message: Record<string, unknown> = { type: "inbox.list" };
    if (options.cursor) message.cursor = options.cursor;
    const reply = await room.request(message);
    const page: InboxPage = {
      data: Array.isArray(reply.data) ? (reply.data as InboxEntry[]) : [],
      nextCursor: (reply.nextCursor as string | null) ?? null,
      count: typeof reply.count === "number" ? reply.count : 0,
    };
    if (typeof reply.count === "number" && reply.count !== this._inboxCount) {
      this._inboxCount = reply.count;
      this.events.notify();
    }
    return page;
  }

  /** inbox.updated, heard on every connected room's socket: told once. */
  private inboxUpdated(update: InboxUpdate): void {
    const key = JSON.stringify(update);
    if (key === this.lastInbox) return;
    this.lastInbox = key;
    if (typeof update.count === "number") this._inboxCount = update.count;
    this.events.emit("inbox", update);
    this.events.notify();
  }

  on<K extends keyof ClientEventMap>(type: K, handler: (event: ClientEventMap[K]) => void): Unsubscribe {
    return this.events.on(type, handler);
  }

  subscribe(listener: () => void): Unsubscribe {
    return this.events.subscribe(listener);
  }

  destroy(): void {
    for (const id of Array.from(this.rooms.keys())) this.leaveRoom(id);
    this.events.clear();
  }
}
