import { Emitter } from './emitter.js';
import { RealtimeError } from './errors.js';
import { defaultHubConnectionFactory, hubConnector, isServerUnavailable } from './hub.js';
import type { HubConnectionFactory, HubProtocolName, HubTransportName } from './hub.js';
import { Http, normalizeBaseUrl } from './http.js';
import type { FetchLike, TokenFactory } from './http.js';
import { Inbox } from './inbox.js';
import { PreferencesClient } from './preferences.js';
import { PushClient, base64UrlToBytes } from './push.js';
import { toRetryPolicy } from './retry.js';
import type { RetryPolicy } from './retry.js';
import { sseConnector } from './sse.js';
import type { EventSourceConstructor } from './sse.js';
import type { Connection, Connector, ServerMessage } from './transport.js';
import type {
  ConnectionState, DeletedEvent, InboxPage, ListOptions, Logger, Notification, ReadEvent, StateChange, StorageLike,
  TransportName, UnreadCountPayload,
} from './types.js';

/** Hub over WebSockets, then SignalR's other transports, then the SSE endpoint. */
export const DEFAULT_TRANSPORTS: readonly TransportName[] = ['websockets', 'serversentevents', 'longpolling', 'sse'];

export interface ClientOptions {
  /** The server's base URL, e.g. `http://localhost:5000`. */
  url: string;
  /** Returns the user's JWT; called on every (re)connect and REST call, so it can hand out a fresh one. */
  accessTokenFactory: TokenFactory;
  /**
   * The transports to try, in order, on every (re)connect: the hub's `websockets`,
   * `serversentevents`, `longpolling`, and `sse` for the server's own event stream.
   * Default: all four in that order.
   */
  transports?: readonly TransportName[];
  /** The hub protocol: `json` (default) or `msgpack` (needs `@microsoft/signalr-protocol-msgpack`; JSON is used when the server does not offer it). */
  protocol?: HubProtocolName;
  /** How long to wait between attempts: a policy object, or a list of delays in ms (ending in `null` to give up). Default `[0, 2000, 10000, 30000]` with ±20 % jitter, then every 30 s for ever. */
  retryPolicy?: RetryPolicy | readonly (number | null)[];
  /** Keeps the resume cursor (the highest id seen) across page reloads, e.g. `localStorage`. */
  storage?: StorageLike;
  /** The storage key of the cursor; default `realtime:<url>:<sub of the token>:lastId`. */
  storageKey?: string;
  /**
   * Where to start when there is no stored cursor: `'now'` (default: only what arrives from now
   * on; the inbox has the rest) or an id to resume after (`0` replays the whole inbox as
   * `notification` events).
   */
  since?: number | 'now';
  /** `console` or any object with some of its methods; default silent. */
  logger?: Logger;
  /** The EventSource class for the `sse` transport; default `globalThis.EventSource` (in Node: `import { EventSource } from 'eventsource'`). */
  EventSource?: EventSourceConstructor;
  /** The fetch for REST calls; default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Builds hub connections; default @microsoft/signalr's HubConnectionBuilder (tests pass fakes). */
  hubConnectionFactory?: HubConnectionFactory;
}

export interface ClientEvents {
  /** Every notification exactly once, in id order, across reconnects, restarts and transport switches. */
  notification: (notification: Notification) => void;
  /** The caller's unread count changed. */
  unreadCount: (unreadCount: number) => void;
  /** Read state changed on another device or tab, or through REST. */
  read: (event: ReadEvent) => void;
  /** Notifications were removed from the inbox (elsewhere, or replaced by a collapse key). */
  deleted: (event: DeletedEvent) => void;
  stateChanged: (change: StateChange) => void;
  /** A failed connection attempt, a lost connection, a throwing handler, a storage failure. */
  error: (error: Error) => void;
}

interface Running {
  stopped: boolean;
  connection: Connection | null;
  /** Resolves when `stop()` is called, so that no wait (backoff, token, connect) holds the stop up. */
  stopSignal: Promise<typeof STOPPED>;
  signalStop: () => void;
  done: Promise<void>;
}

/** Creates a client; nothing connects before `start()`. */
export function createClient(options: ClientOptions): RealtimeClient {
  return new RealtimeClient(options);
}

