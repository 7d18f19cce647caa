/** A notification as the server sends it (API.md, "The notification object"). */
export interface Notification {
  id: number;
  userId: string | null;
  category: string;
  title: string;
  body: string | null;
  data: Record<string, unknown> | null;
  link: string | null;
  priority: 'low' | 'normal' | 'high' | 'urgent';
  broadcast: boolean;
  createdAt: string;
  expiresAt: string | null;
  readAt: string | null;
  /** The send's collapse key: a newer notification with the same key replaces this one while it is unread. */
  collapseKey: string | null;
}

/** `GET /api/notifications`. */
export interface InboxPage {
  items: Notification[];
  unreadCount: number;
  nextBefore: number | null;
}

export interface ListOptions {
  /** Only ids below this one (pass the previous page's `nextBefore`). */
  before?: number;
  /** 1–200 (server default 50). */
  limit?: number;
  /** Only unread ones. */
  unread?: boolean;
  category?: string;
}

/** `GET /api/notifications/unread-count`. */
export interface UnreadCountPayload {
  unreadCount: number;
}

/** The `read` event: read state changed on another device or tab, or through REST. */
export interface ReadEvent {
  ids: number[];
  all: boolean;
  upTo: number | null;
  read: boolean;
  unreadCount: number;
}

/** The `deleted` event. */
export interface DeletedEvent {
  ids: number[];
  unreadCount: number;
}

/**
 * How the client reaches the server. The first three are SignalR transports of the hub
 * (`/hubs/notifications`); `sse` is the server's own Server-Sent Events endpoint
 * (`/api/notifications/stream`).
 */
export type TransportName = 'websockets' | 'serversentevents' | 'longpolling' | 'sse';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface StateChange {
  state: ConnectionState;
  /** The transport connected or being tried; `null` while waiting between attempts and when disconnected. */
  transport: TransportName | null;
  previous: ConnectionState;
  /** Why the connection was lost or the attempt failed, when it was. */
  error?: Error;
}

/** What `localStorage` offers; enough to keep the resume cursor across page reloads. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem?(key: string): void;
}

/** Any of `console`'s methods; missing ones are skipped. */
export interface Logger {
  debug?(...args: unknown[]): void;
  info?(...args: unknown[]): void;
  warn?(...args: unknown[]): void;
  error?(...args: unknown[]): void;
}
