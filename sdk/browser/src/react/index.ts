// React bindings of the headless client (served as /sdk/pulse-react.js): the client's provider,
// a room's provider, and hooks that read a room's state with useSyncExternalStore.
//
// At runtime this module imports "react" and "./pulse-client.js" (the same client module a page
// loads itself, so both see one set of rooms). No JSX: the build emits plain createElement calls,
// so a page needs no "react/jsx-runtime" in its import map.
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import { createClient } from "../client/index.js";
import type {
  AccessLevel,
  BroadcastEvent,
  Client,
  ClientOptions,
  Comment,
  InboxEntry,
  JsonValue,
  Member,
  Presence,
  PulseError,
  Reaction,
  Room,
  RoomEventMap,
  Status,
  Thread,
  ThreadsState,
} from "../client/index.js";

const ClientContext = createContext<Client | null>(null);
const RoomContext = createContext<Room | null>(null);

// --- providers -----------------------------------------------------------------------------------

/** Either a client made by the page (its life is the page's), or the options of one the provider
 * makes on mount and destroys on unmount (the options are read once). */
export type PulseProviderProps = { children?: ReactNode } & ({ client: Client } | ClientOptions);

export function PulseProvider(props: PulseProviderProps): ReactNode {
  const given = "client" in props ? props.client : null;
  const [owned] = useState(() => (given ? null : createClient(props as ClientOptions)));
  useEffect(() => {
    if (!owned) return;
    return retain(owned, "", () => owned.destroy());
  }, [owned]);
  return createElement(ClientContext.Provider, { value: given ?? owned }, props.children);
}

export interface RoomProviderProps {
  roomId: string;
  /** This connection's presence when it joins (read when the room is entered). */
  initialPresence?: Presence;
  children?: ReactNode;
}

/** Enters `roomId` with the provider's client while mounted, and leaves it once no provider of
 * that room is mounted any more. */
export function RoomProvider({ roomId, initialPresence, children }: RoomProviderProps): ReactNode {
  const client = useClient();
  const [presence] = useState(initialPresence);
  const [epoch, setEpoch] = useState(0);
  // Entering is idempotent (the same id gives the same Room), so rendering may do it.
  const room = useMemo(
    () => client.getRoom(roomId) ?? client.enterRoom(roomId, presence ? { initialPresence: presence } : {}),
    // `epoch` renews a room that was left between this render and its effect.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [client, roomId, presence, epoch],
  );
  useEffect(() => {
    const release = retain(client, roomId, () => client.leaveRoom(roomId));
    // A rare race: another provider of this room let it go after this one rendered.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    if (client.getRoom(roomId) !== room) setEpoch((n) => n + 1);
    return release;
  }, [client, roomId, room]);
  return createElement(RoomContext.Provider, { value: room }, children);
}

const holders = new WeakMap<object, Map<string, number>>();

/** Counts the mounted holders of (owner, key); the returned release runs `end` when the last
 * one has gone, a tick later, so a StrictMode unmount-and-mount keeps the client or the room. */
function retain(owner: Client, key: string, end: () => void): () => void {
  let counts = holders.get(owner);
  if (!counts) holders.set(owner, (counts = new Map()));
  const table = counts;
  table.set(key, (table.get(key) ?? 0) + 1);
  return () => {
    table.set(key, (table.get(key) ?? 1) - 1);
    setTimeout(() => {
      if ((table.get(key) ?? 0) > 0) return;
      table.delete(key);
      end();
    }, 0);
  };
}

// --- the client and the room ---------------------------------------------------------------------

export function useClient(): Client {
  const client = useContext(ClientContext);
  if (!client) throw new Error("useClient: no <PulseProvider> above this component");
  return client;
}

export function useRoom(): Room {
  const room = useContext(RoomContext);
  if (!room) throw new Error("useRoom: no <RoomProvider> above this component");
  return room;
}

/** One value of the room's state, read again at every change. `read` must return the room's own
 * snapshots (or primitives): they keep their identity until they change. */
