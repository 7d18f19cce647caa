// Web Push end to end, checked with the RFC authors' reference code: the real server pushes to a
// fake push service in this process, which decrypts every push with `http_ece` (RFC 8188/8291,
// by the RFC's author) and verifies the VAPID token (RFC 8292) with `jose`.
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import ece from 'http_ece';
import { importJWK, jwtVerify } from 'jose';
import { HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { startServer } from './server.mjs';
import { newUser } from './helpers.mjs';

const SUBJECT = 'mailto:e2e-push@example.com';
const TIMEOUT_MS = 15_000;

/** A push service on loopback: records every request, decrypted, and answers as each subscription is told to. */
class FakePushService {
  constructor() {
    this.requests = [];
    this.subscribers = new Map();
    this.waiters = new Set();
    this.server = http.createServer((req, res) => this.receive(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** A browser's subscription: its own P-256 key pair and auth secret; `status` is what the service answers. */
  subscriber(status = 201) {
    const id = randomBytes(8).toString('hex');
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    const subscriber = {
      id,
      status,
      ecdh,
      authSecret,
      toJSON: () => ({
        endpoint: `${this.url}/push/${id}`,
        expirationTime: null,
        keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
      }),
    };
    this.subscribers.set(id, subscriber);
    return subscriber;
  }

  receive(req, res) {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const id = req.url.split('/').pop();
      const subscriber = this.subscribers.get(id);
      const body = Buffer.concat(chunks);
      const request = { id, headers: req.headers, body, plaintext: null, error: null };
      try {
        request.plaintext = ece
          .decrypt(body, { version: 'aes128gcm', privateKey: subscriber.ecdh, authSecret: subscriber.authSecret })
          .toString('utf8');
      } catch (err) {
        request.error = err.message;
      }
      this.requests.push(request);
      res.writeHead(subscriber?.status ?? 404).end();
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  of(subscriber) {
    return this.requests.filter((r) => r.id === subscriber.id);
  }

  /** Resolves once `count` requests reached `subscriber`; rejects after the timeout. */
  waitFor(subscriber, count) {
    return new Promise((resolve, reject) => {
      let waiter;
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${count} pushes to ${subscriber.id}; got ${this.of(subscriber).length}`));
      }, TIMEOUT_MS);
      waiter = () => {
        if (this.of(subscriber).length >= count) {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(this.of(subscriber));
        }
      };
      this.waiters.add(waiter);
      waiter();
    });
  }
}

/** RFC 8292: `Authorization: vapid t=<JWT>, k=<key>`, ES256 by k, aud = the endpoint's origin, exp within 24 h, sub. */
async function verifyVapid(request, origin, serverPublicKey) {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(request.headers.authorization ?? '');
  assert.ok(match, `Authorization: ${request.headers.authorization}`);
  const [, token, k] = match;
  assert.equal(k, serverPublicKey, 'k is the server\'s VAPID public key');
  const point = Buffer.from(k, 'base64url');
  assert.equal(point.length, 65);
  const key = await importJWK(
    { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    'ES256',
  );
  const { payload, protectedHeader } = await jwtVerify(token, key, { audience: origin, algorithms: ['ES256'] });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(payload.sub, SUBJECT);
  assert.ok(payload.exp * 1000 > Date.now() && payload.exp * 1000 <= Date.now() + 24 * 3600 * 1000 + 60_000, `exp ${payload.exp}`);
}

let server;
let push;
let vapidPublicKey;

before(async () => {
  push = await new FakePushService().start();
  server = await startServer({
    env: {
      Push__AllowInsecureEndpoints: 'true', // the fake push service is http on loopback
      Push__Subject: SUBJECT,
      Push__PlanningDelayMilliseconds: '200',
      Push__PollIntervalMilliseconds: '50',
    },
  });
  const answer = await server.request('GET', '/api/push/vapid-public-key');
  assert.equal(answer.status, 200);
  vapidPublicKey = answer.body.publicKey;
});

after(async () => {
  await server?.dispose();
  await push?.stop();
});

async function subscribe(user, subscriber) {
  const answer = await server.request('POST', '/api/push/subscriptions', { token: server.token(user), body: subscriber.toJSON() });
  assert.equal(answer.status, 201, answer.text);
}

test('An offline user gets a push that http_ece decrypts to the notification, with a VAPID token jose verifies', async () => {
  const user = newUser('push');
  const subscriber = push.subscriber();
  await subscribe(user, subscriber);

  const [sent] = await server.send({ userId: user, title: 'Your order shipped', body: 'On its way', priority: 'urgent', ttlSeconds: 600 });
  const [request] = await push.waitFor(subscriber, 1);
  assert.equal(request.error, null);
  assert.equal(request.headers['content-encoding'], 'aes128gcm');
  assert.equal(request.headers.urgency, 'high');
  assert.ok(Number(request.headers.ttl) > 540 && Number(request.headers.ttl) <= 600, `TTL ${request.headers.ttl}`);
  await verifyVapid(request, push.url, vapidPublicKey);

  const notification = JSON.parse(request.plaintext);
  assert.equal(notification.id, sent.id);
  assert.equal(notification.userId, user);
  assert.equal(notification.title, 'Your order shipped');
  assert.equal(notification.body, 'On its way');
  assert.equal(notification.priority, 'urgent');
  assert.equal(notification.broadcast, false);
  assert.equal(notification.readAt, null);
});

test('A user connected with the SignalR client gets no push, and a 410 deletes the subscription', async () => {
  const online = newUser('push-online');
  const onlineSubscriber = push.subscriber();
  await subscribe(online, onlineSubscriber);
  const connection = new HubConnectionBuilder()
    .withUrl(`${server.url}/hubs/notifications`, { accessTokenFactory: () => server.token(online) })
    .configureLogging(LogLevel.None)
    .build();
  const live = [];
  connection.on('notification', (n) => live.push(n.id));
  await connection.start();
  await connection.invoke('Resume', 0);
  try {
    // Presence is written shortly after the connection opens: wait until the admin view shows it.
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const presence = await server.request('GET', `/api/admin/presence/${encodeURIComponent(online)}`, { token: server.adminToken() });
      if (presence.body?.online) break;
      assert.ok(Date.now() < deadline, 'the hub connection never showed in presence');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const [whileOnline] = await server.send({ userId: online, title: 'Seen live' });
    // An offline user whose push service answers 410: sent after, so once it is pushed the first is planned too.
    const gone = newUser('push-gone');
    const goneSubscriber = push.subscriber(410);
    await subscribe(gone, goneSubscriber);
    await server.send({ userId: gone, title: 'To an expired subscription' });
    await push.waitFor(goneSubscriber, 1);

    assert.deepEqual(push.of(onlineSubscriber), []);
    for (const deadline = Date.now() + TIMEOUT_MS; !live.includes(whileOnline.id); ) {
      assert.ok(Date.now() < deadline, 'the notification never arrived live');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // The 410 deleted that subscription: the next notification is not pushed; the user's control push shows planning went on.
    const control = push.subscriber();
    const controlUser = newUser('push-control');
    await subscribe(controlUser, control);
    await server.send({ userId: gone, title: 'Nobody to push to' });
    await server.send({ userId: controlUser, title: 'Control' });
    await push.waitFor(control, 1);
    assert.equal(push.of(goneSubscriber).length, 1);
  } finally {
    await connection.stop();
  }
});
