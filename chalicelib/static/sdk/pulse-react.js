/*! Pulse React bindings (ES module). Built from sdk/browser/src/react; do not edit. */

// src/react/index.ts
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore
} from "react";
import { createClient } from "./pulse-client.js";
var ClientContext = createContext(null);
var RoomContext = createContext(null);
function PulseProvider(props) {
  const given = "client" in props ? props.client : null;
  const [owned] = useState(() => given ? null : createClient(props));
  useEffect(() => {
    if (!owned) return;
    return retain(owned, "", () => owned.destroy());
  }, [owned]);
  return createElement(ClientContext.Provider, { value: given ?? owned }, props.children);
}
function RoomProvider({ roomId, initialPresence, children }) {
  const client = useClient();
  const [presence] = useState(initialPresence);
  const [epoch, setEpoch] = useState(0);
  const room = useMemo(
    () => client.getRoom(roomId) ?? client.enterRoom(roomId, presence ? { initialPresence: presence } : {}),
    // `epoch` renews a room that was left between this render and its effect.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [client, roomId, presence, epoch]
  );
  useEffect(() => {
    const release = retain(client, roomId, () => client.leaveRoom(roomId));
    if (client.getRoom(roomId) !== room) setEpoch((n) => n + 1);
    return release;
  }, [client, roomId, room]);
  return createElement(RoomContext.Provider, { value: room }, children);
}
var holders = /* @__PURE__ */ new WeakMap();
function retain(owner, key, end) {
  let counts = holders.get(owner);
  if (!counts) holders.set(owner, counts = /* @__PURE__ */ new Map());
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
function useClient() {
  const client = useContext(ClientContext);
  if (!client) throw new Error("useClient: no <PulseProvider> above this component");
  return client;
}
function useRoom() {
  const room = useContext(RoomContext);
  if (!room) throw new Error("useRoom: no <RoomProvider> above this component");
  return room;
}
function useRoomValue(read) {
  const room = useRoom();
  const subscribe = useCallback((changed) => room.subscribe(changed), [room]);
  const snapshot = () => read(room);
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}
function useStatus() {
  return useRoomValue((room) => room.status);
}
function useAccess() {
  return useRoomValue((room) => room.access);
}
function useLastError() {
  return useRoomValue((room) => room.lastError);
}
function useSelf() {
  return useRoomValue((room) => room.self);
}
function useOthers() {
  return useRoomValue((room) => room.others);
}
function useMyPresence() {
  return [useRoomValue((room) => room.presence), useUpdateMyPresence()];
}
function useUpdateMyPresence() {
  const room = useRoom();
  return useCallback((patch) => room.updatePresence(patch), [room]);
}
function useBroadcastEvent() {
  const room = useRoom();
  return useCallback((event) => room.broadcast(event), [room]);
}
function useRoomEvent(type, handler) {
  const room = useRoom();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => room.on(type, (event) => latest.current(event)), [room, type]);
}
function useEventListener(handler) {
  useRoomEvent("broadcast", handler);
}
function useErrorListener(handler) {
  useRoomEvent("error", handler);
}
function useThreads(options = {}) {
  const threads = useRoomValue((room) => room.threads);
  const state = useRoomValue((room) => room.threadsState);
  const { resolved } = options;
  const shown = useMemo(
    () => resolved === void 0 ? threads : threads.filter((t) => t.resolved === resolved),
    [threads, resolved]
  );
  return { ...state, threads: shown };
}
function useLoadMoreComments() {
  const room = useRoom();
  return useCallback((threadId) => room.loadMoreComments(threadId), [room]);
}
function useCreateThread() {
  return useWrite("createThread");
}
function useCreateComment() {
  return useWrite("createComment");
}
function useEditComment() {
  return useWrite("editComment");
}
function useDeleteComment() {
  return useWrite("deleteComment");
}
function useResolveThread() {
  return useWrite("resolveThread");
}
function useAddReaction() {
  return useWrite("addReaction");
}
function useRemoveReaction() {
  return useWrite("removeReaction");
}
function useMarkThreadRead() {
  return useWrite("markThreadRead");
}
function useWrite(method) {
  const room = useRoom();
  return useCallback(
    (input) => room[method].call(room, input),
    [room, method]
  );
}
function useInboxCount() {
  const client = useClient();
  const subscribe = useCallback((changed) => client.subscribe(changed), [client]);
  const count = () => client.inboxCount;
  return useSyncExternalStore(subscribe, count, count);
}
function useInbox() {
  const client = useClient();
  const count = useInboxCount();
  const connected = useConnectedRoom();
  const [updates, setUpdates] = useState(0);
  useEffect(() => client.on("inbox", () => setUpdates((n) => n + 1)), [client]);
  const [refreshes, setRefreshes] = useState(0);
  const first = `${updates}|${refreshes}|${connected}`;
  const [more, setMore] = useState(null);
  const cursor = more && more.first === first ? more.cursor : null;
  const key = `${first}|${cursor}`;
  const [list, setList] = useState({
    entries: [],
    nextCursor: null,
    error: null,
    key: ""
  });
  useEffect(() => {
    let current = true;
    client.getInbox(cursor ? { cursor } : {}).then(
      (page) => {
        if (!current) return;
        setList((was) => ({
          entries: cursor ? [...was.entries, ...page.data] : page.data,
          nextCursor: page.nextCursor,
          error: null,
          key
        }));
      },
      (error) => {
        if (current) setList((was) => ({ ...was, error, key }));
      }
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
    loadMore
  };
}
function useConnectedRoom() {
  const room = useContext(RoomContext);
  const [connections, setConnections] = useState(0);
  useEffect(() => room?.on("connected", () => setConnections((n) => n + 1)), [room]);
  return connections;
}
export {
  PulseProvider,
  RoomProvider,
  useAccess,
  useAddReaction,
  useBroadcastEvent,
  useClient,
  useCreateComment,
  useCreateThread,
  useDeleteComment,
  useEditComment,
  useErrorListener,
  useEventListener,
  useInbox,
  useInboxCount,
  useLastError,
  useLoadMoreComments,
  useMarkThreadRead,
  useMyPresence,
  useOthers,
  useRemoveReaction,
  useResolveThread,
  useRoom,
  useRoomEvent,
  useSelf,
  useStatus,
  useThreads,
  useUpdateMyPresence
};
