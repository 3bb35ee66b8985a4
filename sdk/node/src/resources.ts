/** The operations grouped by resource: one method per operation of the contract, plus
 * `listAll` iterators over the cursor-paged lists. Each names its operationId once. */
import type { RequestOptions, Transport } from "./http.js";
import { allItems } from "./pages.js";
import type { Answer, QueryParams, RequestBody } from "./types.js";

type PageQuery<
  Op extends
    | "listRooms"
    | "listThreads"
    | "listComments"
    | "listEvents"
    | "listUsers"
    | "listInbox"
    | "listActiveUsers",
> = Omit<QueryParams<Op>, "cursor"> & { cursor?: string };

abstract class Resource {
  constructor(protected readonly http: Transport) {}
}

export class Rooms extends Resource {
  /** One page of the environment's rooms, in id order. */
  list(
    query: QueryParams<"listRooms"> = {},
    options?: RequestOptions,
  ): Promise<Answer<"listRooms">> {
    return this.http.call("listRooms", { query }, options);
  }
  /** Every room, page after page. */
  listAll(query: PageQuery<"listRooms"> = {}, options?: RequestOptions) {
    return allItems((cursor) => this.list({ ...query, cursor }, options), query.cursor);
  }
  create(body: RequestBody<"createRoom">, options?: RequestOptions): Promise<Answer<"createRoom">> {
    return this.http.call("createRoom", { body }, options);
  }
  get(roomId: string, options?: RequestOptions): Promise<Answer<"getRoom">> {
    return this.http.call("getRoom", { path: { roomId } }, options);
  }
  update(
    roomId: string,
    body: RequestBody<"updateRoom">,
    options?: RequestOptions,
  ): Promise<Answer<"updateRoom">> {
    return this.http.call("updateRoom", { path: { roomId }, body }, options);
  }
  delete(roomId: string, options?: RequestOptions): Promise<void> {
    return this.http.call("deleteRoom", { path: { roomId } }, options);
  }
}

export class Threads extends Resource {
  list(
    roomId: string,
    query: QueryParams<"listThreads"> = {},
    options?: RequestOptions,
  ): Promise<Answer<"listThreads">> {
    return this.http.call("listThreads", { path: { roomId }, query }, options);
  }
  listAll(roomId: string, query: PageQuery<"listThreads"> = {}, options?: RequestOptions) {
    return allItems((cursor) => this.list(roomId, { ...query, cursor }, options), query.cursor);
  }
  /** A thread with its first comment (`comment: {userId, body, attachmentIds?}`). */
  create(
    roomId: string,
    body: RequestBody<"createThread">,
    options?: RequestOptions,
  ): Promise<Answer<"createThread">> {
    return this.http.call("createThread", { path: { roomId }, body }, options);
  }
  get(roomId: string, threadId: string, options?: RequestOptions): Promise<Answer<"getThread">> {
    return this.http.call("getThread", { path: { roomId, threadId } }, options);
  }
  /** Resolve or reopen it (`resolved`), or change its `metadata`. */
  update(
    roomId: string,
    threadId: string,
    body: RequestBody<"updateThread">,
    options?: RequestOptions,
  ): Promise<Answer<"updateThread">> {
    return this.http.call("updateThread", { path: { roomId, threadId }, body }, options);
  }
  delete(roomId: string, threadId: string, options?: RequestOptions): Promise<void> {
    return this.http.call("deleteThread", { path: { roomId, threadId } }, options);
  }
}

export class Comments extends Resource {
  list(
    roomId: string,
    threadId: string,
    query: QueryParams<"listComments"> = {},
    options?: RequestOptions,
  ): Promise<Answer<"listComments">> {
    return this.http.call("listComments", { path: { roomId, threadId }, query }, options);
  }
  listAll(
    roomId: string,
    threadId: string,
    query: PageQuery<"listComments"> = {},
    options?: RequestOptions,
  ) {
    return allItems(
      (cursor) => this.list(roomId, threadId, { ...query, cursor }, options),
      query.cursor,
    );
  }
  create(
    roomId: string,
    threadId: string,
    body: RequestBody<"createComment">,
    options?: RequestOptions,
  ): Promise<Answer<"createComment">> {
    return this.http.call("createComment", { path: { roomId, threadId }, body }, options);
  }
  update(
    roomId: string,
    threadId: string,
    commentId: string,
    body: RequestBody<"updateComment">,
    options?: RequestOptions,
  ): Promise<Answer<"updateComment">> {
    return this.http.call(
      "updateComment",
      { path: { roomId, threadId, commentId }, body },
      options,
    );
  }
  delete(
    roomId: string,
    threadId: string,
    commentId: string,
    options?: RequestOptions,
  ): Promise<void> {
    return this.http.call("deleteComment", { path: { roomId, threadId, commentId } }, options);
  }
}

export class Reactions extends Resource {
  add(
    roomId: string,
    threadId: string,
    commentId: string,
    body: RequestBody<"addReaction">,
    options?: RequestOptions,
  ): Promise<Answer<"addReaction">> {
    return this.http.call("addReaction", { path: { roomId, threadId, commentId }, body }, options);
  }
  /** Removes `userId`'s `emoji` reaction. */
  remove(
    roomId: string,
    threadId: string,
    commentId: string,
    emoji: string,
    query: QueryParams<"removeReaction">,
    options?: RequestOptions,
  ): Promise<Answer<"removeReaction">> {
    return this.http.call(
      "removeReaction",
      { path: { roomId, threadId, commentId, emoji }, query },
      options,
    );
  }
}

export class Attachments extends Resource {
  /** Reserves an attachment: the answer holds the presigned POST to upload its bytes with. */
  create(
    roomId: string,
    body: RequestBody<"createAttachment">,
    options?: RequestOptions,
  ): Promise<Answer<"createAttachment">> {
    return this.http.call("createAttachment", { path: { roomId }, body }, options);
  }
}

