// Fakes for the unit tests: a scripted "server" reachable through a fake hub connection factory
// and a fake EventSource class, a fake fetch, and an in-memory storage. Nothing touches the network.

import { createClient } from '../../dist/index.js';

/** Resolves once `condition()` is truthy (checked every few ms); rejects after `timeout` ms. */
export async function until(condition, { timeout = 2000, what = 'the condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export const tick = () => new Promise((resolve) => setImmediate(resolve));

export function notification(id, extra = {}) {
  return {
    id, userId: 'alice', category: 'general', title: `n${id}`, body: null, data: null, link: null,
    priority: 'normal', broadcast: false, createdAt: new Date(0).toISOString(), expiresAt: null, readAt: null, ...extra,
  };
}

/**
 * One user's notifications on a pretend server, reachable over the hub (any SignalR transport)
 * and the SSE stream. `refuse` holds the transports that fail to connect ('websockets',
 * 'serversentevents', 'longpolling', 'sse', or 'all').
 */
export class FakeServer {
  constructor() {
    this.notifications = [];
    this.refuse = new Set();
    this.hubs = [];        // every FakeHub built (open or not)
    this.sources = [];     // every FakeEventSource built
    this.attempts = [];    // { transport, token, afterId } per connect attempt that got as far as the server
    this.protocols = [];
    this.refusedProtocols = new Set();
    /** A status code: the hub's negotiate fails with it (503 while starting, 404 when not routed). */
    this.unavailable = null;
    const server = this;
    this.hubConnectionFactory = (options) => new FakeHub(server, options);
    this.EventSource = class extends FakeEventSource {
      constructor(url) {
        super(server, url);
      }
    };
  }

  /** Stores and sends live to every open connection. */
  publish(n) {
    this.notifications.push(n);
    for (const c of this.openConnections()) c.deliver('notification', n);
  }

  send(type, payload) {
    for (const c of this.openConnections()) c.deliver(type, payload);
  }

  openConnections() {
    return [...this.hubs, ...this.sources].filter((c) => c.isOpen);
  }

  /** The server drops every open connection (restart, token expiry). */
  dropAll(message = 'connection lost') {
    for (const c of this.openConnections()) c.drop(new Error(message));
  }

  refused(transport) {
    return this.refuse.has('all') || this.refuse.has(transport);
  }

  after(afterId) {
    return this.notifications.filter((n) => n.id > afterId).sort((a, b) => a.id - b.id);
  }
}

export class FakeHub {
  constructor(server, options) {
    this.server = server;
    this.options = options;
    this.transport = options.transport;
    this.handlers = new Map();
    this.closeCallbacks = [];
    this.isOpen = false;
    this.invocations = [];
    server.hubs.push(this);
  }

  on(name, handler) {
    this.handlers.set(name, handler);
  }

  onclose(callback) {
    this.closeCallbacks.push(callback);
  }

  async start() {
    await tick();
    if (this.server.unavailable) {
      // What @microsoft/signalr throws when the negotiate request fails (server down or starting).
      const error = new Error(`Failed to complete negotiation with the server: Error: Service Unavailable: Status code '${this.server.unavailable}'`);
      error.errorType = 'FailedToNegotiateWithServerError';
      throw error;
    }
    if (this.server.refused(this.transport)) throw new Error(`${this.transport} refused`);
    if (this.server.refusedProtocols.has(this.options.protocol)) {
      throw new Error(`Server returned handshake error: The protocol '${this.options.protocol === 'msgpack' ? 'messagepack' : 'json'}' is not supported.`);
    }
    this.token = this.options.accessTokenFactory();
    this.server.protocols.push(this.options.protocol);
    this.isOpen = true;
  }

  async invoke(method, ...args) {
    this.invocations.push({ method, args });
    if (method !== 'Resume') throw new Error(`unexpected ${method}`);
    const [afterId] = args;
    this.server.attempts.push({ transport: this.transport, token: this.token, afterId });
    const replay = this.server.after(afterId);
    for (const n of replay) this.deliver('notification', n);
    return replay.length;
  }

  deliver(type, payload) {
    if (!this.isOpen) return;
    this.handlers.get(type)?.(payload);
  }

  /** The server closes the connection. */
  drop(error) {
    if (!this.isOpen) return;
    this.isOpen = false;
    for (const cb of this.closeCallbacks) cb(error);
  }

  async stop() {
    if (!this.isOpen) return;
    this.isOpen = false;
    for (const cb of this.closeCallbacks) cb(undefined);
  }
}

export class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;

  constructor(server, url) {
    this.server = server;
    this.url = url;
    const parsed = new URL(url);
    this.token = parsed.searchParams.get('access_token');
    this.lastEventId = parsed.searchParams.get('lastEventId');
    this.readyState = 0;
    this.listeners = new Map();
    this.onopen = null;
    this.onerror = null;
    /** How many ids before lastEventId the fake replays again (a server that overlaps, to test de-duplication). */
    this.overlap = server.sseOverlap ?? 0;
    server.sources.push(this);
    setImmediate(() => this.connect());
  }

  get isOpen() {
    return this.readyState === 1;
  }

  connect() {
    if (this.readyState === 2) return;
    if (this.server.refused('sse')) {
      this.onerror?.({ type: 'error', message: 'Non-200 status code (403)', code: 403 });
      return;
    }
    const afterId = this.lastEventId === null ? null : Number(this.lastEventId);
    this.server.attempts.push({ transport: 'sse', token: this.token, afterId });
    this.readyState = 1;
    this.onopen?.({ type: 'open' });
    if (afterId !== null) {
      for (const n of this.server.after(afterId - this.overlap)) this.deliver('notification', n);
    }
  }

  addEventListener(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(listener);
  }

  deliver(type, payload) {
    if (this.readyState !== 1) return;
    const event = { data: JSON.stringify(payload), lastEventId: type === 'notification' ? String(payload.id) : '' };
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  drop() {
    if (this.readyState !== 1) return;
    this.readyState = 0; // a real EventSource would now reconnect by itself with the same URL
    this.onerror?.({ type: 'error', message: 'stream ended' });
  }

  close() {
    this.readyState = 2;
  }
}

/** A fetch that records requests and answers from `routes` ({ 'GET /path': (req) => ({ status, body, headers }) }). */
export function fakeFetch(routes = {}) {
  const requests = [];
  const fetch = async (url, init = {}) => {
    const { pathname, search } = new URL(url);
    const method = init.method ?? 'GET';
    const request = { method, url, path: pathname, search, headers: init.headers ?? {}, body: init.body === undefined ? undefined : JSON.parse(init.body) };
    requests.push(request);
    const route = routes[`${method} ${pathname}`];
    const answer = route ? await route(request) : { status: 404, body: { title: 'Not Found', status: 404 }, contentType: 'application/problem+json' };
    const body = answer.body === undefined ? null : JSON.stringify(answer.body);
    return new Response(answer.status === 204 ? null : body, {
      status: answer.status ?? 200,
      headers: { 'content-type': answer.contentType ?? 'application/json', ...(answer.headers ?? {}) },
    });
  };
  fetch.requests = requests;
  return fetch;
}

export class MemoryStorage {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries));
  }

  getItem(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }

  setItem(key, value) {
    this.map.set(key, String(value));
  }

  removeItem(key) {
    this.map.delete(key);
  }
}

