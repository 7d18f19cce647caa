// protocol 'msgpack' with @microsoft/signalr-protocol-msgpack installed: the server offers the
// MessagePack hub protocol, so the SDK really uses it (JSON, with a warning, only when a server
// does not), and the app gets the same objects as over JSON.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../server.mjs';
import { Recorder, newUser, useServer } from './helpers.mjs';

const { server, clients } = useServer();

/** The server's count of payloads it encoded for MessagePack connections (GET /metrics). */
async function messagePackEncodings() {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return text.split('\n')
    .filter((line) => line.startsWith('realtime_hub_payload_encodings_total{') && line.includes('protocol="messagepack"'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

test('A client that asks for MessagePack really speaks it and gets the same notification objects as a JSON client', { timeout: 60_000 }, async () => {
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

  const encodedBefore = await messagePackEncodings();
  const [sent] = await server.send({ userId: user, title: 'packed', data: { orderId: '1', nested: { n: 2 } }, link: 'https://shop.example/o/1', ttlSeconds: 3600 });
  await Promise.all([packedLog.waitForIds([sent.id]), jsonLog.waitForIds([sent.id])]);
  assert.deepEqual(packedLog.of('notification')[0], jsonLog.of('notification')[0], 'the same object over both protocols');

  assert.deepEqual(warnings.filter((w) => /MessagePack/.test(w)), [], 'no fallback to JSON');
  assert.deepEqual(packedLog.of('error').filter((e) => /protocol/i.test(e.message)), [], 'no refused handshake');
  // /metrics answers from a short cache: wait (bounded) for a fresh scrape.
  await eventually(async () => (await messagePackEncodings()) > encodedBefore, { what: 'the server to count a MessagePack encoding' });
  await Promise.all([packed.stop(), json.stop()]);
});
