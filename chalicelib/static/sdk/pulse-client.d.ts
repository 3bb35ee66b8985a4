// Types of pulse-client.js. Built from sdk/browser/src/client/index.ts; do not edit.
/** A room's connection state (the widget's `status`). */
export type Status = "connecting" | "connected" | "reconnecting" | "offline" | "stopped";
/** A connection's level in its room, lowest first (docs/protocol.md, "Room access"). */
export type AccessLevel = "none" | "read" | "comment" | "write";
/** Why a token provider is asked: the first connect, a token near its `exp`, or a refusal. */
export type TokenReason = "initial" | "expired" | "refused";
export interface TokenContext {
    roomId: string;
    reason: TokenReason;
}
/** A callback that returns a fresh token (for example from the customer's backend). */
export type TokenProvider = (ctx: TokenContext) => Promise<string>;
/** The WebSocket constructor the client dials with (the browser's by default). */
export interface WebSocketLike {
    readonly readyState: number;
    onopen: ((event: unknown) => void) | null;
    onmessage: ((event: {
        data: unknown;
    }) => void) | null;
    onclose: ((event: {
        code: number;
        reason: string;
    }) => void) | null;
    onerror: ((event: unknown) => void) | null;
    send(data: string): void;
    close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;
export interface BackoffOptions {
    /** The first reconnect waits up to this (full jitter; doubles per attempt). Default 500. */
    initialMs?: number;
    /** The longest wait between reconnects. Default 30000. */
    maxMs?: number;
}
export interface ClientOptions {
    /** The environment's publishable key (`pk_...`). */
    publicApiKey: string;
    /** The WebSocket URL, `ws://` or `wss://`. */
    endpoint: string;
    /** A user token (from POST /auth/token); with no provider it is the only one used. */
    token?: string;
    /** Called for a fresh token: at the first connect without `token`, when it nears `exp`,
     * and when the server refused the connection (see docs/sdk-browser.md for the rules). */
    tokenProvider?: TokenProvider;
    /** Convenience provider: GET/POST this URL (credentials "include"), answer `{"token"}`. */
    tokenUrl?: string;
    tokenMethod?: "GET" | "POST";
    /** Injectable WebSocket class (tests, Node). Default: globalThis.WebSocket. */
    WebSocket?: WebSocketConstructor;
    /** At most one presence.update per this many ms; the latest data wins. Default 100. */
    presenceThrottleMs?: number;
    backoff?: BackoffOptions;
}
/** An error the client reports (the `error` event, `room.lastError`, a rejected promise). */
export interface PulseError {
    code: string;
    message: string;
    requestId?: string;
    retryAfter?: number;
    /** TOKEN_REFRESH_FAILED: failures in a row, and the wait before the next try (null: stopped). */
    attempt?: number;
    retryInMs?: number | null;
    /** TOKEN_REFRESH_FAILED: what went wrong, in words for the page's visitor. */
    problem?: string;
    /** ACCESS_DENIED: the level the action needs. */
    needed?: AccessLevel;
    /** INVALID_INPUT and friends: the field that was wrong. */
    field?: string;
    /** ITEM_TOO_LARGE in a list: where the list goes on past the item that cannot be sent. */
    nextCursor?: string | null;
}
export type JsonValue = null | boolean | number | string | JsonValue[] | {
    [key: string]: JsonValue;
};
export type Presence = {
    [key: string]: JsonValue;
};
export interface UserInfo {
    userId: string;
    name?: string | null;
    avatar?: string | null;
    color?: string | null;
}
/** A member of the room: this connection (`self`) or another (`others`). */
export interface Member extends UserInfo {
    connectionId: string;
    presence: Presence | null;
}
export interface Reaction {
    emoji: string;
    count: number;
    /** The first five who reacted. */
    userIds: string[];
}
export interface Attachment {
    id: string;
    name: string;
    mimeType: string;
    size: number;
    url: string | null;
    urlExpiresAt?: string | null;
    [key: string]: unknown;
}
export interface Comment {
    id: string;
    threadId: string;
    roomId: string;
    userId: string;
    body: string;
    createdAt: string;
    editedAt: string | null;
    reactions: Reaction[];
    mentions: string[];
    attachments: Attachment[];
    [key: string]: unknown;
}
/** A thread as the client holds it: the server's fields, its comments loaded so far (oldest
 * first) and where they go on (`commentsNextCursor`), and this user's unread state. */
export interface Thread {
    id: string;
    roomId: string;
    resolved: boolean;
    metadata: {
        [key: string]: JsonValue;
    };
    createdAt: string;
    updatedAt: string;
    createdBy: string;
    commentCount: number;
    comments: Comment[];
    commentsNextCursor: string | null;
    unreadCount?: number;
    /** Whether this user follows the thread; null/undefined: not known. */
    subscribed?: boolean | null;
    [key: string]: unknown;
}
/** The threads list's own state (the widget's "Try again" and loading line). */
export interface ThreadsState {
    /** Some page has arrived since the (re)connect. */
    loaded: boolean;
    /** A page is on its way (or the next one is queued). */
    loading: boolean;
    /** Every page was listed. */
    complete: boolean;
    /** Why listing stopped (listThreads() tries again), or null. */
    error: PulseError | null;
}
export type NotificationSetting = "all" | "mentions" | "none";
export interface NotificationSettings {
    roomId: string;
    setting: NotificationSetting;
}
export interface InboxEntry {
    threadId: string;
    roomId: string;
    unreadCount: number;
    reason: "mention" | "reply" | "subscribed";
    lastActivityAt: string;
}
export interface InboxPage {
    data: InboxEntry[];
    nextCursor: string | null;
    count: number;
}
/** inbox.updated: this user's unread count changed (in any room of the environment). */
export interface InboxUpdate {
    count: number;
    roomId: string | null;
    threadId: string;
    unreadCount: number;
}
export interface UploadProgress {
    loaded: number;
    total: number;
}
export interface UploadOptions {
    /** The file's name (a Blob has none; a File's own by default). */
    name?: string;
    onProgress?: (progress: UploadProgress) => void;
    /** Aborts the upload (the promise rejects with UPLOAD_ABORTED). */
    signal?: AbortSignal;
}
/** Any frame the server sends. */
export interface ServerMessage {
    type: string;
    requestId?: string;
    seq?: number;
    [key: string]: unknown;
}
export interface ConnectedEvent {
    connectionId: string | null;
    self: Member | null;
    others: Member[];
    access: AccessLevel | null;
}
export interface PresenceEvent {
    connectionId: string;
    userId: string;
    data: Presence | null;
}
export interface BroadcastEvent {
    connectionId: string;
    userId: string;
    event: JsonValue;
}
/** The room's events (`room.on(type, handler)`); every server frame is also an event by its
 * type ("thread.created", "comment.created", ...) with the frame as is. */
export interface RoomEventMap {
    status: {
        status: Status;
    };
    connected: ConnectedEvent;
    disconnected: {
        code: number;
        reason: string;
    };
    error: PulseError;
    presence: PresenceEvent;
    others: {
        others: Member[];
    };
    broadcast: BroadcastEvent;
    access: {
        access: AccessLevel | null;
        previous: AccessLevel | null;
    };
    threads: {
        threads: readonly Thread[];
    };
    inbox: InboxUpdate;
    /** A passing message for the visitor while connected (an item skipped, an action refused). */
    notice: {
        message: string;
    };
    /** Names of users arrived (getUser() knows them now). */
    users: {
        userIds: string[];
    };
    /** Every frame the server sends. */
    message: ServerMessage;
    [frameType: string]: unknown;
}
export interface ClientEventMap {
    inbox: InboxUpdate;
}
export type Unsubscribe = () => void;
export interface EnterRoomOptions {
    initialPresence?: Presence;
}
export interface Room {
    readonly roomId: string;
    readonly status: Status;
    readonly access: AccessLevel | null;
    readonly lastError: PulseError | null;
    readonly connectionId: string | null;
    readonly self: Member | null;
    readonly others: readonly Member[];
    readonly presence: Presence | null;
    /** Every listed thread, newest first, live-updated. */
    readonly threads: readonly Thread[];
    readonly threadsState: ThreadsState;
    /** Whether a connection has ever reached "connected" (the widget's wording depends on it). */
    readonly everConnected: boolean;
    connect(): void;
    disconnect(): void;
    reconnect(): void;
    /** Hand this room a new token (the widget's token attribute): connects at once unless
     * connected. */
    setToken(token: string | null): void;
    /** Merge `patch` into this user's presence (`replace: true`: set it whole) and share it:
     * at most one send per presenceThrottleMs, the latest wins; kept across reconnects. */
    updatePresence(patch: Presence, options?: {
        replace?: boolean;
    }): void;
    broadcast(event: JsonValue): boolean;
    listThreads(options?: {
        resolved?: boolean;
    }): Promise<void>;
    loadMoreComments(threadId: string): Promise<void>;
    isLoadingComments(threadId: string): boolean;
    createThread(input: {
        body: string;
        metadata?: {
            [key: string]: JsonValue;
        };
        attachmentIds?: string[];
    }): Promise<Thread>;
    createComment(input: {
        threadId: string;
        body: string;
        attachmentIds?: string[];
    }): Promise<Comment>;
    editComment(input: {
        threadId: string;
        commentId: string;
        body: string;
    }): Promise<Comment>;
    deleteComment(input: {
        threadId: string;
        commentId: string;
    }): Promise<void>;
    resolveThread(input: {
        threadId: string;
        resolved: boolean;
    }): Promise<Thread>;
    addReaction(input: {
        threadId: string;
        commentId: string;
        emoji: string;
    }): Promise<Reaction[]>;
    removeReaction(input: {
        threadId: string;
        commentId: string;
        emoji: string;
    }): Promise<Reaction[]>;
    /** Whether this user reacted with `emoji` (the summary names only five; frames say more). */
    hasReacted(commentId: string, emoji: string): boolean;
    uploadAttachment(file: Blob, options?: UploadOptions): Promise<Attachment>;
    markThreadRead(threadId: string): Promise<void>;
    subscribeToThread(threadId: string): Promise<void>;
    unsubscribeFromThread(threadId: string): Promise<void>;
    getNotificationSettings(): Promise<NotificationSettings>;
    setNotificationSettings(setting: NotificationSetting): Promise<NotificationSettings>;
    searchUsers(q: string): Promise<UserInfo[]>;
    /** A user's name, avatar and colour as far as known; unknown ids are looked up (users.search,
     * one at a time) and a `users` event says when one arrived. */
    getUser(userId: string): UserInfo | null;
    on<K extends keyof RoomEventMap & string>(type: K, handler: (event: RoomEventMap[K]) => void): Unsubscribe;
    subscribe(listener: () => void): Unsubscribe;
}
export interface Client {
    enterRoom(roomId: string, options?: EnterRoomOptions): Room;
    getRoom(roomId: string): Room | null;
    leaveRoom(roomId: string): void;
    /** The user's whole unread count (inbox.updated, inbox.listed); null until known. */
    readonly inboxCount: number | null;
    getInbox(options?: {
        cursor?: string | null;
    }): Promise<InboxPage>;
    on<K extends keyof ClientEventMap>(type: K, handler: (event: ClientEventMap[K]) => void): Unsubscribe;
    subscribe(listener: () => void): Unsubscribe;
    destroy(): void;
}

/** A client for one environment: rooms entered with it share its key, endpoint and tokens. */
export declare function createClient(options: ClientOptions): Client;
