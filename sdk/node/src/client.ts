/** `new Pulse({secretKey, baseUrl})`: the resources, and token minting with a cache. */
import { Transport, type PulseOptions, type RequestOptions } from "./http.js";
import {
  ActiveUsers,
  Attachments,
  Broadcast,
  Comments,
  Contract,
  Events,
  Inbox,
  NotificationSettingsApi,
  Reactions,
  Rooms,
  Threads,
  Users,
} from "./resources.js";
import { TokenCache } from "./tokens.js";
import type { MintedToken, MintRequest } from "./types.js";

export interface MintOptions extends RequestOptions {
  /** `false`: mint a new token even when a fresh one for this request is cached. */
  cache?: boolean;
}

export class Pulse {
  readonly rooms: Rooms;
  readonly threads: Threads;
  readonly comments: Comments;
  readonly reactions: Reactions;
  readonly attachments: Attachments;
  readonly events: Events;
  readonly users: Users;
  readonly inbox: Inbox;
  readonly notificationSettings: NotificationSettingsApi;
  readonly broadcast: Broadcast;
  readonly activeUsers: ActiveUsers;
  readonly contract: Contract;

  private readonly http: Transport;
  private readonly tokens = new TokenCache();

  constructor(options: PulseOptions) {
    this.http = new Transport(options);
    this.rooms = new Rooms(this.http);
    this.threads = new Threads(this.http);
    this.comments = new Comments(this.http);
    this.reactions = new Reactions(this.http);
    this.attachments = new Attachments(this.http);
    this.events = new Events(this.http);
    this.users = new Users(this.http, (userId) => {
      this.tokens.forget(userId);
    });
    this.inbox = new Inbox(this.http);
    this.notificationSettings = new NotificationSettingsApi(this.http);
    this.broadcast = new Broadcast(this.http);
    this.activeUsers = new ActiveUsers(this.http);
    this.contract = new Contract(this.http);
  }

  /** A token for one of your users (POST /auth/token), for the widget or client's
   * `token`/`tokenProvider`. The same request again gets the cached token until shortly
   * before it expires (`cache: false` mints anew). */
  mintToken(request: MintRequest, options: MintOptions = {}): Promise<MintedToken> {
    const mint = (): Promise<MintedToken> =>
      this.http.call("mintToken", { body: request }, options);
    return options.cache === false ? mint() : this.tokens.get(request, mint);
  }

  /** Forgets every cached token (after revoking a user's tokens, say). */
  clearTokenCache(): void {
    this.tokens.clear();
  }
}