function useRoomValue<T>(read: (room: Room) => T): T {
  const room = useRoom();
  const subscribe = useCallback((changed: () => void) => room.subscribe(changed), [room]);
  const snapshot = (): T => read(room);
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

export function useStatus(): Status {
  return useRoomValue((room) => room.status);
}

export function useAccess(): AccessLevel | null {
  return useRoomValue((room) => room.access);
}

/** Why the room stopped or last failed (null once connected). */
export function useLastError(): PulseError | null {
  return useRoomValue((room) => room.lastError);
}

export function useSelf(): Member | null {
  return useRoomValue((room) => room.self);
}

export function useOthers(): readonly Member[] {
  return useRoomValue((room) => room.others);
}

export type UpdateMyPresence = (patch: Presence) => void;

/** This connection's presence, and its update (throttled by the client; the latest wins). */
export function useMyPresence(): [Presence | null, UpdateMyPresence] {
  return [useRoomValue((room) => room.presence), useUpdateMyPresence()];
}

export function useUpdateMyPresence(): UpdateMyPresence {
  const room = useRoom();
  return useCallback((patch: Presence) => room.updatePresence(patch), [room]);
}

/** Sends a broadcast; false when it was not sent (not connected, or below `write`). */
export function useBroadcastEvent(): (event: JsonValue) => boolean {
  const room = useRoom();
  return useCallback((event: JsonValue) => room.broadcast(event), [room]);
}

/** Calls `handler` for each of the room's events of `type` (any server frame type too), the
 * latest `handler` of the component, while it is mounted. */
export function useRoomEvent<K extends keyof RoomEventMap & string>(
  type: K,
  handler: (event: RoomEventMap[K]) => void,
): void {
  const room = useRoom();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => room.on(type, (event) => latest.current(event)), [room, type]);
}

/** The broadcasts of the others (and of the REST API). */
export function useEventListener(handler: (event: BroadcastEvent) => void): void {
  useRoomEvent("broadcast", handler);
}

export function useErrorListener(handler: (error: PulseError) => void): void {
  useRoomEvent("error", handler);
}

// --- threads and comments ------------------------------------------------------------------------

export interface ThreadsResult extends ThreadsState {
  /** The room's listed threads, newest first, live-updated (filtered by `resolved` if given). */
  threads: readonly Thread[];
}

export function useThreads(options: { resolved?: boolean } = {}): ThreadsResult {
  const threads = useRoomValue((room) => room.threads);
  const state = useRoomValue((room) => room.threadsState);
  const { resolved } = options;
  const shown = useMemo(
    () => (resolved === undefined ? threads : threads.filter((t) => t.resolved === resolved)),
    [threads, resolved],
  );
  return { ...state, threads: shown };
}

/** Loads the next page of a thread's comments (its `commentsNextCursor`). */
export function useLoadMoreComments(): (threadId: string) => Promise<void> {
  const room = useRoom();
  return useCallback((threadId: string) => room.loadMoreComments(threadId), [room]);
}

type Input<M extends keyof Room> = Room[M] extends (input: infer I) => unknown ? I : never;
type Output<M extends keyof Room> = Room[M] extends (...args: never[]) => infer R ? R : never;

// Each returns the room's write, stable while the room is: its promise settles with the
// server's answer (or rejects with the error frame), and it is resent after a reconnect.
export function useCreateThread(): (input: Input<"createThread">) => Promise<Thread> {
  return useWrite("createThread");
}

export function useCreateComment(): (input: Input<"createComment">) => Promise<Comment> {
  return useWrite("createComment");
}

export function useEditComment(): (input: Input<"editComment">) => Promise<Comment> {
  return useWrite("editComment");
}

export function useDeleteComment(): (input: Input<"deleteComment">) => Promise<void> {
  return useWrite("deleteComment");
}

export function useResolveThread(): (input: Input<"resolveThread">) => Promise<Thread> {
  return useWrite("resolveThread");
}

export function useAddReaction(): (input: Input<"addReaction">) => Promise<Reaction[]> {
  return useWrite("addReaction");
}

