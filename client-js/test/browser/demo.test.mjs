// The demo page in a real browser (Debian's chromium, headless, driven by playwright-core):
// sign in, receive a notification sent over HTTP, mark it read in one tab and watch the other
// tab's badge follow; enable push against the real push endpoints (only the browser's push
// service is faked); sw.js showing a push.
// Keeps a screenshot: client-js/test-results/demo.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { eventually, startServer, storedSubscriptions } from '../server.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const resultsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results');
const STEP_TIMEOUT = 15_000;

let server;
let context;
let userDataDir;
const pageErrors = [];

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (./test.sh installs it)`);
  process.env.Realtime__DemoPage = 'true';
  server = await startServer();
  userDataDir = mkdtempSync(path.join(os.tmpdir(), 'realtime-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 900 },
    timeout: 30_000,
  });
  context.setDefaultTimeout(STEP_TIMEOUT);
}, { timeout: 60_000 });

after(async () => {
  await context?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await server?.dispose();
  delete process.env.Realtime__DemoPage;
});

async function openTab(query = '') {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${server.url}/${query}`);
  return page;
}

async function signIn(page, user, { admin = false } = {}) {
  await page.fill('#user', user);
  if (admin) await page.check('#admin');
  await page.click('#sign-in');
  await page.waitForSelector('#state[data-state="connected"]');
}

const badge = (page) => page.$eval('#badge', (b) => (b.hidden ? '0' : b.textContent));

async function waitForBadge(page, value) {
  await page.waitForFunction((v) => {
    const b = document.getElementById('badge');
    return (b.hidden ? '0' : b.textContent) === v;
  }, value);
}

test('The demo page receives a notification sent over HTTP, and marking it read in one tab updates the other tab\'s badge', { timeout: 90_000 }, async () => {
  const user = `demo-${Date.now().toString(36)}`;
  const first = await openTab();
  assert.equal(await first.title(), 'Realtime demo');
  await signIn(first, user, { admin: true });
  assert.match(await first.textContent('#state'), /connected · websockets/);
  const second = await openTab(`?user=${encodeURIComponent(user)}`);
  await second.waitForSelector('#state[data-state="connected"]');
  assert.equal(await badge(first), '0');

  const [sent] = await server.send({ userId: user, title: 'Your order shipped', body: 'Order #123 is on its way', category: 'order.shipped', priority: 'high', link: 'https://shop.example/orders/123' });
  await first.waitForSelector(`#inbox li[data-id="${sent.id}"].unread`);
  await second.waitForSelector(`#inbox li[data-id="${sent.id}"].unread`);
  assert.match(await first.textContent(`#inbox li[data-id="${sent.id}"] .title`), /Your order shipped/);
  await waitForBadge(first, '1');
  await waitForBadge(second, '1');

  const more = await server.send({ userId: user, title: 'Payment received', body: 'Thank you!', category: 'billing' });
  await server.broadcast({ title: 'Maintenance tonight', body: '22:00–23:00 UTC', priority: 'normal' });
  await first.waitForSelector(`#inbox li[data-id="${more[0].id}"]`);
  await waitForBadge(first, '3');
  await waitForBadge(second, '3');

  await first.click(`#inbox li[data-id="${sent.id}"] button.mark-read`);
  await first.waitForSelector(`#inbox li[data-id="${sent.id}"].read`);
  await waitForBadge(first, '2');
  await waitForBadge(second, '2');
  await second.waitForSelector(`#inbox li[data-id="${sent.id}"].read`);

  // The admin panel: stats of this node, presence of the user (two tabs).
  await first.click('#stats-refresh');
  await first.waitForFunction(() => /users online/.test(document.getElementById('stats').textContent));
  await first.fill('#presence-user', user);
  await first.click('#presence-form button[type=submit]');
  await first.waitForFunction(() => document.querySelectorAll('#presence table tr').length >= 3);

  mkdirSync(resultsDir, { recursive: true });
  await first.screenshot({ path: path.join(resultsDir, 'demo.png'), fullPage: true });

  await second.click('#mark-all-read');
  await waitForBadge(first, '0');
  await waitForBadge(second, '0');
  assert.deepEqual(pageErrors, [], 'no uncaught errors on the page');
  await second.close();
  await first.close();
});

