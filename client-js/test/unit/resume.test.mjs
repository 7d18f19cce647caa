import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from '../../dist/index.js';
import { FakeServer, MemoryStorage, fakeClient, fakeFetch, fakeToken, notification, record, until } from './fakes.mjs';

test('Resume is called at once on every connect with the highest id seen, and the token factory on every reconnect', async () => {
  const server = new FakeServer();
  let tokens = 0;
  const client = fakeClient(server, { accessTokenFactory: () => fakeToken('alice', ++tokens) });
  const log = record(client);
  await client.start();
  assert.deepEqual(server.hubs[0].invocations, [{ method: 'Resume', args: [0] }], 'Resume(0) right after the first connect');
  server.publish(notification(1));
  server.publish(notification(2));
  assert.deepEqual(log.ids(), [1, 2]);

  server.dropAll('server restart');
  server.publish(notification(3)); // sent while the client is away
  await until(() => client.state === 'connected' && server.hubs.length === 2, { what: 'the reconnect' });
  assert.deepEqual(server.hubs[1].invocations, [{ method: 'Resume', args: [2] }], 'Resume(last id seen) on the reconnect');
  assert.equal(server.hubs[1].token, fakeToken('alice', 2), 'a fresh token for the reconnect');
  assert.deepEqual(log.ids(), [1, 2, 3]);
  assert.deepEqual(log.states(), ['connecting', 'connecting:websockets', 'connected:websockets', 'reconnecting', 'reconnecting:websockets', 'connected:websockets']);
  assert.equal(log.of('stateChanged')[3].error.message, 'server restart', 'reconnecting carries the reason');
  await client.stop();
});

test('Across a switch from the hub to SSE the app sees every notification once and in id order', async () => {
  const server = new FakeServer();
  server.sseOverlap = 2; // the stream replays two ids the client already has
  let tokens = 0;
  const client = fakeClient(server, { accessTokenFactory: () => fakeToken('alice', ++tokens) });
  const log = record(client);
  await client.start();
  const firstHub = server.hubs[0];
  for (const id of [1, 2, 3]) server.publish(notification(id));

  server.refuse.add('websockets').add('serversentevents').add('longpolling'); // e.g. a proxy now drops upgrades
  server.dropAll();
  server.publish(notification(4));
  await until(() => client.transport === 'sse', { what: 'the SSE fallback' });
  await until(() => log.ids().length === 4, { what: 'notification 4' });
  const source = server.sources.at(-1);
  assert.equal(new URL(source.url).searchParams.get('lastEventId'), '3', 'the stream resumes after the last id seen');
  assert.equal(source.token, fakeToken('alice', 5), 'the EventSource is opened with a fresh token (1 start, 3 refused hub attempts, then sse)');

  firstHub.isOpen = true; // a late message of the old connection must not reach the app
  firstHub.deliver('notification', notification(5));
  server.publish(notification(5));
  server.publish(notification(6));
  await until(() => log.ids().length === 6, { what: 'notifications 5 and 6' });
  assert.deepEqual(log.ids(), [1, 2, 3, 4, 5, 6]);

  // Back to the hub: the stream drops, WebSockets work again.
  server.refuse.clear();
  server.sources.at(-1).drop();
  server.publish(notification(7));
  await until(() => client.transport === 'websockets' && log.ids().length === 7, { what: 'the hub again' });
  assert.deepEqual(server.hubs.at(-1).invocations, [{ method: 'Resume', args: [6] }]);
  assert.deepEqual(log.ids(), [1, 2, 3, 4, 5, 6, 7]);
  await client.stop();
});

test('A dropped event stream is reopened by the client (fresh token, lastEventId), never left to reconnect by itself', async () => {
  const server = new FakeServer();
  let tokens = 0;
  const client = fakeClient(server, { transports: ['sse'], accessTokenFactory: () => fakeToken('alice', ++tokens) });
  const log = record(client);
  await client.start();
  server.publish(notification(10));
  await until(() => log.ids().length === 1);
  const first = server.sources[0];
  first.drop();
  assert.equal(first.readyState, 2, 'the dropped EventSource is closed at once');
  server.publish(notification(11));
  await until(() => log.ids().length === 2, { what: 'notification 11 after the reopen' });
  assert.equal(server.sources.length, 2);
  const reopened = new URL(server.sources[1].url).searchParams;
  assert.equal(reopened.get('lastEventId'), '10');
  assert.equal(reopened.get('access_token'), fakeToken('alice', 2));
  assert.deepEqual(log.ids(), [10, 11]);
  await client.stop();
});

test('The cursor is kept in storage per user, and a new client (a page reload) resumes from it', async () => {
  const server = new FakeServer();
  const storage = new MemoryStorage();
  const first = fakeClient(server, { storage });
  await first.start();
  server.publish(notification(1));
  server.publish(notification(2));
  await first.stop();
  assert.equal(storage.getItem('realtime:http://realtime.test:alice:lastId'), '2');

  server.publish(notification(3));
  const second = fakeClient(server, { storage, since: 0 });
  const log = record(second);
  await second.start();
  assert.deepEqual(server.hubs.at(-1).invocations, [{ method: 'Resume', args: [2] }], 'the stored cursor wins over since');
  assert.deepEqual(log.ids(), [3]);
  assert.equal(second.lastId, 3);
  await second.stop();
});

