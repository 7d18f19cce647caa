// Helpers of the SDK's end-to-end tests: a client recorder with bounded waits, a proxy that
// refuses WebSocket upgrades (as a proxy or firewall that drops them), and a deferred.
import http from 'node:http';
import { EventSource } from 'eventsource';
import { after, before } from 'node:test';
import { createClient } from '../../dist/index.js';
import { RealtimeServer } from '../server.mjs';

export { EventSource };

let counter = 0;
/** A unique user per call, so tests never see each other's notifications. */
export function newUser(prefix) {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Records every event of a client and lets a test wait, bounded, for a condition. */
export class Recorder {
  constructor(client, name) {
    this.name = name;
    this.events = [];
    this.waiters = new Set();
    for (const type of ['notification', 'unreadCount', 'read', 'deleted', 'stateChanged', 'error']) {
      client.on(type, (payload) => {
        this.events.push({ type, payload, at: Date.now() });
        for (const waiter of [...this.waiters]) waiter();
      });
    }
  }

  of(type) {
    return this.events.filter((e) => e.type === type).map((e) => e.payload);
  }

  get ids() {
    return this.of('notification').map((n) => n.id);
  }

  get states() {
    return this.of('stateChanged').map((s) => `${s.state}${s.transport ? `:${s.transport}` : ''}`);
  }

  waitUntil(condition, { timeout = 15_000, what = 'the condition' } = {}) {
    return new Promise((resolve, reject) => {
      let waiter;
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.name}: timed out after ${timeout} ms waiting for ${what}; events:\n${this.describe()}`));
      }, timeout);
      waiter = () => {
        const value = condition();
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

  waitForIds(ids, options = {}) {
    return this.waitUntil(() => ids.every((id) => this.ids.includes(id)), { what: `notifications ${ids.join(', ')}`, ...options });
  }

  waitForState(state, transport, options = {}) {
    return this.waitUntil(() => {
      const last = this.of('stateChanged').at(-1);
      return last && last.state === state && (transport === undefined || last.transport === transport);
    }, { what: `state ${state}${transport ? `:${transport}` : ''}`, ...options });
  }

  describe() {
    return this.events.map((e) => `  ${e.type} ${e.payload instanceof Error ? e.payload.message : JSON.stringify(e.payload)}`).join('\n') || '  (none)';
  }
}

/** Closes every client a test file made. */
export class Clients {
  constructor() {
    this.clients = [];
  }

  /** createClient for `server`, with EventSource from the eventsource package; `options` override. */
  create(server, options) {
    const client = createClient({ url: server.url, EventSource, ...options });
    this.clients.push(client);
    return client;
  }

  async stopAll() {
    await Promise.allSettled(this.clients.splice(0).map((c) => c.stop()));
  }
}

/**
 * An HTTP proxy to `target` that passes every request through (streaming, so SSE works) but
 * refuses WebSocket upgrades, as a proxy that drops them. Returns { url, upgradesRefused, close() }.
 */
export async function upgradeRefusingProxy(target) {
  const targetUrl = new URL(target);
  const state = { upgradesRefused: 0 };
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const upstream = http.request({
      host: targetUrl.hostname,
      port: targetUrl.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: targetUrl.host },
    }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      res.flushHeaders();
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req, socket) => {
    state.upgradesRefused += 1;
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    get upgradesRefused() {
      return state.upgradesRefused;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function assertIncreasing(assert, ids) {
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `ids not strictly increasing: ${JSON.stringify(ids)}`);
}

/**
 * The setup the end-to-end files share: a server of their own (fresh database, free port)
 * started before the file's tests, and the SDK clients they create; after them the clients are
 * stopped, then the server is disposed. `server` is usable once the `before` hook has run.
 */
export function useServer() {
  const server = new RealtimeServer();
  const clients = new Clients();
  before(() => server.create(), { timeout: 60_000 });
  after(async () => {
    await clients.stopAll();
    await server.dispose();
  });
  return { server, clients };
}
