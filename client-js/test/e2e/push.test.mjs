// The SDK's Web Push calls (push.subscribe / unsubscribe / isSubscribed) against the real server,
// in Node: the registration is a fake whose pushManager makes subscriptions the way a browser
// does (an https endpoint of a public push service, a real P-256 public key, a 16-byte auth
// secret), because no push service is reachable here. The server's answers and what it stored
// (push_subscriptions) are checked.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ValidationError, createClient } from '../../dist/index.js';
import { startServer, storedSubscriptions } from '../server.mjs';
import { newUser } from './helpers.mjs';

let server;

before(async () => {
  server = await startServer();
}, { timeout: 60_000 });

after(async () => {
  await server?.dispose();
});

const toBase64Url = (bytes) => Buffer.from(bytes).toString('base64url');

/** A pushManager as a browser's: subscribe() makes a new subscription with fresh keys, getSubscription() returns it. */
class FakePushManager {
  constructor({ endpointBase = 'https://fcm.googleapis.com/fcm/send/' } = {}) {
    this.endpointBase = endpointBase;
    this.subscription = null;
    this.subscribeCalls = [];
  }

  async getSubscription() {
    return this.subscription;
  }

  async subscribe(options) {
    this.subscribeCalls.push(options);
    const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const p256dh = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)); // 65 bytes, 0x04 first
    const key = new Uint8Array(options.applicationServerKey);
    const json = {
      endpoint: `${this.endpointBase}${toBase64Url(randomBytes(24))}`,
      expirationTime: null,
      keys: { p256dh: toBase64Url(p256dh), auth: toBase64Url(randomBytes(16)) },
    };
    const manager = this;
    this.subscription = {
      endpoint: json.endpoint,
      options: { applicationServerKey: key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength) },
      toJSON: () => json,
      async unsubscribe() {
        if (manager.subscription === this) manager.subscription = null;
        return true;
      },
    };
    return this.subscription;
  }
}

/** A client for `user` whose REST calls are recorded with the server's status: `${method} ${path} → ${status}`. */
function clientFor(user) {
  const calls = [];
  const fetch = async (url, init) => {
    const response = await globalThis.fetch(url, init);
    calls.push(`${init?.method ?? 'GET'} ${new URL(url).pathname} → ${response.status}`);
    return response;
  };
  return { client: createClient({ url: server.url, accessTokenFactory: () => server.token(user), fetch }), calls };
}

async function vapidKey() {
  const answer = await server.request('GET', '/api/push/vapid-public-key');
  assert.equal(answer.status, 200);
  return answer.body.publicKey;
}

test('push.subscribe subscribes with the server\'s VAPID key and the server stores the subscription for the user; unsubscribe removes it', { timeout: 60_000 }, async () => {
  const user = newUser('push');
  const { client, calls } = clientFor(user);
  const registration = { pushManager: new FakePushManager() };
  assert.equal(await client.push.isSubscribed(registration), false);

  const subscription = await client.push.subscribe(registration);
  const [call] = registration.pushManager.subscribeCalls;
  assert.equal(call.userVisibleOnly, true);
  assert.equal(toBase64Url(call.applicationServerKey), await vapidKey(), 'applicationServerKey is the server\'s VAPID public key');
  assert.deepEqual(calls, ['GET /api/push/vapid-public-key → 200', 'POST /api/push/subscriptions → 201']);
  const { keys } = subscription.toJSON();
  assert.deepEqual(await storedSubscriptions(server, subscription.endpoint), [{ userId: user, p256dh: keys.p256dh, auth: keys.auth }]);
  assert.equal(await client.push.isSubscribed(registration), true);

  // Posting it again (as a page does on every start) keeps the one subscription.
  await client.push.subscribe(registration);
  assert.equal(registration.pushManager.subscribeCalls.length, 1, 'the existing subscription is reused');
  assert.equal(calls.at(-1), 'POST /api/push/subscriptions → 200', 'the server already holds it');
  assert.equal((await storedSubscriptions(server, subscription.endpoint)).length, 1);

  assert.equal(await client.push.unsubscribe(registration), true);
  assert.equal(calls.at(-1), 'DELETE /api/push/subscriptions → 204');
  assert.deepEqual(await storedSubscriptions(server, subscription.endpoint), [], 'the server no longer holds it');
  assert.equal(await client.push.isSubscribed(registration), false);
  assert.equal(await client.push.unsubscribe(registration), false, 'nothing left to unsubscribe');
  assert.equal(calls.length, 5, 'no request without a subscription');

  const again = await server.request('POST', '/api/push/subscriptions', { token: server.token(user), body: subscription.toJSON() });
  assert.equal(again.status, 201, 'posting the removed subscription again creates it anew');
});

test('A subscription the browser made with another key is replaced by one with the server\'s key', { timeout: 60_000 }, async () => {
  const user = newUser('push-rotated');
  const { client } = clientFor(user);
  const registration = { pushManager: new FakePushManager() };
  const old = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: new Uint8Array(65).fill(4) });

  const subscription = await client.push.subscribe(registration);
  assert.notEqual(subscription.endpoint, old.endpoint);
  assert.equal(toBase64Url(registration.pushManager.subscribeCalls[1].applicationServerKey), await vapidKey());
  assert.equal((await storedSubscriptions(server, subscription.endpoint)).length, 1);
  assert.deepEqual(await storedSubscriptions(server, old.endpoint), [], 'the old subscription never reached the server');
});

test('A subscription the server refuses fails with a ValidationError naming the field, and the browser is left unsubscribed', { timeout: 60_000 }, async () => {
  const user = newUser('push-refused');
  const { client } = clientFor(user);
  // An endpoint on this machine: the server's SSRF guard refuses it.
  const registration = { pushManager: new FakePushManager({ endpointBase: 'https://127.0.0.1/push/' }) };

  const error = await client.push.subscribe(registration).then(() => null, (e) => e);
  assert.ok(error instanceof ValidationError, `a ValidationError, got ${error}`);
  assert.equal(error.status, 400);
  assert.deepEqual(Object.keys(error.fieldErrors), ['endpoint']);
  assert.equal(await client.push.isSubscribed(registration), false,
    'the subscription the server refused is undone, so the next subscribe starts afresh');
});