/** An unsigned JWT-shaped token for `sub` (the client only reads `sub` to name the storage key). */
export function fakeToken(sub, n = 0) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ sub, n })}.sig`;
}

/** Records every event of a client. */
export function record(client) {
  const events = [];
  for (const type of ['notification', 'unreadCount', 'read', 'deleted', 'stateChanged', 'error']) {
    client.on(type, (payload) => events.push({ type, payload }));
  }
  return {
    events,
    of: (type) => events.filter((e) => e.type === type).map((e) => e.payload),
    ids: () => events.filter((e) => e.type === 'notification').map((e) => e.payload.id),
    states: () => events.filter((e) => e.type === 'stateChanged').map((e) => `${e.payload.state}${e.payload.transport ? `:${e.payload.transport}` : ''}`),
  };
}

/**
 * A client of `server` (a FakeServer) for alice: hub connections and EventSources come from the
 * fake, it resumes from 0 and retries at once; `options` override any of that.
 */
export function fakeClient(server, options = {}) {
  return createClient({
    url: 'http://realtime.test',
    accessTokenFactory: () => fakeToken('alice'),
    hubConnectionFactory: server.hubConnectionFactory,
    EventSource: server.EventSource,
    since: 0,
    retryPolicy: [0, 5],
    ...options,
  });
}
