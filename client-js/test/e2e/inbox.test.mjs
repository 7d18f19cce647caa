// The SDK's inbox calls against the real server (a server of their own: the broadcasts of
// receive.test.mjs would count in these users' inboxes), their typed errors, and the
// cross-device events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotFoundError, UnauthorizedError, ValidationError } from '../../dist/index.js';
import { Recorder, newUser, useServer } from './helpers.mjs';

const { server, clients } = useServer();

test('The inbox calls return the REST payloads, and read and delete reach the user\'s other client as events', { timeout: 60_000 }, async () => {
  const user = newUser('inbox');
  const phone = clients.create(server, { accessTokenFactory: () => server.token(user), transports: ['websockets'] });
  const laptop = clients.create(server, { accessTokenFactory: () => server.token(user), transports: ['sse'] });
  const phoneLog = new Recorder(phone, 'phone');
  const laptopLog = new Recorder(laptop, 'laptop');
  await Promise.all([phone.start(), laptop.start()]);
  const sent = await server.send({ userIds: [user], title: 'one', category: 'a' });
  const more = await server.send({ userId: user, title: 'two', category: 'b' });
  const third = await server.send({ userId: user, title: 'three', category: 'b' });
  const [id1, id2, id3] = [sent[0].id, more[0].id, third[0].id];
  await laptopLog.waitForIds([id1, id2, id3]);

  const page = await phone.list({ limit: 2 });
  assert.deepEqual(page.items.map((n) => n.id), [id3, id2], 'newest first');
  assert.equal(page.unreadCount, 3);
  assert.equal(page.nextBefore, id2);
  assert.deepEqual((await phone.list({ before: page.nextBefore })).items.map((n) => n.id), [id1]);
  assert.deepEqual((await phone.list({ category: 'b' })).items.map((n) => n.id), [id3, id2]);
  assert.deepEqual(await phone.unreadCount(), { unreadCount: 3 });

  await phone.markRead(id1);
  const read = await laptopLog.waitUntil(() => laptopLog.of('read').find((e) => e.ids.includes(id1)), { what: 'the read event' });
  assert.deepEqual(read, { ids: [id1], all: false, upTo: null, read: true, unreadCount: 2 });
  await laptopLog.waitUntil(() => laptopLog.of('unreadCount').at(-1) === 2, { what: 'unread count 2' });
  assert.deepEqual((await phone.list({ unread: true })).items.map((n) => n.id), [id3, id2]);

  await phone.markUnread(id1);
  await laptopLog.waitUntil(() => laptopLog.of('read').find((e) => e.read === false), { what: 'the unread event' });
  await phone.markAllRead(id2);
  const upTo = await laptopLog.waitUntil(() => laptopLog.of('read').find((e) => e.all), { what: 'the read-all event' });
  assert.equal(upTo.upTo, id2);
  assert.deepEqual(await laptop.unreadCount(), { unreadCount: 1 });

  await phone.remove(id3);
  const deleted = await laptopLog.waitUntil(() => laptopLog.of('deleted')[0], { what: 'the deleted event' });
  assert.deepEqual(deleted, { ids: [id3], unreadCount: 0 });
  await phoneLog.waitUntil(() => phoneLog.of('deleted').length === 1, { what: 'the deleted event on the phone too' });
  await Promise.all([phone.stop(), laptop.stop()]);
});

test('Inbox errors are typed and carry the server\'s problem details', { timeout: 30_000 }, async () => {
  const user = newUser('errors');
  const other = newUser('errors-other');
  const [theirs] = await server.send({ userId: other, title: 'not yours' });
  const client = clients.create(server, { accessTokenFactory: () => server.token(user) });
  const notFound = await client.markRead(theirs.id).catch((e) => e);
  assert.ok(notFound instanceof NotFoundError, String(notFound));
  assert.equal(notFound.status, 404);
  assert.equal(notFound.problem.status, 404);
  const invalid = await client.list({ limit: 500 }).catch((e) => e);
  assert.ok(invalid instanceof ValidationError, String(invalid));
  assert.ok(Object.keys(invalid.fieldErrors).some((k) => /limit/i.test(k)), JSON.stringify(invalid.problem));
  const bad = clients.create(server, { accessTokenFactory: () => 'not-a-token' });
  await assert.rejects(bad.unreadCount(), UnauthorizedError);
});
