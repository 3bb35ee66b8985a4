// Types of pulse-react.js. Built from sdk/browser/src/react/index.ts; do not edit.
import { type ReactNode } from "react";
import type { AccessLevel, BroadcastEvent, Client, ClientOptions, Comment, InboxEntry, JsonValue, Member, Presence, PulseError, Reaction, Room, RoomEventMap, Status, Thread, ThreadsState } from "./pulse-client.js";
/** Either a client made by the page (its life is the page's), or the options of one the provider
 * makes on mount and destroys on unmount (the options are read once). */
export type PulseProviderProps = {
    children?: ReactNode;
} & ({
    client: Client;
} | ClientOptions);
export declare function PulseProvider(props: PulseProviderProps): ReactNode;
export interface RoomProviderProps {
    roomId: string;
    /** This connection's presence when it joins (read when the room is entered). */
    initialPresence?: Presence;
    children?: ReactNode;
}
/** Enters `roomId` with the provider's client while mounted, and leaves it once no provider of
 * that room is mounted any more. */
export declare function RoomProvider({ roomId, initialPresence, children }: RoomProviderProps): ReactNode;
export declare function useClient(): Client;
export declare function useRoom(): Room;
export declare function useStatus(): Status;
export declare function useAccess(): AccessLevel | null;
/** Why the room stopped or last failed (null once connected). */
export declare function useLastError(): PulseError | null;
export declare function useSelf(): Member | null;
export declare function useOthers(): readonly Member[];
export type UpdateMyPresence = (patch: Presence) => void;
/** This connection's presence, and its update (throttled by the client; the latest wins). */
export declare function useMyPresence(): [Presence | null, UpdateMyPresence];
export declare function useUpdateMyPresence(): UpdateMyPresence;
/** Sends a broadcast; false when it was not sent (not connected, or below `write`). */
export declare function useBroadcastEvent(): (event: JsonValue) => boolean;
/** Calls `handler` for each of the room's events of `type` (any server frame type too), the
 * latest `handler` of the component, while it is mounted. */
export declare function useRoomEvent<K extends keyof RoomEventMap & string>(type: K, handler: (event: RoomEventMap[K]) => void): void;
/** The broadcasts of the others (and of the REST API). */
export declare function useEventListener(handler: (event: BroadcastEvent) => void): void;
export declare function useErrorListener(handler: (error: PulseError) => void): void;
export interface ThreadsResult extends ThreadsState {
    /** The room's listed threads, newest first, live-updated (filtered by `resolved` if given). */
    threads: readonly Thread[];
}
export declare function useThreads(options?: {
    resolved?: boolean;
}): ThreadsResult;
/** Loads the next page of a thread's comments (its `commentsNextCursor`). */
export declare function useLoadMoreComments(): (threadId: string) => Promise<void>;
type Input<M extends keyof Room> = Room[M] extends (input: infer I) => unknown ? I : never;
export declare function useCreateThread(): (input: Input<"createThread">) => Promise<Thread>;
export declare function useCreateComment(): (input: Input<"createComment">) => Promise<Comment>;
export declare function useEditComment(): (input: Input<"editComment">) => Promise<Comment>;
export declare function useDeleteComment(): (input: Input<"deleteComment">) => Promise<void>;
export declare function useResolveThread(): (input: Input<"resolveThread">) => Promise<Thread>;
export declare function useAddReaction(): (input: Input<"addReaction">) => Promise<Reaction[]>;
export declare function useRemoveReaction(): (input: Input<"removeReaction">) => Promise<Reaction[]>;
export declare function useMarkThreadRead(): (threadId: string) => Promise<void>;
/** The user's unread count across the environment's rooms (null until known). */
export declare function useInboxCount(): number | null;
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
export declare function useInbox(): InboxResult;
export {};
