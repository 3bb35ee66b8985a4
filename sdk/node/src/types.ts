/** The SDK's request and answer types, read from the contract (src/generated/openapi.ts). */
import type { components, operations } from "./generated/openapi.js";

export type { components, operations } from "./generated/openapi.js";

/** One operation of the contract, by its operationId. */
export type OperationId = keyof operations;

type Schemas = components["schemas"];

type JsonContent<T> = T extends { content: { "application/json": infer B } } ? B : never;

/** The JSON request body of an operation (`never` when it takes none). */
export type RequestBody<Op extends OperationId> = operations[Op] extends {
  requestBody: infer R;
}
  ? JsonContent<NonNullable<R>>
  : never;

/** The query parameters of an operation. */
export type QueryParams<Op extends OperationId> = NonNullable<
  operations[Op]["parameters"]["query"]
>;

/** The JSON body of an operation's success answer (`undefined` for a 204 or a HEAD). */
export type Answer<Op extends OperationId> = operations[Op]["responses"] extends infer R
  ? 200 extends keyof R
    ? JsonContentOrVoid<R[200]>
    : 201 extends keyof R
      ? JsonContentOrVoid<R[201]>
      : 202 extends keyof R
        ? JsonContentOrVoid<R[202]>
        : undefined
  : never;

type JsonContentOrVoid<T> = [JsonContent<T>] extends [never] ? undefined : JsonContent<T>;

export type Room = Schemas["Room"];
export type RoomPage = Schemas["RoomPage"];
export type CreateRoomRequest = Schemas["CreateRoomRequest"];
export type UpdateRoomRequest = Schemas["UpdateRoomRequest"];
export type Thread = Schemas["Thread"];
export type ThreadWithComments = Schemas["ThreadWithComments"];
export type ThreadPage = Schemas["ThreadPage"];
export type CreateThreadRequest = Schemas["CreateThreadRequest"];
export type UpdateThreadRequest = Schemas["UpdateThreadRequest"];
export type Comment = Schemas["Comment"];
export type CommentPage = Schemas["CommentPage"];
export type CreateCommentRequest = Schemas["CreateCommentRequest"];
export type UpdateCommentRequest = Schemas["UpdateCommentRequest"];
export type ReactionRequest = Schemas["ReactionRequest"];
export type Reaction = Schemas["Reaction"];
export type Attachment = Schemas["Attachment"];
export type CreateAttachmentRequest = Schemas["CreateAttachmentRequest"];
export type CreatedAttachment = Schemas["CreatedAttachment"];
export type RoomEvent = Schemas["RoomEvent"];
export type RoomEventPage = Schemas["RoomEventPage"];
export type User = Schemas["User"];
export type UserPage = Schemas["UserPage"];
export type TokensRevoked = Schemas["TokensRevoked"];
export type InboxEntry = Schemas["InboxEntry"];
export type InboxEntryPage = Schemas["InboxEntryPage"];
export type InboxCount = Schemas["InboxCount"];
export type ThreadRead = Schemas["ThreadRead"];
export type ThreadSubscription = Schemas["ThreadSubscription"];
export type NotificationSettings = Schemas["NotificationSettings"];
export type NotificationSettingsRequest = Schemas["NotificationSettingsRequest"];
export type ActiveUser = Schemas["ActiveUser"];
export type ActiveUserList = Schemas["ActiveUserList"];
export type BroadcastRequest = Schemas["BroadcastRequest"];
export type Accepted = Schemas["Accepted"];
export type MintRequest = Schemas["MintRequest"];
export type MintedToken = Schemas["MintedToken"];
export type ErrorBody = Schemas["Error"];
export type AccessLevel = Schemas["AccessLevel"];
export type Metadata = Schemas["Metadata"];
