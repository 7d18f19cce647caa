// Clients as a user would write them (the official @microsoft/signalr client and the
// `eventsource` package), with every received event recorded, and bounded waits on them.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { HubConnectionBuilder, HttpTransportType, LogLevel } from '@microsoft/signalr';
import { EventSource } from 'eventsource';
import { RealtimeServer } from './server.mjs';

export { HttpTransportType };

/** The fields every notification object carries (API.md, "The notification object"). */
export const NOTIFICATION_FIELDS = [
  'id', 'userId', 'category', 'title', 'body', 'data', 'link',
  'priority', 'broadcast', 'createdAt', 'expiresAt', 'readAt', 'collapseKey',
];

const HUB_EVENTS = ['notification', 'unreadCount', 'notificationRead', 'notificationDeleted'];

const clientLogLevel = process.env.E2E_CLIENT_LOG ? LogLevel.Debug : LogLevel.None;

/** A unique user id per call, so that tests of one file never see each other's notifications. */
let userCounter = 0;
export function newUser(prefix) {
  userCounter += 1;
  return `${prefix}-${userCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Records events ({ type, payload }) and lets a test wait, bounded, until a condition holds. */
export class EventLog {
  constructor(name) {
    this.name = name;
    this.events = [];
    this.waiters = new Set();
  }

  push(type, payload, extra = {}) {
    this.events.push({ type, payload, ...extra });
    for (const waiter of [...this.waiters]) waiter();
  }

  of(type) {
    return this.events.filter((e) => e.type === type);
  }

  /** The payloads of the `notification` events so far. */
  get notifications() {
    return this.of('notification').map((e) => e.payload);
  }

  get notificationIds() {
    return this.notifications.map((n) => n.id);
  }

  /**
   * Resolves with the first truthy value of `condition()`, checked now and after every event;
   * rejects after `timeout` ms with `what` and the events seen so far.
   */
  waitUntil(condition, { timeout = 10_000, what = 'the condition' } = {}) {
    return new Promise((resolve, reject) => {
      let waiter;
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.name}: timed out after ${timeout} ms waiting for ${what}; events so far:\n${this.describe()}`));
      }, timeout);
      waiter = () => {
        let value;
        try {
          value = condition();
        } catch (err) {
          this.waiters.delete(waiter);
          clearTimeout(timer);
          reject(err);
          return;
        }
        if (value) {
          this.waiters.delete(waiter);
          clearTimeout(timer);
          resolve(value);
        }
      };
      this.waiters.add(waiter);
      waiter();
    });
  }

  /** Waits for the `notification` event with this id and returns its payload. */
  waitForNotification(id, options = {}) {
    return this.waitUntil(() => this.notifications.find((n) => n.id === id), { what: `notification ${id}`, ...options });
  }

  /** Waits for an event of `type` whose payload satisfies `match` (default: any) and returns the payload. */
  waitForEvent(type, match = () => true, options = {}) {
    return this.waitUntil(() => this.of(type).map((e) => e.payload).find(match), { what: `a ${type} event`, ...options });
  }

  describe() {
    return this.events
      .map((e) => `  ${e.type} ${typeof e.payload === 'string' ? e.payload : JSON.stringify(e.payload)}`)
      .join('\n') || '  (none)';
  }
}

/**
 * The setup every test file shares: a server of its own (fresh database, free port) started
 * before the file's tests, and the clients they open; after them the clients are closed, then
 * the server is disposed. `server` is usable once the `before` hook has run.
 */
export function useServer() {
  const server = new RealtimeServer();
  const clients = new Clients();
  before(() => server.create(), { timeout: 45_000 });
  after(async () => {
    await clients.closeAll();
    await server.dispose();
  });
  return { server, clients };
}

/** Closes every client a test file opened (a leftover one would keep the test process alive). */
export class Clients {
  constructor() {
    this.closers = [];
  }

  track(close) {
    this.closers.push(close);
  }

  async closeAll() {
    const closers = this.closers.splice(0);
    await Promise.allSettled(closers.map((close) => close()));
  }
}

/**
 * A SignalR hub connection to /hubs/notifications for `token` (a string or an async factory),
 * recording every server → client event in `connection.log`. Not started. `protocol`: an
 * IHubProtocol (default JSON), e.g. `new MessagePackHubProtocol()`.
 */
