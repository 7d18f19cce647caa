import type { TransportName } from './types.js';

/** The server → client messages, named as the hub and the SSE stream name them. */
export type ServerMessage = 'notification' | 'unreadCount' | 'notificationRead' | 'notificationDeleted';
export const SERVER_MESSAGES: readonly ServerMessage[] = ['notification', 'unreadCount', 'notificationRead', 'notificationDeleted'];

/** What an open connection tells the client. */
export interface ConnectionHandlers {
  message(type: ServerMessage, payload: unknown): void;
  /** The connection ended (the server closed it, the network dropped, the token expired). Called at most once. */
  closed(error: Error): void;
}

/** One open connection over one transport. */
export interface Connection {
  readonly transport: TransportName;
  close(): Promise<void>;
}

/**
 * Opens a connection with `token` and catches up from `afterId` (Resume on the hub, `lastEventId`
 * on the SSE stream); resolves once it is open and caught up, rejects when it cannot connect.
 */
export type Connector = (token: string, afterId: number, handlers: ConnectionHandlers) => Promise<Connection>;
