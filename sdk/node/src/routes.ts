/** The route table: every operation of the contract, as the SDK calls it. test/contract.test.ts
 * compares it with chalicelib/openapi.json, so a route, parameter or field the server gains or
 * changes fails the SDK's tests until it is added here. */
import type { OperationId } from "./types.js";

export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface Route {
  readonly method: Method;
  /** With `{name}` placeholders for the path parameters. */
  readonly path: string;
  /** The query parameters it reads. */
  readonly query: readonly string[];
  /** The fields of its JSON body; `null`: it takes no body. */
  readonly body: readonly string[] | null;
  /** It reads an `Idempotency-Key` header (the SDK sends one by default). */
  readonly idempotencyKey: boolean;
}

const PAGE = ["limit", "cursor"] as const;
const ROOM = "/api/v1/rooms/{roomId}";
const THREAD = `${ROOM}/threads/{threadId}`;
const COMMENT = `${THREAD}/comments/{commentId}`;
const USER = "/api/v1/users/{userId}";

function route(
  method: Method,
  path: string,
  options: { query?: readonly string[]; body?: readonly string[]; idempotencyKey?: boolean } = {},
): Route {
  return {
    method,
    path,
    query: options.query ?? [],
    body: options.body ?? null,
    idempotencyKey: options.idempotencyKey ?? false,
  };
}

export const routes = {
  mintToken: route("POST", "/auth/token", {
    body: ["userId", "name", "avatar", "groupIds", "permissions"],
    idempotencyKey: true,
  }),
  listRooms: route("GET", "/api/v1/rooms", { query: ["userId", "groupIds", ...PAGE] }),
  createRoom: route("POST", "/api/v1/rooms", {
    body: ["id", "metadata", "defaultAccess", "usersAccess", "groupsAccess"],
    idempotencyKey: true,
  }),
  getRoom: route("GET", ROOM),
  updateRoom: route("PATCH", ROOM, {
    body: ["metadata", "defaultAccess", "usersAccess", "groupsAccess"],
  }),
  deleteRoom: route("DELETE", ROOM),
  listThreads: route("GET", `${ROOM}/threads`, { query: ["resolved", ...PAGE] }),
  createThread: route("POST", `${ROOM}/threads`, {
    body: ["comment", "metadata"],
    idempotencyKey: true,
  }),
  getThread: route("GET", THREAD),
  updateThread: route("PATCH", THREAD, { body: ["resolved", "metadata"] }),
  deleteThread: route("DELETE", THREAD),
  listComments: route("GET", `${THREAD}/comments`, { query: PAGE }),
  createComment: route("POST", `${THREAD}/comments`, {
    body: ["userId", "body", "attachmentIds"],
    idempotencyKey: true,
  }),
  updateComment: route("PATCH", COMMENT, { body: ["body"] }),
  deleteComment: route("DELETE", COMMENT),
  addReaction: route("POST", `${COMMENT}/reactions`, {
    body: ["emoji", "userId"],
    idempotencyKey: true,
  }),
  removeReaction: route("DELETE", `${COMMENT}/reactions/{emoji}`, { query: ["userId"] }),
  createAttachment: route("POST", `${ROOM}/attachments`, {
    body: ["name", "mimeType", "size"],
    idempotencyKey: true,
  }),
  listEvents: route("GET", `${ROOM}/events`, { query: ["since", ...PAGE] }),
  listUsers: route("GET", "/api/v1/users", { query: ["q", ...PAGE] }),
  getUser: route("GET", USER),
  revokeTokens: route("POST", `${USER}/revoke-tokens`, { idempotencyKey: true }),
  eraseUser: route("POST", `${USER}/erase`, { body: ["mode"], idempotencyKey: true }),
  getEraseJob: route("GET", `${USER}/erase/{jobId}`),
  exportUser: route("GET", `${USER}/export`),
  listInbox: route("GET", `${USER}/inbox`, { query: PAGE }),
  inboxCount: route("GET", `${USER}/inbox/count`),
  markRead: route("POST", `${USER}/threads/{threadId}/read`),
  subscribe: route("POST", `${THREAD}/subscribe`, { body: ["userId"] }),
  unsubscribe: route("POST", `${THREAD}/unsubscribe`, { body: ["userId"] }),
  getSettings: route("GET", `${ROOM}/users/{userId}/notification-settings`),
  putSettings: route("PUT", `${ROOM}/users/{userId}/notification-settings`, {
    body: ["setting"],
  }),
  listActiveUsers: route("GET", `${ROOM}/active_users`, { query: ["cursor"] }),
  broadcastToRoom: route("POST", `${ROOM}/broadcast`, { body: ["event"], idempotencyKey: true }),
  getOpenApi: route("GET", "/api/v1/openapi.json"),
  headOpenApi: route("HEAD", "/api/v1/openapi.json"),
} as const satisfies Record<OperationId, Route>;
