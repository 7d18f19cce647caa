// The MessagePack hub protocol with @microsoft/signalr-protocol-msgpack: a MessagePack client and
// a JSON client of the same user receive the same notification objects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { useServer, assertNotificationShape, hubConnection, newUser, startAndResume } from './helpers.mjs';

const { server, clients } = useServer();

/** A decoded MessagePack value as plain JSON values (maps → objects, Uint8Array would be a mistake). */
function normalise(value) {
  if (value instanceof Uint8Array) throw new Error('binary in a notification');
  if (Array.isArray(value)) return value.map(normalise);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), normalise(v)]));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  if (typeof value === 'bigint') return Number(value);
  return value;
}

test('A MessagePack client and a JSON client of the same user receive identical notification objects and unread counts', { timeout: 30_000 }, async () => {
  const user = newUser('msgpack');
  const packed = hubConnection(server, clients, { token: server.token(user), name: 'msgpack', protocol: new MessagePackHubProtocol() });
  const json = hubConnection(server, clients, { token: server.token(user), name: 'json' });
  // The official client does not fall back: a start that succeeds is a MessagePack handshake the server accepted.
  assert.equal(await startAndResume(packed, 0), 0);
  assert.equal(await startAndResume(json, 0), 0);

  const [sent] = await server.send({
    userIds: [user],
    title: 'Packed',
    body: 'Über — ✓',
    category: 'order.shipped',
    data: { orderId: '123', items: [1, 2.5, 'three'], nested: { ok: true, none: null } },
    link: 'https://shop.example/orders/123',
    ttlSeconds: 3600,
  });
  const fromPack = normalise(await packed.log.waitForNotification(sent.id));
  const fromJson = await json.log.waitForNotification(sent.id);

  assert.deepStrictEqual(fromPack, fromJson, 'the same object over both protocols');
  assertNotificationShape(fromPack);
  assert.match(fromPack.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'timestamps are the same ISO 8601 strings');
  assert.deepStrictEqual(fromPack.data, { orderId: '123', items: [1, 2.5, 'three'], nested: { ok: true, none: null } });

  const unread = (log) => log.waitForEvent('unreadCount', (p) => normalise(p).unreadCount === 1);
  assert.deepStrictEqual(normalise(await unread(packed.log)), await unread(json.log));
});
