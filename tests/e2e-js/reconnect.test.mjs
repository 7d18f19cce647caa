// Server restarts: the clients' own reconnect logic (EventSource's automatic reconnect with
// Last-Event-ID; SignalR's withAutomaticReconnect plus Resume) loses nothing and repeats nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  useServer, HttpTransportType, assertIncreasing, assertNotificationShape, deferred, eventSource, hubConnection, newUser,
  startAndResume, waitForOpen,
} from './helpers.mjs';

const { server, clients } = useServer();

test('An EventSource reconnects by itself after a server restart, sends its Last-Event-ID, and receives only what it missed', { timeout: 40_000 }, async () => {
  const user = newUser('sse-restart');
  const token = server.token(user);
  const source = eventSource(server, clients, { token, name: 'restarted stream' });
  await waitForOpen(source);

  const [first] = await server.send({ userId: user, title: 'before the restart' });
  await source.log.waitForNotification(first.id);

  await server.stop();
  // The stream ends with the server: the EventSource reports an error and keeps trying (CONNECTING).
  await source.log.waitUntil(() => source.log.of('error').length > 0, { what: 'the error event of the dropped stream' });
  assert.equal(source.readyState, source.CONNECTING, 'the EventSource is reconnecting, not closed');

  await server.start();
  // Sent after the restart, most likely before the EventSource is back (it retries every 3 s,
  // the server's `retry:`): the reconnect replays it from Last-Event-ID.
  const [second] = await server.send({ userId: user, title: 'after the restart' });
  try {
    await source.log.waitForNotification(second.id, { timeout: 15_000 });
  } catch (err) {
    err.message += `\nrequests of the EventSource: ${JSON.stringify(source.requests)}; readyState ${source.readyState}`;
    throw err;
  }
  const [third] = await server.send({ userId: user, title: 'live after the reconnect' });
  await source.log.waitForNotification(third.id);

  assert.deepEqual(source.log.notificationIds, [first.id, second.id, third.id], 'each notification exactly once, in id order');
  assertIncreasing(source.log.notificationIds);
  assert.equal(source.log.of('open').length, 2, 'the same EventSource opened twice');
  const reconnects = source.requests.filter((r) => r.status === 200).slice(1);
  assert.ok(reconnects.length >= 1, `a second successful request: ${JSON.stringify(source.requests)}`);
  assert.equal(reconnects[0].lastEventId, String(first.id), 'the reconnect carried Last-Event-ID: <last id seen>');
  assert.equal(source.requests[0].lastEventId, null, 'the first request had no Last-Event-ID');
  assert.ok(!source.requests.some((r) => r.status === 503), `no attempt answered 503: ${JSON.stringify(source.requests)}`);
  for (const n of source.log.notifications) assertNotificationShape(n);
  source.close();
});

test('A SignalR client with automatic reconnect resumes after a server restart and gets what was sent before it was back exactly once', { timeout: 40_000 }, async () => {
  const user = newUser('hub-restart');
  // The access token factory runs at each (re)connection; while `hold` is pending the client
  // cannot reconnect (as when a token refresh is slow), so the test can send while it is away.
  let hold = null;
  const token = async () => {
    if (hold) await hold.promise;
    return server.token(user);
  };
  const connection = hubConnection(server, clients, {
    token,
    transport: HttpTransportType.WebSockets,
    name: 'reconnecting hub',
    reconnectPolicy: { nextRetryDelayInMilliseconds: (ctx) => (ctx.elapsedMilliseconds < 30_000 ? 200 : null) },
  });
  const lastSeen = () => Math.max(0, ...connection.log.notificationIds);
  let resumed = null;
  connection.onreconnected(() => {
    resumed = connection.invoke('Resume', lastSeen());
  });

  assert.equal(await startAndResume(connection, 0), 0);
  const [first] = await server.send({ userId: user, title: 'before the restart' });
  await connection.log.waitForNotification(first.id);

  hold = deferred();
  await server.stop();
  await connection.log.waitUntil(() => connection.log.of('reconnecting').length > 0, { what: 'onreconnecting' });

  await server.start();
  const [second] = await server.send({ userId: user, title: 'after the restart, before the client is back' });
  assert.equal(connection.log.of('reconnected').length, 0, 'the client is not back yet');
  hold.resolve();

  await connection.log.waitUntil(() => connection.log.of('reconnected').length > 0, { timeout: 15_000, what: 'onreconnected' });
  assert.equal(await resumed, 1, 'Resume(last id seen) replays the one sent while the client was away');
  await connection.log.waitForNotification(second.id);
  const [third] = await server.send({ userId: user, title: 'live after the reconnect' });
  await connection.log.waitForNotification(third.id);

  assert.deepEqual(connection.log.notificationIds, [first.id, second.id, third.id], 'each notification exactly once, in id order');
  assert.equal(connection.log.of('close').length, 0, 'the connection never closed for good');
  for (const n of connection.log.notifications) assertNotificationShape(n);
  await connection.stop();
});