export function useRemoveReaction(): (input: Input<"removeReaction">) => Promise<Reaction[]> {
  return useWrite("removeReaction");
}

export function useMarkThreadRead(): (threadId: string) => Promise<void> {
  return useWrite("markThreadRead");
}

type Write =
  | "createThread"
  | "createComment"
  | "editComment"
  | "deleteComment"
  | "resolveThread"
  | "addReaction"
  | "removeReaction"
  | "markThreadRead";

function useWrite<M extends Write>(method: M): (input: Input<M>) => Output<M> {
  const room = useRoom();
  return useCallback(
    (input: Input<M>) => (room[method] as (input: Input<M>) => Output<M>).call(room, input),
    [room, method],
  );
}

// --- the inbox -----------------------------------------------------------------------------------

/** The user's unread count across the environment's rooms (null until known). */
export function useInboxCount(): number | null {
  const client = useClient();
  const subscribe = useCallback((changed: () => void) => client.subscribe(changed), [client]);
  const count = (): number | null => client.inboxCount;
  return useSyncExternalStore(subscribe, count, count);
}

export interface InboxResult {
  count: number | null;
  /** The threads with unread activity, as far as loaded (most recent activity first). */
  entries: InboxEntry[];
  nextCursor: string | null;
  loading: boolean;
  error: PulseError | null;
  /** Lists the first page again (done on mount and whenever the count changes). */
  refresh(): void;
  /** Appends the next page, if any. */
  loadMore(): void;
}

/** The inbox: its count, live, and its entries, listed over a connected room's socket: the
 * first page on mount, at every `inbox.updated`, and (inside a RoomProvider) whenever its room
 * (re)connects; `loadMore` appends the next page. Outside a RoomProvider, a list made before any
 * room connected fails with NOT_CONNECTED: call `refresh()` later. */
export function useInbox(): InboxResult {
  const client = useClient();
  const count = useInboxCount();
  const connected = useConnectedRoom();
  const [updates, setUpdates] = useState(0);
  useEffect(() => client.on("inbox", () => setUpdates((n) => n + 1)), [client]);
  const [refreshes, setRefreshes] = useState(0);
  // Each reason to list the first page again: any of them makes a pending loadMore moot.
  const first = `${updates}|${refreshes}|${connected}`;
  const [more, setMore] = useState<{ cursor: string; first: string } | null>(null);
  const cursor = more && more.first === first ? more.cursor : null;
  const key = `${first}|${cursor}`;
  const [list, setList] = useState({
    entries: [] as InboxEntry[],
    nextCursor: null as string | null,
    error: null as PulseError | null,
    key: "",
  });
  useEffect(() => {
    let current = true; // a later load, or unmounting, makes this one's answer stale
    client.getInbox(cursor ? { cursor } : {}).then(
      (page) => {
        if (!current) return;
        setList((was) => ({
          entries: cursor ? [...was.entries, ...page.data] : page.data,
          nextCursor: page.nextCursor,
          error: null,
          key,
        }));
      },
      (error: PulseError) => {
        if (current) setList((was) => ({ ...was, error, key }));
      },
    );
    return () => {
      current = false;
    };
  }, [client, cursor, key]);
  const { nextCursor } = list;
  const refresh = useCallback(() => {
    setMore(null);
    setRefreshes((n) => n + 1);
  }, []);
  const loadMore = useCallback(() => {
    if (nextCursor) setMore({ cursor: nextCursor, first });
  }, [nextCursor, first]);
  return {
    count,
    entries: list.entries,
    nextCursor,
    loading: list.key !== key,
    error: list.error,
    refresh,
    loadMore,
  };
}

/** How many times the enclosing RoomProvider's room has connected since mount (0 outside one). */
function useConnectedRoom(): number {
  const room = useContext(RoomContext);
  const [connections, setConnections] = useState(0);
  useEffect(() => room?.on("connected", () => setConnections((n) => n + 1)), [room]);
  return connections;
}
