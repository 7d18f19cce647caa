// The official @microsoft/signalr client against the real server: every transport, a direct
// WebSocket, Resume, and read/delete state across two connections of one user.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  useServer, HttpTransportType, assertIncreasing, assertNotificationShape, hubConnection, newUser, startAndResume,
} from './helpers.mjs';

const TEST_TIMEOUT = 20_000;

const { server, clients } = useServer();

/**
 * The transports of the live connections of `userId` (admin presence), once there are `count`
 * of them: presence is written asynchronously ("well under a second"), so this polls, bounded.
 */
async function transportsOf(userId, count = 1, timeout = 5_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const answer = await server.request('GET', `/api/admin/presence/${encodeURIComponent(userId)}`, { token: server.adminToken() });
    assert.equal(answer.status, 200, answer.text);
    const transports = answer.body.connections.map((c) => c.transport);
    if (transports.length >= count || Date.now() > deadline) return transports;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('SignalR transports', () => {
  const transports = [
    ['WebSockets', HttpTransportType.WebSockets, 'websockets'],
    ['ServerSentEvents', HttpTransportType.ServerSentEvents, 'serversentevents'],
    ['LongPolling', HttpTransportType.LongPolling, 'longpolling'],
  ];
  for (const [name, transport, presenceName] of transports) {
    test(`A ${name} client receives a sent notification as an object with every contract field, and its unread count`, { timeout: TEST_TIMEOUT }, async () => {
      const user = newUser(`signalr-${presenceName}`);
      const connection = hubConnection(server, clients, { token: server.token(user), transport, name });

      assert.equal(await startAndResume(connection, 0), 0, 'Resume(0) of a new user replays nothing');
      assert.deepEqual(await transportsOf(user), [presenceName], 'the connection uses the transport asked for');

      const before = Date.now();
      const [sent] = await server.send({
        userIds: [user],
        title: `Your order shipped (${name})`,
        body: 'Order #123 is on its way',
        category: 'order.shipped',
        data: { orderId: '123', items: [1, 2], nested: { ok: true } },
        link: 'https://shop.example/orders/123',
        priority: 'HIGH',
        ttlSeconds: 3600,
      });
      assert.equal(sent.userId, user);

      const n = await connection.log.waitForNotification(sent.id);
      assertNotificationShape(n);
      assert.equal(n.id, sent.id);
      assert.equal(n.userId, user);
      assert.equal(n.category, 'order.shipped');
      assert.equal(n.title, `Your order shipped (${name})`);
      assert.equal(n.body, 'Order #123 is on its way');
      assert.deepEqual(n.data, { orderId: '123', items: [1, 2], nested: { ok: true } });
      assert.equal(n.link, 'https://shop.example/orders/123');
      assert.equal(n.priority, 'high', 'priority is accepted case-insensitively and written lowercase');
      assert.equal(n.broadcast, false);
      assert.equal(n.readAt, null);
      const createdAt = Date.parse(n.createdAt);
      assert.ok(Math.abs(createdAt - before) < 60_000, `createdAt ${n.createdAt} is now`);
      const ttl = Date.parse(n.expiresAt) - createdAt;
      assert.ok(Math.abs(ttl - 3_600_000) < 5_000, `expiresAt ${n.expiresAt} is createdAt + ttlSeconds`);

      const count = await connection.log.waitForEvent('unreadCount', (c) => c.unreadCount === 1, { what: 'unreadCount { unreadCount: 1 }' });
      assert.equal(typeof count, 'object');
      assert.deepEqual(count.unreadCount, 1);
      assert.deepEqual(connection.log.notificationIds, [sent.id], 'exactly one notification arrived');

      await connection.stop();
    });
  }

  test('A WebSocket client that skips negotiation connects directly and receives notifications', { timeout: TEST_TIMEOUT }, async () => {
    const user = newUser('signalr-direct');
    const connection = hubConnection(server, clients, {
      token: server.token(user), transport: HttpTransportType.WebSockets, skipNegotiation: true, name: 'direct-ws',
    });
    assert.equal(await startAndResume(connection, 0), 0);
    assert.deepEqual(await transportsOf(user), ['websockets']);

    const [sent] = await server.send({ userId: user, title: 'Direct WebSocket' });
    const n = await connection.log.waitForNotification(sent.id);
    assertNotificationShape(n);
    assert.equal(n.title, 'Direct WebSocket');
    assert.equal(n.category, 'general', 'category defaults to general');
    assert.equal(n.priority, 'normal', 'priority defaults to normal');
    for (const field of ['body', 'data', 'link', 'expiresAt', 'readAt']) {
      assert.equal(n[field], null, `${field} is null when empty`);
    }
    await connection.log.waitForEvent('unreadCount', (c) => c.unreadCount === 1);
    await connection.stop();
  });
});

test('Resume replays what was sent while the client was away, in id order and without duplicates, and returns the count', { timeout: TEST_TIMEOUT }, async () => {
  const user = newUser('resume');
  const other = newUser('resume-other');
  const token = server.token(user);

  // Sent before the first connection: Resume(0) brings it.
  const [first] = await server.send({ userId: user, title: 'before connecting' });
  const tab = hubConnection(server, clients, { token, name: 'first connection' });
  assert.equal(await startAndResume(tab, 0), 1, 'Resume(0) replays the one notification');
  await tab.log.waitForNotification(first.id);
  const lastSeen = Math.max(...tab.log.notificationIds);
  await tab.stop();

  // While no connection is open: three for the user (one call with a duplicated user id), one
  // for someone else, and one that is deleted again before the client comes back.
  const [a] = await server.send({ userId: user, title: 'away 1' });
  const [b] = await server.send({ userIds: [user, user], title: 'away 2' });
  await server.send({ userId: other, title: 'not for this user' });
  const [deleted] = await server.send({ userId: user, title: 'deleted while away' });
  const [c] = await server.send({ userId: user, title: 'away 3', priority: 'urgent' });
  const removed = await server.request('DELETE', `/api/notifications/${deleted.id}`, { token });
  assert.equal(removed.status, 204, removed.text);

  const back = hubConnection(server, clients, { token, name: 'resumed connection' });
  const replayed = await startAndResume(back, lastSeen);
  assert.equal(replayed, 3, 'Resume returns the number replayed');

  // A live one after the replay: everything before it has arrived by the time it does.
  const [live] = await server.send({ userId: user, title: 'live after resume' });
  await back.log.waitForNotification(live.id);
  const ids = back.log.notificationIds;
  assert.deepEqual(ids, [a.id, b.id, c.id, live.id], 'the missed ones in id order, then the live one, each once');
  assertIncreasing(ids);
  assert.deepEqual(back.log.notifications.map((n) => n.title), ['away 1', 'away 2', 'away 3', 'live after resume']);
  for (const n of back.log.notifications) assertNotificationShape(n);
  assert.equal(back.log.notifications[2].priority, 'urgent');
  await back.stop();
});

test('Marking read on one connection and deleting over REST reach the other connection of the same user', { timeout: TEST_TIMEOUT }, async () => {
  const user = newUser('two-tabs');
  const token = server.token(user);
  const tabA = hubConnection(server, clients, { token, name: 'tab A' });
  const tabB = hubConnection(server, clients, { token, name: 'tab B' });
  assert.equal(await startAndResume(tabA, 0), 0);
  assert.equal(await startAndResume(tabB, 0), 0);

  const [first] = await server.send({ userId: user, title: 'first' });
  const [second] = await server.send({ userId: user, title: 'second' });
  for (const tab of [tabA, tabB]) {
    await tab.log.waitForNotification(second.id);
    assert.deepEqual(tab.log.notificationIds, [first.id, second.id]);
    await tab.log.waitForEvent('unreadCount', (c) => c.unreadCount === 2, { what: 'unreadCount 2' });
  }

  await tabA.invoke('MarkRead', first.id);
  const read = await tabB.log.waitForEvent('notificationRead', (e) => e.ids?.includes(first.id), { what: `notificationRead of ${first.id}` });
  assert.deepEqual(read.ids, [first.id]);
  assert.equal(read.all, false);
  assert.equal(read.upTo, null);
  assert.equal(read.read, true);
  assert.equal(read.unreadCount, 1);

  const inbox = await server.request('GET', '/api/notifications', { token });
  assert.equal(inbox.status, 200, inbox.text);
  assert.equal(inbox.body.unreadCount, 1);
  assert.notEqual(inbox.body.items.find((n) => n.id === first.id).readAt, null, 'the REST inbox shows it read');

  const removed = await server.request('DELETE', `/api/notifications/${second.id}`, { token });
  assert.equal(removed.status, 204, removed.text);
  for (const tab of [tabA, tabB]) {
    const gone = await tab.log.waitForEvent('notificationDeleted', (e) => e.ids?.includes(second.id), { what: `notificationDeleted of ${second.id}` });
    assert.deepEqual(gone.ids, [second.id]);
    assert.equal(gone.unreadCount, 0);
  }

  await assert.rejects(tabA.invoke('MarkRead', 987654321), /not found/i, 'MarkRead of an unknown id fails with a hub error');
  await tabA.stop();
  await tabB.stop();
});
