// A fake Room and client for the widget's unit tests: state the test sets, events it fires,
// and a record of every call the widget made.
import type {
  AccessLevel,
  ClientOptions,
  Member,
  PulseError,
  Room,
  RoomEventMap,
  Status,
  Thread,
  ThreadsState,
  UserInfo,
} from "../../src/client/types.js";

export interface Call {
  method: string;
  args: unknown[];
}

type Handler = (event: never) => void;

export class FakeRoom {
  status: Status = "connecting";
  access: AccessLevel | null = null;
  lastError: PulseError | null = null;
  connectionId: string | null = null;
  self: Member | null = null;
  others: Member[] = [];
  presence = null;
  threads: Thread[] = [];
  threadsState: ThreadsState = { loaded: false, loading: false, complete: false, error: null };
  everConnected = false;
  users = new Map<string, UserInfo>();
  calls: Call[] = [];
  /** What each write answers (by method); a resolved undefined otherwise. */
  answers = new Map<string, () => Promise<unknown>>();
  private handlers = new Map<string, Set<Handler>>();
  private listeners = new Set<() => void>();

  constructor(readonly roomId: string) {}

  /** The room as the widget sees it: every method not written here records its call. */
  asRoom(): Room {
    return new Proxy(this, {
      get: (target, name: string) => {
        if (name in target) {
          const value = (target as unknown as Record<string, unknown>)[name];
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return (...args: unknown[]) => {
          target.calls.push({ method: name, args });
          const answer = target.answers.get(name);
          return answer ? answer() : Promise.resolve(undefined);
        };
      },
    }) as unknown as Room;
  }

  called(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  on<K extends keyof RoomEventMap & string>(type: K, handler: (event: RoomEventMap[K]) => void): () => void {
    const set = this.handlers.get(type) ?? new Set<Handler>();
    set.add(handler as Handler);
    this.handlers.set(type, set);
    return () => set.delete(handler as Handler);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  fire<K extends keyof RoomEventMap & string>(type: K, event: RoomEventMap[K]): void {
    for (const handler of this.handlers.get(type) ?? []) (handler as (e: RoomEventMap[K]) => void)(event);
  }

  /** Any state change (the widget re-renders). */
  changed(): void {
    for (const listener of this.listeners) listener();
  }

  setStatus(status: Status): void {
    this.status = status;
    this.fire("status", { status });
    this.changed();
  }

  /** room.joined as the client reports it: state, then status, then connected. */
  join(self: Member, others: Member[], access: AccessLevel): void {
    const previous = this.access;
    this.connectionId = self.connectionId;
    this.self = self;
    this.others = others;
    this.access = access;
    this.everConnected = true;
    this.users.set(self.userId, self);
    for (const m of others) this.users.set(m.userId, m);
    this.fire("access", { access, previous });
    this.setStatus("connected");
    this.fire("connected", { connectionId: self.connectionId, self, others, access });
  }

  connect(): void {
    this.calls.push({ method: "connect", args: [] });
  }

  getUser(userId: string): UserInfo | null {
    return this.users.get(userId) ?? null;
  }

  hasReacted(): boolean {
    return false;
  }

  isLoadingComments(): boolean {
    return false;
  }
}

/** The clients the widget made (their options) and their rooms. */
export const made: { options: ClientOptions; room: FakeRoom }[] = [];

export function fakeCreateClient(options: ClientOptions) {
  return {
    enterRoom(roomId: string) {
      const room = new FakeRoom(roomId);
      made.push({ options, room });
      return room.asRoom();
    },
    destroy() {},
  };
}