test('Without a cursor the client starts from the newest id in the inbox, so only new notifications are events', async () => {
  const server = new FakeServer();
  for (const id of [1, 2, 3]) server.publish(notification(id));
  const fetch = fakeFetch({
    'GET /api/notifications': () => ({ body: { items: [notification(3)], unreadCount: 3, nextBefore: 3 } }),
  });
  const client = fakeClient(server, { since: undefined, fetch });
  const log = record(client);
  await client.start();
  assert.equal(fetch.requests[0].search, '?limit=1');
  assert.deepEqual(server.hubs[0].invocations, [{ method: 'Resume', args: [3] }]);
  server.publish(notification(4));
  assert.deepEqual(log.ids(), [4]);
  await client.stop();
});

test('The client keeps retrying while nothing connects and start resolves once it does', async () => {
  const server = new FakeServer();
  server.refuse.add('all');
  const delays = [];
  const client = fakeClient(server, {
    transports: ['websockets', 'sse'],
    retryPolicy: { nextRetryDelayInMilliseconds: (ctx) => { delays.push(ctx.previousRetryCount); return 1; } },
  });
  const log = record(client);
  const started = client.start();
  await until(() => delays.length >= 3, { what: 'three rounds of attempts' });
  assert.equal(client.state, 'connecting');
  server.refuse.clear();
  await started;
  assert.equal(client.state, 'connected');
  assert.deepEqual(delays.slice(0, 3), [0, 1, 2], 'previousRetryCount counts the failed rounds');
  assert.ok(log.of('error').length >= 6, 'every failed attempt is reported');
  await client.stop();
});

test('When the retry policy gives up, start rejects with the last error and the client is disconnected', async () => {
  const server = new FakeServer();
  server.refuse.add('all');
  const client = fakeClient(server, { transports: ['websockets'], retryPolicy: [0, null] });
  const log = record(client);
  await assert.rejects(client.start(), /websockets refused/);
  assert.equal(client.state, 'disconnected');
  assert.equal(server.hubs.length, 2, 'the first attempt and one retry');
  assert.equal(log.states().at(-1), 'disconnected');
  server.refuse.clear();
  await client.start();
  assert.equal(client.state, 'connected', 'start works again after the policy gave up');
  await client.stop();
});

test('stop during a backoff wait ends at once and start can be called again', async () => {
  const server = new FakeServer();
  server.refuse.add('all');
  const client = fakeClient(server, { transports: ['websockets'], retryPolicy: [60_000] });
  const started = client.start();
  await until(() => server.hubs.length === 1);
  const before = Date.now();
  await client.stop();
  await assert.rejects(started, /stopped before connecting/);
  assert.ok(Date.now() - before < 1000, 'stop did not wait for the backoff');
  server.refuse.clear();
  await client.start();
  assert.equal(client.state, 'connected');
  await client.stop();
});

test('Server events become unreadCount, read and deleted events, and a throwing handler is reported without breaking the others', async () => {
  const server = new FakeServer();
  const client = fakeClient(server);
  const log = record(client);
  client.on('notification', () => {
    throw new Error('app bug');
  });
  await client.start();
  server.publish(notification(1));
  server.send('unreadCount', { unreadCount: 7 });
  server.send('notificationRead', { ids: [1], all: false, upTo: null, read: true, unreadCount: 6 });
  server.send('notificationDeleted', { ids: [1], unreadCount: 5 });
  assert.deepEqual(log.ids(), [1]);
  assert.deepEqual(log.of('unreadCount'), [7]);
  assert.deepEqual(log.of('read'), [{ ids: [1], all: false, upTo: null, read: true, unreadCount: 6 }]);
  assert.deepEqual(log.of('deleted'), [{ ids: [1], unreadCount: 5 }]);
  assert.equal(log.of('error')[0].message, 'app bug');
  await client.stop();
});

test('stop does not wait for a token factory or a connection attempt that hangs, and a connection that opens afterwards is closed', async () => {
  const server = new FakeServer();
  const never = createClient({ url: 'http://realtime.test', accessTokenFactory: () => new Promise(() => {}), hubConnectionFactory: server.hubConnectionFactory, since: 0 });
  const pending = never.start();
  await until(() => never.state === 'connecting');
  await never.stop();
  await assert.rejects(pending, /stopped before connecting/);
  assert.equal(never.state, 'disconnected');

  let release;
  const slow = fakeClient(server, {
    transports: ['websockets'],
    hubConnectionFactory: (options) => {
      const hub = server.hubConnectionFactory(options);
      const start = hub.start.bind(hub);
      hub.start = () => new Promise((resolve) => { release = () => resolve(start()); });
      return hub;
    },
  });
  const starting = slow.start();
  await until(() => release, { what: 'the hub start to begin' });
  await slow.stop();
  await assert.rejects(starting, /stopped before connecting/);
  release();
  // The attempt goes on (start, Resume), then the client closes the connection it no longer wants.
  await until(() => server.hubs[0].invocations.length === 1, { what: 'the late Resume' });
  await until(() => !server.hubs[0].isOpen, { what: 'the late connection closed' });
  assert.equal(slow.state, 'disconnected');
});
