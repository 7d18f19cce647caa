// An admin broadcast reaches a SignalR client and an EventSource client alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useServer, assertNotificationShape, eventSource, hubConnection, newUser, startAndResume, waitForOpen } from './helpers.mjs';

const { server, clients } = useServer();

test('A broadcast reaches a SignalR client and an EventSource client as a notification with broadcast true and userId null', { timeout: 20_000 }, async () => {
  const hubUser = newUser('broadcast-hub');
  const sseUser = newUser('broadcast-sse');
  const hub = hubConnection(server, clients, { token: server.token(hubUser), name: 'hub client' });
  assert.equal(await startAndResume(hub, 0), 0);
  const source = eventSource(server, clients, { token: server.token(sseUser), name: 'sse client' });
  await waitForOpen(source);

  const id = await server.broadcast({
    title: 'Maintenance tonight', body: 'From 22:00 to 23:00', category: 'system', data: { window: '22-23' },
    link: 'https://status.example/maintenance', priority: 'high', ttlSeconds: 3600,
  });
  assert.ok(Number.isSafeInteger(id) && id > 0, `201 { id } with a positive id, got ${id}`);

  const viaHub = await hub.log.waitForNotification(id);
  const viaSse = await source.log.waitForNotification(id);
  for (const n of [viaHub, viaSse]) {
    assertNotificationShape(n);
    assert.equal(n.broadcast, true);
    assert.equal(n.userId, null);
    assert.equal(n.title, 'Maintenance tonight');
    assert.equal(n.body, 'From 22:00 to 23:00');
    assert.equal(n.category, 'system');
    assert.deepEqual(n.data, { window: '22-23' });
    assert.equal(n.link, 'https://status.example/maintenance');
    assert.equal(n.priority, 'high');
    assert.equal(n.readAt, null);
    assert.notEqual(n.expiresAt, null);
  }
  assert.deepEqual(viaHub, viaSse, 'one serialized message serves every reader');
  assert.equal(source.log.of('notification')[0].lastEventId, String(id));
  await hub.log.waitForEvent('unreadCount', (c) => c.unreadCount === 1, { what: 'unreadCount 1 on the hub' });
  await source.log.waitForEvent('unreadCount', (c) => c.unreadCount === 1, { what: 'unreadCount 1 on the stream' });

  // A user who connects later still gets it on Resume(0) (it is in every inbox until it expires).
  const late = hubConnection(server, clients, { token: server.token(newUser('broadcast-late')), name: 'late client' });
  assert.equal(await startAndResume(late, 0), 1);
  assert.equal((await late.log.waitForNotification(id)).broadcast, true);

  // Sending a broadcast needs the admin role (or the broadcast scope).
  const denied = await server.request('POST', '/api/broadcasts', { token: server.serviceToken(), body: { title: 'no' } });
  assert.equal(denied.status, 403, denied.text);

  await hub.stop();
  await late.stop();
  source.close();
});
