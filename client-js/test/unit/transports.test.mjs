import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from '../../dist/index.js';
import { FakeServer, fakeClient, fakeToken, notification, record, until } from './fakes.mjs';

/** A trailing slash on the base URL is part of what these tests check. */
const clientFor = (server, options = {}) => fakeClient(server, { url: 'http://realtime.test/', ...options });

test('The hub over WebSockets is tried first and used when it connects', async () => {
  const server = new FakeServer();
  const client = clientFor(server);
  const log = record(client);
  await client.start();
  assert.equal(client.state, 'connected');
  assert.equal(client.transport, 'websockets');
  assert.deepEqual(log.states(), ['connecting', 'connecting:websockets', 'connected:websockets']);
  assert.equal(server.hubs.length, 1);
  assert.equal(server.hubs[0].options.url, 'http://realtime.test/hubs/notifications');
  assert.equal(server.sources.length, 0, 'no event stream opened');
  await client.stop();
  assert.equal(client.state, 'disconnected');
  assert.equal(server.hubs[0].isOpen, false, 'stop closes the hub connection');
});

test('When every hub transport is refused the client falls back to the SSE endpoint, in the default order', async () => {
  const server = new FakeServer();
  server.refuse.add('websockets').add('serversentevents').add('longpolling');
  server.publish(notification(1));
  const client = clientFor(server);
  const log = record(client);
  await client.start();
  assert.equal(client.transport, 'sse');
  assert.deepEqual(server.hubs.map((h) => h.transport), ['websockets', 'serversentevents', 'longpolling']);
  assert.deepEqual(log.states(), ['connecting', 'connecting:websockets', 'connecting:serversentevents', 'connecting:longpolling', 'connecting:sse', 'connected:sse']);
  assert.equal(log.of('error').length, 3, 'each refused transport is reported');
  const url = new URL(server.sources[0].url);
  assert.equal(url.pathname, '/api/notifications/stream');
  assert.equal(url.searchParams.get('access_token'), fakeToken('alice'));
  assert.equal(url.searchParams.get('lastEventId'), '0');
  await until(() => log.ids().length === 1, { what: 'the replayed notification' });
  assert.deepEqual(log.ids(), [1]);
  await client.stop();
  assert.equal(server.sources[0].readyState, 2, 'stop closes the EventSource');
});

test('The transports option limits and orders what is tried', async () => {
  const server = new FakeServer();
  const client = clientFor(server, { transports: ['sse', 'websockets'] });
  await client.start();
  assert.equal(client.transport, 'sse', 'sse first as configured');
  assert.equal(server.hubs.length, 0);
  await client.stop();

  const limited = new FakeServer();
  limited.refuse.add('websockets');
  const wsOnly = clientFor(limited, { transports: ['websockets', 'sse'] });
  await wsOnly.start();
  assert.deepEqual(limited.hubs.map((h) => h.transport), ['websockets'], 'no SignalR fallback transport when not listed');
  assert.equal(wsOnly.transport, 'sse');
  await wsOnly.stop();
});

test('Without an EventSource the sse transport fails with a message that says how to provide one', async () => {
  const server = new FakeServer();
  const originalEventSource = globalThis.EventSource;
  delete globalThis.EventSource;
  try {
    const c = clientFor(server, { transports: ['sse'], EventSource: undefined, retryPolicy: [null] });
    await assert.rejects(c.start(), /no EventSource: pass one/);
    assert.equal(c.state, 'disconnected');
  } finally {
    if (originalEventSource) globalThis.EventSource = originalEventSource;
  }
});

test('Unknown transports and a missing token factory are refused when the client is created', () => {
  const server = new FakeServer();
  assert.throws(() => clientFor(server, { transports: ['websocket'] }), /unknown transport 'websocket'/);
  assert.throws(() => clientFor(server, { transports: [] }), /at least one transport/);
  assert.throws(() => createClient({ url: 'http://x' }), /accessTokenFactory is required/);
});

test('protocol msgpack is passed to the hub connection, and JSON is used once the server refuses MessagePack', async () => {
  const server = new FakeServer();
  const client = clientFor(server, { protocol: 'msgpack', transports: ['websockets'] });
  await client.start();
  assert.deepEqual(server.protocols, ['msgpack']);
  await client.stop();

  const jsonOnly = new FakeServer();
  jsonOnly.refusedProtocols.add('msgpack');
  const warnings = [];
  const fallback = clientFor(jsonOnly, { protocol: 'msgpack', transports: ['websockets'], logger: { warn: (m) => warnings.push(m) } });
  await fallback.start();
  assert.deepEqual(jsonOnly.hubs.map((h) => h.options.protocol), ['msgpack', 'json']);
  assert.equal(fallback.transport, 'websockets');
  assert.ok(warnings.some((w) => /does not offer the MessagePack/.test(w)), warnings.join('\n'));
  await fallback.stop();
});

test('When the hub cannot negotiate because the server is unavailable, the round ends without trying the fallbacks, and the next starts with WebSockets again', async () => {
  const server = new FakeServer();
  server.unavailable = 503;
  const delays = [];
  const client = clientFor(server, {
    retryPolicy: { nextRetryDelayInMilliseconds: (ctx) => { delays.push(ctx.previousRetryCount); return 1; } },
  });
  const log = record(client);
  const started = client.start();
  await until(() => delays.length >= 2, { what: 'two rounds' });
  assert.deepEqual(server.hubs.slice(0, 2).map((h) => h.transport), ['websockets', 'websockets'], 'no fallback while the server is unavailable');
  assert.equal(server.sources.length, 0);
  server.unavailable = null;
  await started;
  assert.equal(client.transport, 'websockets', 'back on the first transport, not a fallback that happened to work during start-up');
  assert.ok(log.of('error').every((e) => /Status code '503'/.test(e.message)));
  await client.stop();
});

test('A hub that answers 404 to the negotiate (not routed by a proxy) lets the SSE endpoint be tried', async () => {
  const server = new FakeServer();
  server.unavailable = 404;
  const client = clientFor(server);
  await client.start();
  assert.equal(client.transport, 'sse');
  assert.deepEqual(server.hubs.map((h) => h.transport), ['websockets', 'serversentevents', 'longpolling']);
  await client.stop();
});
