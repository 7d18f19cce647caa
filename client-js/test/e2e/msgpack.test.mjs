// protocol 'msgpack' with @microsoft/signalr-protocol-msgpack installed: MessagePack when the
// server offers it, JSON (with a warning) when it does not; either way the app gets the same objects.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from '../server.mjs';
import { Clients, Recorder, newUser } from './helpers.mjs';

let server;
const clients = new Clients();

before(async () => {
  server = await startServer();
}, { timeout: 60_000 });

after(async () => {
  await clients.stopAll();
  await server?.dispose();
});

test('A client that asks for MessagePack connects and gets the same notification objects as a JSON client', { timeout: 60_000 }, async () => {
  const user = newUser('msgpack');
  const warnings = [];
  const packed = clients.create(server, {
    accessTokenFactory: () => server.token(user),
    transports: ['websockets'],
    protocol: 'msgpack',
    logger: { warn: (message) => warnings.push(String(message)) },
  });
  const json = clients.create(server, { accessTokenFactory: () => server.token(user), transports: ['websockets'] });
  const packedLog = new Recorder(packed, 'msgpack');
  const jsonLog = new Recorder(json, 'json');
  await Promise.all([packed.start(), json.start()]);
  assert.equal(packed.transport, 'websockets');

  const [sent] = await server.send({ userId: user, title: 'packed', data: { orderId: '1', nested: { n: 2 } }, link: 'https://shop.example/o/1', ttlSeconds: 3600 });
  await Promise.all([packedLog.waitForIds([sent.id]), jsonLog.waitForIds([sent.id])]);
  assert.deepEqual(packedLog.of('notification')[0], jsonLog.of('notification')[0], 'the same object over both protocols');

  const refused = warnings.some((w) => /does not offer the MessagePack/.test(w));
  const handshakeErrors = packedLog.of('error').filter((e) => /protocol/i.test(e.message));
  assert.equal(refused, handshakeErrors.length > 0, `a refused handshake is warned about (warnings: ${warnings.join(' | ')})`);
  await Promise.all([packed.stop(), json.stop()]);
});