test('Enable push subscribes with the server\'s VAPID key and the real server stores the subscription for the user; Disable push removes it', { timeout: 60_000 }, async () => {
  // Chromium's push service is unreachable here: only PushManager.subscribe is replaced, by a fake
  // that records its options and makes a subscription as a browser would (an https endpoint of a
  // public push service, a real P-256 public key and a 16-byte auth secret from WebCrypto).
  // Everything else is real: sw.js is registered, and the page talks to the server.
  const publicKey = (await server.request('GET', '/api/push/vapid-public-key')).body.publicKey;
  await context.grantPermissions(['notifications'], { origin: server.url });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const exchanges = [];
  page.on('response', (response) => {
    const request = response.request();
    if (!new URL(request.url()).pathname.startsWith('/api/push/')) return;
    exchanges.push({ method: request.method(), url: request.url(), status: response.status(), request, body: request.postData() });
  });
  const exchangesSeen = (count) => eventually(() => exchanges.length >= count,
    { timeout: STEP_TIMEOUT, what: `${count} push requests`, describe: () => exchanges.map((e) => `${e.method} ${e.url} ${e.status}`).join('\n') });
  await page.addInitScript(() => {
    const base64Url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    let current = null;
    window.__subscribeCalls = [];
    PushManager.prototype.subscribe = async function subscribe(options) {
      const key = new Uint8Array(options.applicationServerKey);
      window.__subscribeCalls.push({ userVisibleOnly: options.userVisibleOnly, key: base64Url(key) });
      const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
      const json = {
        endpoint: `https://fcm.googleapis.com/fcm/send/${base64Url(crypto.getRandomValues(new Uint8Array(24)))}`,
        expirationTime: null,
        keys: { p256dh: base64Url(await crypto.subtle.exportKey('raw', pair.publicKey)), auth: base64Url(crypto.getRandomValues(new Uint8Array(16))) },
      };
      current = {
        endpoint: json.endpoint,
        options: { applicationServerKey: key.buffer },
        toJSON: () => json,
        unsubscribe: async () => { current = null; return true; },
      };
      return current;
    };
    PushManager.prototype.getSubscription = async function getSubscription() {
      return current;
    };
  });
  await page.goto(`${server.url}/`);
  const user = `push-${Date.now().toString(36)}`;
  await signIn(page, user);
  await page.click('#enable-push');
  await page.waitForFunction(() => /^Push (on|could not)/.test(document.getElementById('push-status').textContent));
  assert.match(await page.textContent('#push-status'), /^Push on: .* arrive at fcm\.googleapis\.com\.$/, 'no error on the page');
  assert.equal(await page.textContent('#enable-push'), 'Disable push');
  assert.equal(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration('/'))?.active?.scriptURL), `${server.url}/sw.js`,
    'sw.js is registered and active');

  await exchangesSeen(2);
  const calls = await page.evaluate(() => window.__subscribeCalls);
  assert.deepEqual(calls, [{ userVisibleOnly: true, key: publicKey }], 'applicationServerKey is the server\'s VAPID public key');
  assert.deepEqual(exchanges.map((e) => `${e.method} ${new URL(e.url).pathname} ${e.status}`),
    ['GET /api/push/vapid-public-key 200', 'POST /api/push/subscriptions 201']);
  const post = exchanges[1];
  assert.match(await post.request.headerValue('authorization'), /^Bearer ey/, 'the subscription is posted with the user\'s token');
  const subscription = JSON.parse(post.body);
  assert.deepEqual(subscription, await page.evaluate(async () => (await (await navigator.serviceWorker.ready).pushManager.getSubscription()).toJSON()),
    'the page posts PushSubscription.toJSON()');
  assert.deepEqual(await storedSubscriptions(server, subscription.endpoint), [{ userId: user, p256dh: subscription.keys.p256dh, auth: subscription.keys.auth }],
    'the server stores the subscription for the signed-in user');
  const repost = await server.request('POST', '/api/push/subscriptions', { token: server.token(user), body: subscription });
  assert.equal(repost.status, 200, 'the server already holds this subscription for the user');

  await page.click('#enable-push');
  await page.waitForFunction(() => /Push turned off/.test(document.getElementById('push-status').textContent));
  assert.equal(await page.textContent('#enable-push'), 'Enable push');
  await exchangesSeen(3);
  const del = exchanges[2];
  assert.equal(`${del.method} ${new URL(del.url).pathname} ${del.status}`, 'DELETE /api/push/subscriptions 204');
  assert.equal(new URL(del.url).searchParams.get('endpoint'), subscription.endpoint);
  assert.deepEqual(await storedSubscriptions(server, subscription.endpoint), [], 'the server no longer holds it');
  const again = await server.request('POST', '/api/push/subscriptions', { token: server.token(user), body: subscription });
  assert.equal(again.status, 201, 'posting the removed subscription again creates it anew');
  await server.request('DELETE', `/api/push/subscriptions?endpoint=${encodeURIComponent(subscription.endpoint)}`, { token: server.token(user) });
  assert.ok(!(await page.textContent('#events')).includes('push:'), 'the page logged no push error');
  await page.close();
});