export function hubConnection(server, clients, { token, transport = HttpTransportType.WebSockets, skipNegotiation = false, reconnectPolicy, name = 'hub', protocol } = {}) {
  const accessTokenFactory = typeof token === 'function' ? token : () => token;
  let builder = new HubConnectionBuilder()
    .withUrl(`${server.url}/hubs/notifications`, { transport, skipNegotiation, accessTokenFactory })
    .configureLogging(clientLogLevel);
  if (reconnectPolicy) builder = builder.withAutomaticReconnect(reconnectPolicy);
  if (protocol) builder = builder.withHubProtocol(protocol);
  const connection = builder.build();
  connection.serverTimeoutInMilliseconds = 30_000;
  const log = new EventLog(name);
  for (const type of HUB_EVENTS) {
    connection.on(type, (payload) => log.push(type, payload));
  }
  connection.onreconnecting((error) => log.push('reconnecting', error?.message ?? null));
  connection.onreconnected((id) => log.push('reconnected', id ?? null));
  connection.onclose((error) => log.push('close', error?.message ?? null));
  connection.log = log;
  clients.track(() => connection.stop());
  return connection;
}

/** Starts a hub connection and calls Resume(afterId); returns the number replayed. */
export async function startAndResume(connection, afterId = 0) {
  await connection.start();
  return connection.invoke('Resume', afterId);
}

/**
 * An EventSource on /api/notifications/stream?access_token=…[&query], recording `open`,
 * `error`, and the named events (payload: the parsed data; `lastEventId` kept beside it).
 * `requests` records each HTTP request the EventSource made (its Last-Event-ID header) and the
 * status of the answer: the fetch is the global one, only observed.
 */
export function eventSource(server, clients, { token, query = '', name = 'eventsource' } = {}) {
  const log = new EventLog(name);
  const requests = [];
  const observingFetch = async (url, init) => {
    const headers = new Headers(init?.headers);
    const record = { lastEventId: headers.get('last-event-id'), status: null };
    requests.push(record);
    try {
      const response = await fetch(url, init);
      record.status = response.status;
      return response;
    } catch (err) {
      record.status = err.cause?.code ?? err.name;
      throw err;
    }
  };
  const url = `${server.url}/api/notifications/stream?access_token=${encodeURIComponent(token)}${query ? `&${query}` : ''}`;
  const source = new EventSource(url, { fetch: observingFetch });
  source.addEventListener('open', () => log.push('open', null));
  source.addEventListener('error', (event) => log.push('error', event.message ?? null, { readyState: source.readyState }));
  for (const type of HUB_EVENTS) {
    source.addEventListener(type, (event) => {
      let payload;
      try {
        payload = JSON.parse(event.data);
      } catch {
        payload = { unparsable: event.data };
      }
      log.push(type, payload, { lastEventId: event.lastEventId, raw: event.data });
    });
  }
  source.log = log;
  source.requests = requests;
  clients.track(async () => source.close());
  return source;
}

/** Waits for the EventSource's next `open` event (the n-th overall). */
export function waitForOpen(source, count = 1, timeout = 10_000) {
  return source.log.waitUntil(() => source.log.of('open').length >= count, { timeout, what: `open event #${count}` });
}

/** Asserts `n` is a notification object (not a string) with every contract field present. */
export function assertNotificationShape(n) {
  assert.equal(typeof n, 'object', `a notification must arrive as a JSON object, got ${typeof n}: ${JSON.stringify(n)}`);
  assert.notEqual(n, null);
  for (const field of NOTIFICATION_FIELDS) {
    assert.ok(Object.hasOwn(n, field), `notification ${JSON.stringify(n)} lacks the field "${field}"`);
    assert.notEqual(n[field], undefined, `field "${field}" is undefined`);
  }
  assert.ok(Number.isSafeInteger(n.id) && n.id > 0, `id must be a positive integer, got ${JSON.stringify(n.id)}`);
  assert.ok(['low', 'normal', 'high', 'urgent'].includes(n.priority), `priority ${n.priority}`);
  assert.equal(typeof n.broadcast, 'boolean');
  assert.ok(!Number.isNaN(Date.parse(n.createdAt)), `createdAt ${n.createdAt} is not a date`);
}

/** Asserts `ids` are strictly increasing (in id order, no duplicate). */
export function assertIncreasing(ids, what = 'ids') {
  for (let i = 1; i < ids.length; i++) {
    assert.ok(ids[i] > ids[i - 1], `${what} not strictly increasing: ${JSON.stringify(ids)}`);
  }
}

/** A promise with its resolve function, for holding a client back until the test lets it go. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
