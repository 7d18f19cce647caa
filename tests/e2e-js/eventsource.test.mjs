// The `eventsource` package (the WHATWG EventSource for Node) on the SSE fallback,
// /api/notifications/stream?access_token=…, as a browser without WebSocket would use it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useServer, assertIncreasing, assertNotificationShape, eventSource, newUser, waitForOpen } from './helpers.mjs';

const TEST_TIMEOUT = 20_000;

const { server, clients } = useServer();

test('An EventSource receives notification events whose id is the notification id and whose data is the notification object', { timeout: TEST_TIMEOUT }, async () => {
  const user = newUser('sse-live');
  const token = server.token(user);
  const source = eventSource(server, clients, { token, name: 'live stream' });
  await waitForOpen(source);
  assert.equal(source.requests[0].status, 200);

  const [first] = await server.send({
    userId: user, title: 'First over SSE', body: 'body', category: 'sse.test', data: { k: 'v' },
    link: 'https://example.com/x', priority: 'low',
  });
  const [second] = await server.send({ userId: user, title: 'Second over SSE' });

  await source.log.waitForNotification(second.id);
  const events = source.log.of('notification');
  assert.deepEqual(events.map((e) => e.payload.id), [first.id, second.id]);
  for (const event of events) {
    assert.equal(event.lastEventId, String(event.payload.id), 'the SSE id: line is the notification id');
    assertNotificationShape(event.payload);
    assert.equal(event.payload.userId, user);
  }
  const n = events[0].payload;
  assert.equal(n.title, 'First over SSE');
  assert.equal(n.body, 'body');
  assert.equal(n.category, 'sse.test');
  assert.deepEqual(n.data, { k: 'v' });
  assert.equal(n.link, 'https://example.com/x');
  assert.equal(n.priority, 'low');
  assert.equal(n.broadcast, false);
  assert.equal(n.readAt, null);
  assert.equal(n.expiresAt, null);

  const count = await source.log.waitForEvent('unreadCount', (c) => c.unreadCount === 2, { what: 'unreadCount { unreadCount: 2 }' });
  assert.deepEqual(Object.keys(count).includes('unreadCount'), true);
  assert.equal(source.readyState, source.OPEN);

  // Read state and deletions over REST arrive on the stream too.
  const read = await server.request('POST', `/api/notifications/${first.id}/read`, { token });
  assert.equal(read.status, 204, read.text);
  const readEvent = await source.log.waitForEvent('notificationRead', (e) => e.ids?.includes(first.id));
  assert.deepEqual(readEvent, { ...readEvent, ids: [first.id], all: false, upTo: null, read: true, unreadCount: 1 });
  const removed = await server.request('DELETE', `/api/notifications/${second.id}`, { token });
  assert.equal(removed.status, 204, removed.text);
  const deletedEvent = await source.log.waitForEvent('notificationDeleted', (e) => e.ids?.includes(second.id));
  assert.deepEqual(deletedEvent, { ...deletedEvent, ids: [second.id], unreadCount: 0 });
  source.close();
});

test('An EventSource with lastEventId=0 first replays every notification of its user in id order, then continues live', { timeout: TEST_TIMEOUT }, async () => {
  const user = newUser('sse-replay');
  const token = server.token(user);
  const sent = [];
  for (let i = 1; i <= 3; i++) {
    const [n] = await server.send({ userId: user, title: `waiting ${i}` });
    sent.push(n.id);
  }
  await server.send({ userId: newUser('sse-someone-else'), title: 'not for this user' });

  const source = eventSource(server, clients, { token, query: 'lastEventId=0', name: 'replaying stream' });
  await source.log.waitForNotification(sent[2]);
  assert.equal(source.log.of('open').length, 1);

  const [live] = await server.send({ userId: user, title: 'live' });
  await source.log.waitForNotification(live.id);
  const events = source.log.of('notification');
  assert.deepEqual(events.map((e) => e.payload.id), [...sent, live.id], 'everything once, in id order');
  assert.deepEqual(events.map((e) => e.lastEventId), [...sent, live.id].map(String));
  assert.deepEqual(events.map((e) => e.payload.title), ['waiting 1', 'waiting 2', 'waiting 3', 'live']);
  assertIncreasing(events.map((e) => e.payload.id));
  await source.log.waitForEvent('unreadCount', (c) => c.unreadCount === 4, { what: 'unreadCount 4' });
  source.close();
});

test('An EventSource without a cursor is live from the moment it opens and replays nothing older', { timeout: TEST_TIMEOUT }, async () => {
  const user = newUser('sse-no-cursor');
  const token = server.token(user);
  await server.send({ userId: user, title: 'old' });
  const source = eventSource(server, clients, { token, name: 'live-only stream' });
  await waitForOpen(source);
  const [live] = await server.send({ userId: user, title: 'new' });
  await source.log.waitForNotification(live.id);
  assert.deepEqual(source.log.notificationIds, [live.id]);
  source.close();
});
