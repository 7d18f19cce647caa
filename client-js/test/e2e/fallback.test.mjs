// WebSockets refused on the way (a proxy that drops upgrades): the client falls back, to the SSE
// endpoint when the hub's other transports are not allowed, or to SignalR's own fallbacks.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from '../server.mjs';
import { Clients, Recorder, newUser, upgradeRefusingProxy } from './helpers.mjs';

let server;
let proxy;
const clients = new Clients();

before(async () => {
  server = await startServer();
  proxy = await upgradeRefusingProxy(server.url);
}, { timeout: 60_000 });

after(async () => {
  await clients.stopAll();
  await proxy?.close();
  await server?.dispose();
});

test('With WebSockets refused and transports limited to websockets and sse, the client uses the SSE endpoint and misses nothing', { timeout: 60_000 }, async () => {
  const user = newUser('fallback-sse');
  const [early] = await server.send({ userId: user, title: 'before the client started' });
  const client = clients.create({ url: proxy.url }, {
    accessTokenFactory: () => server.token(user),
    transports: ['websockets', 'sse'],
    since: early.id - 1, // resume from just before it
  });
  const log = new Recorder(client, 'fallback');
  await client.start();
  assert.equal(client.transport, 'sse');
  assert.ok(proxy.upgradesRefused >= 1, 'the WebSocket was tried first and refused');
  assert.ok(log.of('error').some((e) => /websocket/i.test(e.message)), `the refused WebSocket is reported: ${log.describe()}`);
  assert.deepEqual(log.states, ['connecting', 'connecting:websockets', 'connecting:sse', 'connected:sse']);
  const live = await server.send({ userId: user, title: 'live over SSE' });
  await log.waitForIds([early.id, live[0].id]);
  assert.deepEqual(log.ids, [early.id, live[0].id]);
  await client.stop();
});

test('With WebSockets refused and the default transports, the hub falls back to SignalR\'s Server-Sent Events', { timeout: 60_000 }, async () => {
  const user = newUser('fallback-default');
  const client = clients.create({ url: proxy.url }, { accessTokenFactory: () => server.token(user) });
  const log = new Recorder(client, 'fallback default');
  await client.start();
  assert.equal(client.transport, 'serversentevents');
  const [n] = await server.send({ userId: user, title: 'over the hub without WebSockets' });
  await log.waitForIds([n.id]);
  await client.stop();
});
