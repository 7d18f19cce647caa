// Collapse keys through the SDK: a newer notification with the same key replaces the older unread one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Recorder, newUser, useServer } from './helpers.mjs';

const { server, clients } = useServer();

for (const transport of ['websockets', 'sse']) {
  test(`Over ${transport}, a replacement arrives as 'deleted' for the old id, then the new notification, and the inbox keeps one`, { timeout: 60_000 }, async () => {
    const user = newUser(`collapse-${transport}`);
    const client = clients.create(server, { accessTokenFactory: () => server.token(user), transports: [transport] });
    const log = new Recorder(client, transport);
    await client.start();
    const [first] = await server.send({ userId: user, title: '2 new messages', collapseKey: 'chat-1' });
    await log.waitForIds([first.id]);
    const [second] = await server.send({ userId: user, title: '3 new messages', collapseKey: 'chat-1' });
    await log.waitForIds([first.id, second.id]);

    const order = log.events.filter((e) => e.type === 'notification' || e.type === 'deleted');
    const deletedAt = order.findIndex((e) => e.type === 'deleted');
    assert.ok(deletedAt >= 0, `a deleted event: ${log.describe()}`);
    assert.deepEqual(order[deletedAt].payload.ids, [first.id]);
    assert.equal(order[deletedAt + 1].payload.id, second.id);
    assert.equal(order[deletedAt + 1].payload.collapseKey, 'chat-1');

    const page = await client.list();
    assert.deepEqual(page.items.map((n) => n.id), [second.id]);
    assert.equal(page.unreadCount, 1);
    await client.stop();
  });
}
