// sw.js in a fake ServiceWorkerGlobalScope (node:vm): what it shows for a push, and where a
// click on the notification goes. (The browser test drives its push event in real Chromium.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import vm from 'node:vm';

const source = readFileSync(new URL('../../sw.js', import.meta.url), 'utf8');
const SCOPE = 'https://app.example/';

function loadWorker({ scriptUrl = `${SCOPE}sw.js`, windows = [] } = {}) {
  const listeners = new Map();
  const shown = [];
  const opened = [];
  const windowClients = windows.map((url) => ({
    url,
    focused: false,
    navigatedTo: null,
    messages: [],
    async focus() {
      this.focused = true;
      return this;
    },
    async navigate(target) {
      this.navigatedTo = target;
      return this;
    },
    postMessage(message) {
      this.messages.push(message);
    },
  }));
  const self = {
    location: { href: scriptUrl },
    registration: {
      scope: SCOPE,
      showNotification: async (title, options) => {
        shown.push({ title, ...options });
      },
    },
    clients: {
      matchAll: async () => windowClients,
      openWindow: async (url) => {
        opened.push(url);
        return null;
      },
      claim: async () => {},
    },
    skipWaiting: () => {},
    addEventListener: (type, listener) => listeners.set(type, listener),
  };
  vm.runInNewContext(source, { self, URL, JSON, Date, String, console });
  const dispatch = async (type, event) => {
    const pending = [];
    listeners.get(type)({ ...event, waitUntil: (p) => pending.push(p) });
    await Promise.all(pending);
  };
  return { dispatch, shown, opened, windows: windowClients };
}

const payload = (n) => ({ json: () => n, text: () => JSON.stringify(n) });
const clickOn = (data) => ({ notification: { data, close() { this.closed = true; } } });

test('A push shows the notification with its title, body and tag: the collapse key, else the id', async () => {
  const worker = loadWorker({ scriptUrl: `${SCOPE}sw.js?icon=/icon.png` });
  await worker.dispatch('push', { data: payload({ id: 7, title: 'Order shipped', body: 'On its way', link: 'https://shop.example/o/7', collapseKey: 'order-7', priority: 'urgent', createdAt: '2026-11-21T23:50:00.123Z' }) });
  await worker.dispatch('push', { data: payload({ id: 8, title: 'Hello', body: null, link: null, collapseKey: null, priority: 'normal', data: { icon: '/avatar.png' } }) });
  const [first, second] = worker.shown;
  assert.equal(first.title, 'Order shipped');
  assert.equal(first.body, 'On its way');
  assert.equal(first.tag, 'order-7');
  assert.equal(first.renotify, true, 'a replacement for the same collapse key alerts again');
  assert.equal(first.requireInteraction, true, 'urgent stays until dismissed');
  assert.equal(first.icon, '/icon.png', 'the icon from the script URL');
  assert.equal(first.timestamp, Date.parse('2026-11-21T23:50:00.123Z'));
  assert.deepEqual({ ...first.data }, { id: 7, link: 'https://shop.example/o/7', category: null, collapseKey: 'order-7' });
  assert.equal(second.tag, '8');
  assert.equal(second.body, undefined);
  assert.equal(second.icon, '/avatar.png', 'data.icon wins');
});

test('A push without a payload shows nothing, and a text payload shows the text', async () => {
  const worker = loadWorker();
  await worker.dispatch('push', { data: null });
  await worker.dispatch('push', { data: { json: () => { throw new SyntaxError('not JSON'); }, text: () => 'plain text' } });
  assert.deepEqual(worker.shown.map((n) => n.title), ['plain text']);
});

test('A click opens the link in a new window when no tab shows it and it leads out of the app', async () => {
  const worker = loadWorker({ windows: [`${SCOPE}inbox`] });
  const event = clickOn({ id: 7, link: 'https://shop.example/o/7' });
  await worker.dispatch('notificationclick', event);
  assert.equal(event.notification.closed, true);
  assert.deepEqual(worker.opened, ['https://shop.example/o/7']);
  assert.equal(worker.windows[0].focused, false, 'the app tab is not focused for a link elsewhere');
  assert.deepEqual(JSON.parse(JSON.stringify(worker.windows[0].messages)), [{ type: 'realtime:notificationclick', notification: { id: 7, link: 'https://shop.example/o/7' } }]);
});

test('A click focuses a tab that already shows the link', async () => {
  const worker = loadWorker({ windows: [`${SCOPE}inbox`, 'https://shop.example/o/7'] });
  await worker.dispatch('notificationclick', clickOn({ id: 7, link: 'https://shop.example/o/7' }));
  assert.equal(worker.windows[1].focused, true);
  assert.deepEqual(worker.opened, []);
});

test('A click on a link into the app focuses an open tab of the app and navigates it there', async () => {
  const worker = loadWorker({ windows: [`${SCOPE}inbox`] });
  await worker.dispatch('notificationclick', clickOn({ id: 9, link: '/orders/9' }));
  assert.equal(worker.windows[0].focused, true);
  assert.equal(worker.windows[0].navigatedTo, `${SCOPE}orders/9`);
  assert.deepEqual(worker.opened, []);
});

test('A click on a notification without a link focuses an open tab of the app, or opens the app', async () => {
  const open = loadWorker({ windows: [`${SCOPE}inbox`] });
  await open.dispatch('notificationclick', clickOn({ id: 10, link: null }));
  assert.equal(open.windows[0].focused, true);
  assert.equal(open.windows[0].navigatedTo, null, 'the tab stays where it is');
  assert.deepEqual(open.opened, []);

  const none = loadWorker();
  await none.dispatch('notificationclick', clickOn({ id: 10, link: null }));
  assert.deepEqual(none.opened, [SCOPE]);
});