export class Events extends Resource {
  /** The room's changes in order; `since`: the events after that `seq`. */
  list(
    roomId: string,
    query: QueryParams<"listEvents"> = {},
    options?: RequestOptions,
  ): Promise<Answer<"listEvents">> {
    return this.http.call("listEvents", { path: { roomId }, query }, options);
  }
  listAll(roomId: string, query: PageQuery<"listEvents"> = {}, options?: RequestOptions) {
    return allItems((cursor) => this.list(roomId, { ...query, cursor }, options), query.cursor);
  }
}

export class Users extends Resource {
  constructor(
    http: Transport,
    private readonly onRevoked: (userId: string) => void,
  ) {
    super(http);
  }
  list(
    query: QueryParams<"listUsers"> = {},
    options?: RequestOptions,
  ): Promise<Answer<"listUsers">> {
    return this.http.call("listUsers", { query }, options);
  }
  listAll(query: PageQuery<"listUsers"> = {}, options?: RequestOptions) {
    return allItems((cursor) => this.list({ ...query, cursor }, options), query.cursor);
  }
  get(userId: string, options?: RequestOptions): Promise<Answer<"getUser">> {
    return this.http.call("getUser", { path: { userId } }, options);
  }
  /** Every token minted for the user so far stops working (and leaves the token cache). */
  async revokeTokens(userId: string, options?: RequestOptions): Promise<Answer<"revokeTokens">> {
    const revoked = await this.http.call("revokeTokens", { path: { userId } }, options);
    this.onRevoked(userId); // its cached tokens would now be refused
    return revoked;
  }
  /** Start erasing the user (a job: poll `eraseJob`); its tokens are revoked first. */
  async erase(
    userId: string,
    body: RequestBody<"eraseUser">,
    options?: RequestOptions,
  ): Promise<Answer<"eraseUser">> {
    const job = await this.http.call("eraseUser", { path: { userId }, body }, options);
    this.onRevoked(userId);
    return job;
  }
  eraseJob(
    userId: string,
    jobId: string,
    options?: RequestOptions,
  ): Promise<Answer<"getEraseJob">> {
    return this.http.call("getEraseJob", { path: { userId, jobId } }, options);
  }
  /** Everything held about the user, or `{url, expiresAt}` of its download when large. */
  export(userId: string, options?: RequestOptions): Promise<Answer<"exportUser">> {
    return this.http.call("exportUser", { path: { userId } }, options);
  }
}

export class Inbox extends Resource {
  list(
    userId: string,
    query: QueryParams<"listInbox"> = {},
    options?: RequestOptions,
  ): Promise<Answer<"listInbox">> {
    return this.http.call("listInbox", { path: { userId }, query }, options);
  }
  listAll(userId: string, query: PageQuery<"listInbox"> = {}, options?: RequestOptions) {
    return allItems((cursor) => this.list(userId, { ...query, cursor }, options), query.cursor);
  }
  count(userId: string, options?: RequestOptions): Promise<Answer<"inboxCount">> {
    return this.http.call("inboxCount", { path: { userId } }, options);
  }
  markRead(
    userId: string,
    threadId: string,
    options?: RequestOptions,
  ): Promise<Answer<"markRead">> {
    return this.http.call("markRead", { path: { userId, threadId } }, options);
  }
  subscribe(
    roomId: string,
    threadId: string,
    body: RequestBody<"subscribe">,
    options?: RequestOptions,
  ): Promise<Answer<"subscribe">> {
    return this.http.call("subscribe", { path: { roomId, threadId }, body }, options);
  }
  unsubscribe(
    roomId: string,
    threadId: string,
    body: RequestBody<"unsubscribe">,
    options?: RequestOptions,
  ): Promise<Answer<"unsubscribe">> {
    return this.http.call("unsubscribe", { path: { roomId, threadId }, body }, options);
  }
}

export class NotificationSettingsApi extends Resource {
  get(roomId: string, userId: string, options?: RequestOptions): Promise<Answer<"getSettings">> {
    return this.http.call("getSettings", { path: { roomId, userId } }, options);
  }
  set(
    roomId: string,
    userId: string,
    body: RequestBody<"putSettings">,
    options?: RequestOptions,
  ): Promise<Answer<"putSettings">> {
    return this.http.call("putSettings", { path: { roomId, userId }, body }, options);
  }
}

export class Broadcast extends Resource {
  /** Sends `event` to every socket in the room (`broadcast` frames). */
  send(
    roomId: string,
    body: RequestBody<"broadcastToRoom">,
    options?: RequestOptions,
  ): Promise<Answer<"broadcastToRoom">> {
    return this.http.call("broadcastToRoom", { path: { roomId }, body }, options);
  }
}

export class ActiveUsers extends Resource {
  list(
    roomId: string,
    query: QueryParams<"listActiveUsers"> = {},
    options?: RequestOptions,
  ): Promise<Answer<"listActiveUsers">> {
    return this.http.call("listActiveUsers", { path: { roomId }, query }, options);
  }
  listAll(roomId: string, query: PageQuery<"listActiveUsers"> = {}, options?: RequestOptions) {
    return allItems((cursor) => this.list(roomId, { ...query, cursor }, options), query.cursor);
  }
}

export class Contract extends Resource {
  /** The OpenAPI document the server serves (GET /api/v1/openapi.json). */
  get(options?: RequestOptions): Promise<Answer<"getOpenApi">> {
    return this.http.call("getOpenApi", {}, options);
  }
  /** Its headers only: resolves when it is served. */
  head(options?: RequestOptions): Promise<void> {
    return this.http.call("headOpenApi", {}, options);
  }
}