test('sw.js shows a pushed notification with its title, body and tag (collapse key, else id)', { timeout: 60_000 }, async () => {
  await context.grantPermissions(['notifications'], { origin: server.url });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  const cdp = await context.newCDPSession(page);
  const registrations = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: list }) => {
    for (const r of list) {
      if (r.isDeleted) registrations.delete(r.scopeURL);
      else registrations.set(r.scopeURL, r.registrationId);
    }
  });
  await cdp.send('ServiceWorker.enable');
  // A fresh registration (the push test may have registered /sw.js without the icon parameter).
  await page.evaluate(async () => {
    for (const old of await navigator.serviceWorker.getRegistrations()) await old.unregister();
    const registration = await navigator.serviceWorker.register('/sw.js?icon=/demo/icon.svg', { scope: '/' });
    const worker = registration.installing ?? registration.waiting ?? registration.active;
    if (worker.state !== 'activated') {
      await new Promise((resolve) => worker.addEventListener('statechange', () => worker.state === 'activated' && resolve()));
    }
  });
  const scope = `${server.url}/`;
  const deadline = Date.now() + STEP_TIMEOUT;
  while (!registrations.has(scope) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(registrations.has(scope), `the service worker registration is known to DevTools: ${[...registrations.keys()]}`);
  const registrationId = registrations.get(scope);

  const push = async (notification) => {
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: server.url, registrationId, data: JSON.stringify(notification) });
  };
  // What the service worker shows now, once `expected` (a tag and title) is among it or the step's time is up.
  // Each push waits for its own notification before the next is sent: DevTools hands a push to the worker and
  // returns at once, so three sent back to back may be handled in any order on a loaded machine.
  const shownOnce = (expected) => page.evaluate(async ({ tag, title, deadlineMs }) => {
    const registration = await navigator.serviceWorker.ready;
    const end = Date.now() + deadlineMs;
    for (;;) {
      const list = await registration.getNotifications();
      if (list.some((n) => n.tag === tag && n.title === title) || Date.now() > end) {
        return list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, icon: n.icon, data: n.data }));
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }, { ...expected, deadlineMs: STEP_TIMEOUT });
  const base = { userId: 'alice', category: 'order.shipped', data: null, priority: 'normal', broadcast: false, createdAt: new Date().toISOString(), expiresAt: null, readAt: null };
  await push({ ...base, id: 101, title: 'Order shipped', body: 'On its way', link: 'https://shop.example/orders/1', collapseKey: 'order-1' });
  await shownOnce({ tag: 'order-1', title: 'Order shipped' });
  await push({ ...base, id: 102, title: 'Order delivered', body: 'Enjoy', link: 'https://shop.example/orders/1', collapseKey: 'order-1' });
  await shownOnce({ tag: 'order-1', title: 'Order delivered' });
  await push({ ...base, id: 103, title: 'Payment received', body: 'Thanks', link: null, collapseKey: null });
  const shown = await shownOnce({ tag: '103', title: 'Payment received' });
  const byTag = Object.fromEntries(shown.map((n) => [n.tag, n]));
  assert.deepEqual(Object.keys(byTag).sort(), ['103', 'order-1'], `one notification per collapse key: ${JSON.stringify(shown)}`);
  assert.equal(byTag['order-1'].title, 'Order delivered', 'the newer push with the same collapse key replaced the older');
  assert.equal(byTag['order-1'].body, 'Enjoy');
  assert.equal(byTag['order-1'].data.link, 'https://shop.example/orders/1');
  assert.equal(byTag['103'].title, 'Payment received');
  assert.equal(byTag['103'].icon, `${server.url}/demo/icon.svg`, 'the icon from the sw.js URL');
  await cdp.detach();
  await page.close();
});

