// The SDK's preferences calls against the real server: the defaults, the round trip, a refused
// document, and a muted category acting on the next send.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../dist/index.js';
import { newUser, useServer } from './helpers.mjs';

const { server, clients } = useServer();

test('preferences.get answers the defaults, set stores the document, and a muted category is suppressed at send time', { timeout: 60_000 }, async () => {
  const user = newUser('prefs');
  const client = clients.create(server, { accessTokenFactory: () => server.token(user) });

  assert.deepEqual(await client.preferences.get(), {
    locale: null, timeZone: null, channels: { inApp: true, push: true }, categories: {}, quietHours: null,
  });

  const saved = await client.preferences.set({
    locale: 'de-at', timeZone: 'Europe/Vienna', channels: { push: true },
    categories: { marketing: { inApp: false }, 'order.shipped': { push: false } },
    quietHours: { start: '22:00', end: '07:00' },
  });
  assert.deepEqual(saved, {
    locale: 'de-AT', timeZone: 'Europe/Vienna', channels: { inApp: true, push: true },
    categories: { marketing: { inApp: false }, 'order.shipped': { push: false } },
    quietHours: { start: '22:00', end: '07:00' },
  });
  assert.deepEqual(await client.preferences.get(), saved);

  const refused = await client.preferences.set({ timeZone: 'Mars/Olympus_Mons' }).catch((e) => e);
  assert.ok(refused instanceof ValidationError, String(refused));
  assert.deepEqual(Object.keys(refused.fieldErrors), ['timeZone']);
  assert.deepEqual(await client.preferences.get(), saved, 'a refused document changes nothing');

  const answer = await server.request('POST', '/api/notifications', { token: server.serviceToken(), body: { userId: user, title: 'Sale', category: 'marketing' } });
  assert.equal(answer.status, 201, answer.text);
  assert.deepEqual(answer.body, { notifications: [], suppressed: [{ userId: user, reason: 'preferences' }] });
  assert.equal((await client.list()).items.length, 0);
});
