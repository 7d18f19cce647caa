// The SDK against the real server: live notifications and broadcasts over each transport.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Recorder, newUser, useServer } from './helpers.mjs';

const { server, clients } = useServer();

const FIELDS = ['id', 'userId', 'category', 'title', 'body', 'data', 'link', 'priority', 'broadcast', 'createdAt', 'expiresAt', 'readAt'];

for (const transport of ['websockets', 'serversentevents', 'longpolling', 'sse']) {
  test(`A client limited to ${transport} receives notifications and broadcasts live, once each, with every field`, { timeout: 60_000 }, async () => {
    const user = newUser(`receive-${transport}`);
    const client = clients.create(server, { accessTokenFactory: () => server.token(user), transports: [transport] });
    const log = new Recorder(client, transport);
    await client.start();
    assert.equal(client.transport, transport);
    const [a] = await server.send({ userId: user, title: 'first', data: { orderId: '1' } });
    const b = await server.broadcast({ title: `notice for ${user}` });
    const [c] = await server.send({ userId: user, title: 'third' });
    await log.waitForIds([a.id, b, c.id]);
    // Broadcasts of other tests' users may arrive too: look at this test's ids.
    const mine = log.of('notification').filter((n) => [a.id, b, c.id].includes(n.id));
    assert.deepEqual(mine.map((n) => n.id), [a.id, b, c.id]);
    for (const n of mine) for (const field of FIELDS) assert.ok(Object.hasOwn(n, field), `${field} in ${JSON.stringify(n)}`);
    assert.deepEqual(mine[0].data, { orderId: '1' });
    assert.equal(mine[1].broadcast, true);
    await log.waitUntil(() => log.of('unreadCount').at(-1) >= 2, { what: 'an unread count of at least 2' });
    await client.stop();
    assert.deepEqual(log.states.slice(0, 3), ['connecting', `connecting:${transport}`, `connected:${transport}`]);
    assert.equal(log.states.at(-1), 'disconnected');
  });
}