export class RealtimeClient {
  readonly push: PushClient;
  /** The user's notification preferences: `get()` and `set(doc)`. */
  readonly preferences: PreferencesClient;
  private readonly baseUrl: string;
  private readonly http: Http;
  private readonly inbox: Inbox;
  private readonly emitter: Emitter<ClientEvents>;
  private readonly logger: Logger;
  private readonly retryPolicy: RetryPolicy;
  private readonly transports: readonly TransportName[];
  private readonly connectors: Map<TransportName, Connector>;
  private protocol: HubProtocolName;
  private running: Running | null = null;
  private cursor: number | null = null;
  private currentState: ConnectionState = 'disconnected';
  private currentTransport: TransportName | null = null;

  constructor(private readonly options: ClientOptions) {
    if (typeof options?.accessTokenFactory !== 'function') throw new TypeError('accessTokenFactory is required (a function returning the user\'s token)');
    this.baseUrl = normalizeBaseUrl(options.url);
    this.logger = options.logger ?? {};
    this.emitter = new Emitter<ClientEvents>((event, error) => {
      this.logger.error?.(`realtime: a handler of '${String(event)}' threw`, error);
      if (event !== 'error') this.emitter.emit('error', asError(error));
    });
    const fetchImpl = options.fetch ?? ((input: string, init?: RequestInit) => globalThis.fetch(input, init));
    this.http = new Http(this.baseUrl, options.accessTokenFactory, fetchImpl);
    this.inbox = new Inbox(this.http);
    this.push = new PushClient(this.http);
    this.preferences = new PreferencesClient(this.http);
    this.retryPolicy = toRetryPolicy(options.retryPolicy);
    this.protocol = options.protocol ?? 'json';
    this.transports = validateTransports(options.transports ?? DEFAULT_TRANSPORTS);

    const hubFactory = options.hubConnectionFactory ?? defaultHubConnectionFactory;
    const EventSourceImpl = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    this.connectors = new Map();
    for (const transport of this.transports) {
      this.connectors.set(transport, transport === 'sse'
        ? sseConnector({ baseUrl: this.baseUrl, EventSource: EventSourceImpl })
        : hubConnector({
          baseUrl: this.baseUrl,
          transport: transport as HubTransportName,
          protocol: () => this.protocol,
          onProtocolRefused: () => {
            this.logger.warn?.('realtime: the server does not offer the MessagePack hub protocol; using JSON');
            this.protocol = 'json';
          },
          factory: hubFactory,
          logger: this.logger,
        }));
    }
  }

  /** `connecting`, `connected`, `reconnecting` or `disconnected`. */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** The transport of the open connection, or `null`. */
  get transport(): TransportName | null {
    return this.currentState === 'connected' ? this.currentTransport : null;
  }

  /** The highest notification id delivered to the app (the resume cursor), or `null` before the first connect. */
  get lastId(): number | null {
    return this.cursor;
  }

  on<K extends keyof ClientEvents>(event: K, handler: ClientEvents[K]): () => void {
    return this.emitter.on(event, handler);
  }

  off<K extends keyof ClientEvents>(event: K, handler?: ClientEvents[K]): void {
    this.emitter.off(event, handler);
  }

  /**
   * Connects and keeps connected until `stop()`. Resolves once the first connection is open and
   * caught up; rejects if the retry policy gives up first or `stop()` is called meanwhile.
   */
  start(): Promise<void> {
    if (this.running) return Promise.reject(new RealtimeError('the client is already started'));
    let resolveStarted!: () => void;
    let rejectStarted!: (error: Error) => void;
    const started = new Promise<void>((resolve, reject) => {
      resolveStarted = resolve;
      rejectStarted = reject;
    });
    let signalStop!: () => void;
    const stopSignal = new Promise<typeof STOPPED>((resolve) => {
      signalStop = () => resolve(STOPPED);
    });
    const running: Running = { stopped: false, connection: null, stopSignal, signalStop, done: Promise.resolve() };
    this.running = running;
    running.done = this.run(running, resolveStarted, rejectStarted);
    return started;
  }

