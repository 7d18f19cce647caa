import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base64UrlToBytes, createClient } from '../../dist/index.js';
import { fakeFetch } from './fakes.mjs';

// A P-256 public point is 65 bytes, 0x04 first.
const keyBytes = Uint8Array.from({ length: 65 }, (_, i) => (i === 0 ? 4 : (i * 7) % 256));
const publicKey = Buffer.from(keyBytes).toString('base64url');

class FakePushManager {
  constructor() {
    this.subscription = null;
    this.subscribeCalls = [];
  }

  async getSubscription() {
    return this.subscription;
  }

  async subscribe(options) {
    this.subscribeCalls.push(options);
    const manager = this;
    const key = options.applicationServerKey;
    this.subscription = {
      endpoint: 'https://push.example/send/abc?x=1',
      options: { applicationServerKey: key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength) },
      toJSON: () => ({ endpoint: 'https://push.example/send/abc?x=1', expirationTime: null, keys: { p256dh: 'BPkey', auth: 'authkey' } }),
      async unsubscribe() {
        manager.subscription = null;
        return true;
      },
    };
    return this.subscription;
  }
}

function setup() {
  const fetch = fakeFetch({
    'GET /api/push/vapid-public-key': () => ({ body: { publicKey } }),
    'POST /api/push/subscriptions': () => ({ status: 201, body: undefined }),
    'DELETE /api/push/subscriptions': () => ({ status: 204 }),
  });
  const client = createClient({ url: 'http://realtime.test', accessTokenFactory: () => 'tok', fetch });
  const registration = { pushManager: new FakePushManager() };
  return { fetch, client, registration };
}

test('base64url keys decode to their bytes', () => {
  assert.deepEqual([...base64UrlToBytes(publicKey)], [...keyBytes]);
  assert.deepEqual([...base64UrlToBytes('_-8')], [0xff, 0xef]);
});

test('push.subscribe fetches the VAPID key without a token, subscribes with it and posts the subscription', async () => {
  const { fetch, client, registration } = setup();
  assert.equal(await client.push.isSubscribed(registration), false);
  const subscription = await client.push.subscribe(registration);
  assert.equal(subscription.endpoint, 'https://push.example/send/abc?x=1');
  const [call] = registration.pushManager.subscribeCalls;
  assert.equal(call.userVisibleOnly, true);
  assert.deepEqual([...call.applicationServerKey], [...keyBytes]);
  const [keyRequest, post] = fetch.requests;
  assert.equal(`${keyRequest.method} ${keyRequest.path}`, 'GET /api/push/vapid-public-key');
  assert.equal(keyRequest.headers.Authorization, undefined, 'the VAPID key needs no token');
  assert.equal(`${post.method} ${post.path}`, 'POST /api/push/subscriptions');
  assert.equal(post.headers.Authorization, 'Bearer tok');
  assert.deepEqual(post.body, { endpoint: 'https://push.example/send/abc?x=1', expirationTime: null, keys: { p256dh: 'BPkey', auth: 'authkey' } });
  assert.equal(await client.push.isSubscribed(registration), true);

  await client.push.subscribe(registration);
  assert.equal(registration.pushManager.subscribeCalls.length, 1, 'an existing subscription with the same key is posted again, not renewed');
  assert.equal(fetch.requests.filter((r) => r.method === 'POST').length, 2);
});

test('push.unsubscribe deletes the subscription on the server by endpoint and in the browser', async () => {
  const { fetch, client, registration } = setup();
  assert.equal(await client.push.unsubscribe(registration), false, 'nothing to unsubscribe');
  await client.push.subscribe(registration);
  assert.equal(await client.push.unsubscribe(registration), true);
  const del = fetch.requests.at(-1);
  assert.equal(del.method, 'DELETE');
  assert.equal(del.url, `http://realtime.test/api/push/subscriptions?endpoint=${encodeURIComponent('https://push.example/send/abc?x=1')}`);
  assert.equal(await client.push.isSubscribed(registration), false);
});

test('A subscription made with another key is replaced', async () => {
  const { client, registration } = setup();
  await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: new Uint8Array(65) });
  await client.push.subscribe(registration);
  assert.equal(registration.pushManager.subscribeCalls.length, 2);
  assert.deepEqual([...registration.pushManager.subscribeCalls[1].applicationServerKey], [...keyBytes]);
});

test('push.subscribe without a registration outside a browser says what to pass', async () => {
  const { client } = setup();
  await assert.rejects(client.push.subscribe(), /needs a service worker registration/);
});

test('A subscription the browser already had stays when the server refuses the post (only one made by subscribe is undone)', async () => {
  let answer = { status: 503, body: { title: 'Service Unavailable', status: 503 }, contentType: 'application/problem+json' };
  const fetch = fakeFetch({
    'GET /api/push/vapid-public-key': () => ({ body: { publicKey } }),
    'POST /api/push/subscriptions': () => answer,
  });
  const client = createClient({ url: 'http://realtime.test', accessTokenFactory: () => 'tok', fetch });
  const registration = { pushManager: new FakePushManager() };
  await assert.rejects(client.push.subscribe(registration), (e) => e.status === 503);
  assert.equal(await client.push.isSubscribed(registration), false, 'the subscription made by this call is undone');

  await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes });
  await assert.rejects(client.push.subscribe(registration), (e) => e.status === 503);
  assert.equal(await client.push.isSubscribed(registration), true, 'the earlier subscription is kept');
  answer = { status: 200, body: undefined };
  await client.push.subscribe(registration);
  assert.equal(registration.pushManager.subscribeCalls.length, 2);
});