test('The preferences form shows the user\'s preferences, saves what the server then stores and acts on, and shows a refused field', { timeout: 60_000 }, async () => {
  const user = `prefs-${Date.now().toString(36)}`;
  const page = await openTab();
  await signIn(page, user);
  await page.waitForSelector('#preferences-card:not([hidden])');
  await page.waitForFunction(() => document.getElementById('pref-timezone').value !== '', null); // loaded (the browser's zone as a suggestion)

  await page.fill('#pref-locale', 'de-at');
  await page.fill('#pref-timezone', 'Europe/Vienna');
  await page.fill('#pref-muted', 'marketing, tips');
  await page.fill('#pref-no-push', 'order.shipped');
  await page.check('#pref-quiet');
  await page.fill('#pref-quiet-start', '22:00');
  await page.fill('#pref-quiet-end', '07:00');
  await page.click('#pref-save');
  await page.waitForFunction(() => /Saved/.test(document.getElementById('preferences-status').textContent));

  const stored = await server.request('GET', '/api/preferences', { token: server.token(user) });
  assert.deepEqual(stored.body, {
    locale: 'de-AT', timeZone: 'Europe/Vienna', channels: { inApp: true, push: true },
    categories: { marketing: { inApp: false }, 'order.shipped': { push: false }, tips: { inApp: false } },
    quietHours: { start: '22:00', end: '07:00' },
  });
  const sent = await server.request('POST', '/api/notifications', { token: server.serviceToken(), body: { userId: user, title: 'Sale', category: 'marketing' } });
  assert.deepEqual(sent.body, { notifications: [], suppressed: [{ userId: user, reason: 'preferences' }] });

  // Reloaded, the form shows what is stored.
  await page.reload();
  await page.waitForFunction(() => document.getElementById('pref-locale').value === 'de-AT');
  assert.equal(await page.inputValue('#pref-muted'), 'marketing, tips');
  assert.equal(await page.isChecked('#pref-quiet'), true);

  await page.fill('#pref-timezone', 'Mars/Olympus_Mons');
  await page.click('#pref-save');
  await page.waitForFunction(() => /timeZone/.test(document.getElementById('preferences-status').textContent));
  assert.equal(await page.getAttribute('#preferences-status', 'class'), 'error');
  assert.deepEqual(pageErrors, [], 'no uncaught errors on the page');
  await page.close();
});