  /** Closes the connection and stops reconnecting. */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.stopped = true;
    running.signalStop();
    const connection = running.connection;
    running.connection = null;
    await connection?.close();
    await running.done;
    if (this.running === running) this.running = null;
  }

  list(options?: ListOptions): Promise<InboxPage> {
    return this.inbox.list(options);
  }

  unreadCount(): Promise<UnreadCountPayload> {
    return this.inbox.unreadCount();
  }

  markRead(id: number): Promise<void> {
    return this.inbox.markRead(id);
  }

  markUnread(id: number): Promise<void> {
    return this.inbox.markUnread(id);
  }

  markAllRead(upTo?: number): Promise<void> {
    return this.inbox.markAllRead(upTo);
  }

  remove(id: number): Promise<void> {
    return this.inbox.remove(id);
  }

  // ------------------------------------------------------------------ connection loop ---

  private async run(running: Running, resolveStarted: () => void, rejectStarted: (error: Error) => void): Promise<void> {
    let everConnected = false;
    let retries = 0;
    let since = Date.now();
    let lastError: Error = new RealtimeError('not connected yet');
    this.setState('connecting', null);
    while (!running.stopped) {
      const result = await this.round(running, everConnected ? 'reconnecting' : 'connecting', () => {
        if (!everConnected) {
          everConnected = true;
          resolveStarted();
        }
      });
      if (running.stopped) break;
      lastError = result.error;
      if (result.connected) {
        retries = 0;
        since = Date.now();
      }
      const delay = this.retryPolicy.nextRetryDelayInMilliseconds({
        previousRetryCount: retries,
        elapsedMilliseconds: Date.now() - since,
        retryReason: lastError,
      });
      if (delay === null || delay === undefined) {
        this.logger.warn?.('realtime: the retry policy gave up', lastError);
        break;
      }
      retries += 1;
      this.setState(everConnected ? 'reconnecting' : 'connecting', null, lastError);
      this.logger.debug?.(`realtime: next attempt in ${delay} ms`);
      await this.sleep(running, delay);
    }
    if (this.running === running) this.running = null; // given up: start() may be called again
    this.setState('disconnected', null, running.stopped ? undefined : lastError);
    if (!everConnected) {
      rejectStarted(running.stopped ? new RealtimeError('stopped before connecting') : lastError);
    }
  }

  /**
   * Tries each transport in order until one connects; stays until that connection ends.
   * Resolves with whether one connected and the error that ended it (or the last attempt's).
   */
  private async round(running: Running, pendingState: ConnectionState, onConnected: () => void): Promise<{ connected: boolean; error: Error }> {
    let lastError: Error = new RealtimeError('no transport to try');
    for (const transport of this.transports) {
      if (running.stopped) break;
      this.setState(pendingState, transport);
      let closed!: (error: Error) => void;
      const ended = new Promise<Error>((resolve) => {
        closed = resolve;
      });
      let connection: Connection;
      const attempt = { live: true };
      try {
        const token = await orStopped(running, Promise.resolve(this.options.accessTokenFactory()));
        if (token === STOPPED) break;
        if (typeof token !== 'string' || token === '') throw new RealtimeError('accessTokenFactory returned no token');
        this.subject ??= subjectOf(token);
        const afterId = await orStopped(running, this.resolveCursor());
        if (afterId === STOPPED) break;
        this.logger.debug?.(`realtime: connecting over ${transport}, resuming after ${afterId}`);
        const opening = this.connectors.get(transport)!(token, afterId, {
          // Messages of a connection that ended (or of one the client closed) are ignored.
          message: (type, payload) => {
            if (attempt.live && !running.stopped) this.dispatch(type, payload);
          },
          closed: (error) => {
            attempt.live = false;
            closed(error);
          },
        });
        const opened = await orStopped(running, opening);
        if (opened === STOPPED) {
          // Stopped while connecting: close that connection whenever it opens, without waiting for it.
          attempt.live = false;
          opening.then((c) => c.close(), () => {});
          break;
        }
        connection = opened;
      } catch (error) {
        attempt.live = false;
        lastError = asError(error);
        this.logger.warn?.(`realtime: could not connect over ${transport}: ${lastError.message}`);
        this.emitter.emit('error', lastError);
        if (isServerUnavailable(error)) break; // the server, not the transport: wait, then start over with the first
        continue;
      }
      running.connection = connection;
      this.setState('connected', transport);
      onConnected();
      const result = await orStopped(running, ended);
      const error = result === STOPPED ? new RealtimeError('stopped') : result;
      attempt.live = false;
      running.connection = null;
      if (running.stopped) {
        await connection.close();
        return { connected: true, error: new RealtimeError('stopped') };
      }
      this.logger.info?.(`realtime: the ${transport} connection was lost: ${error.message}`);
      this.emitter.emit('error', error);
      await connection.close();
      return { connected: true, error };
    }
    return { connected: false, error: lastError };
  }

  /** The id to resume after: memory, then storage, then `since` (`'now'`: the newest id in the inbox). */
  private async resolveCursor(): Promise<number> {
    if (this.cursor !== null) return this.cursor;
    const stored = this.readStoredCursor();
    if (stored !== null) {
      this.cursor = stored;
      return stored;
    }
    const since = this.options.since ?? 'now';
    if (since === 'now') {
      const page = await this.inbox.list({ limit: 1 });
      this.cursor = page.items[0]?.id ?? 0;
    } else {
      if (!Number.isSafeInteger(since) || since < 0) throw new RangeError(`since must be 'now' or an id ≥ 0, got ${String(since)}`);
      this.cursor = since;
    }
    this.writeStoredCursor(this.cursor);
    return this.cursor;
  }

  private dispatch(type: ServerMessage, payload: unknown): void {
    switch (type) {
      case 'notification': {
        const n = payload as Notification;
        if (!n || typeof n.id !== 'number') return;
        // The server sends ids in increasing order on one connection; across connections
        // (reconnects, transport switches) anything not above the cursor was delivered already.
        if (this.cursor !== null && n.id <= this.cursor) {
          this.logger.debug?.(`realtime: skipped duplicate notification ${n.id}`);
          return;
        }
        this.cursor = n.id;
        this.writeStoredCursor(n.id);
        this.emitter.emit('notification', n);
        return;
      }
      case 'unreadCount': {
        const count = (payload as UnreadCountPayload)?.unreadCount;
        if (typeof count === 'number') this.emitter.emit('unreadCount', count);
        return;
      }
      case 'notificationRead':
        this.emitter.emit('read', payload as ReadEvent);
        return;
      case 'notificationDeleted':
        this.emitter.emit('deleted', payload as DeletedEvent);
        return;
    }
  }

  private storageKey(): string | null {
    if (!this.options.storage) return null;
    if (this.options.storageKey) return this.options.storageKey;
    return `realtime:${this.baseUrl}:${this.subject ?? 'user'}:lastId`;
  }

  private subject: string | null = null;

  private readStoredCursor(): number | null {
    const key = this.storageKey();
    if (!key) return null;
    try {
      const text = this.options.storage!.getItem(key);
      const value = text === null ? NaN : Number(text);
      return Number.isSafeInteger(value) && value >= 0 ? value : null;
    } catch (error) {
      this.emitter.emit('error', asError(error));
      return null;
    }
  }

  private writeStoredCursor(id: number): void {
    const key = this.storageKey();
    if (!key) return;
    try {
      this.options.storage!.setItem(key, String(id));
    } catch (error) {
      this.emitter.emit('error', asError(error));
    }
  }

  private setState(state: ConnectionState, transport: TransportName | null, error?: Error): void {
    if (state === this.currentState && transport === this.currentTransport) return;
    const previous = this.currentState;
    this.currentState = state;
    this.currentTransport = transport;
    const change: StateChange = { state, transport, previous };
    if (error) change.error = error;
    this.emitter.emit('stateChanged', change);
  }

  private async sleep(running: Running, ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const elapsed = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([elapsed, running.stopSignal]);
    clearTimeout(timer);
  }
}

const STOPPED: unique symbol = Symbol('stopped');

/** `promise`'s value, or STOPPED as soon as the client is stopped (the promise is left to settle by itself). */
function orStopped<T>(running: Running, promise: Promise<T>): Promise<T | typeof STOPPED> {
  return Promise.race([promise, running.stopSignal]);
}

/** The `sub` claim of a JWT (not verified: only to name the storage key), or null. */
function subjectOf(token: string): string | null {
  try {
    const payload = token.split('.')[1];
    if (!payload) return null;
    const json = new TextDecoder().decode(base64UrlToBytes(payload));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new RealtimeError(String(value));
}

function validateTransports(transports: readonly TransportName[]): readonly TransportName[] {
  const known = new Set<TransportName>(['websockets', 'serversentevents', 'longpolling', 'sse']);
  if (!Array.isArray(transports) || transports.length === 0) throw new TypeError('transports must list at least one transport');
  for (const t of transports) {
    if (!known.has(t)) throw new TypeError(`unknown transport '${String(t)}' (use websockets, serversentevents, longpolling or sse)`);
  }
  return [...new Set(transports)];
}
