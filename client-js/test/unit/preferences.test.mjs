import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError, createClient } from '../../dist/index.js';
import { fakeFetch } from './fakes.mjs';

const stored = {
  locale: 'de-AT', timeZone: 'Europe/Vienna', channels: { inApp: true, push: true },
  categories: { marketing: { inApp: false } }, quietHours: { start: '22:00', end: '07:00' },
};

test('preferences.get and preferences.set call GET and PUT /api/preferences and return what the server stored', async () => {
  const fetch = fakeFetch({
    'GET /api/preferences': () => ({ body: stored }),
    'PUT /api/preferences': () => ({ body: stored }),
  });
  const client = createClient({ url: 'http://realtime.test', accessTokenFactory: () => 'tok', fetch });
  const input = { locale: 'de-at', timeZone: 'Europe/Vienna', categories: { marketing: { inApp: false } }, quietHours: { start: '22:00', end: '07:00' } };

  assert.deepEqual(await client.preferences.get(), stored);
  assert.deepEqual(await client.preferences.set(input), stored);

  assert.deepEqual(fetch.requests.map((r) => `${r.method} ${r.path}`), ['GET /api/preferences', 'PUT /api/preferences']);
  assert.deepEqual(fetch.requests[1].body, input, 'the whole document, as given');
  assert.equal(fetch.requests[1].headers['Content-Type'], 'application/json');
  assert.equal(fetch.requests[0].headers.Authorization, 'Bearer tok');
});

test('A document the server refuses rejects with a ValidationError naming the field; a non-object is refused before any request', async () => {
  const fetch = fakeFetch({
    'PUT /api/preferences': () => ({
      status: 400, contentType: 'application/problem+json',
      body: { title: 'One or more validation errors occurred.', status: 400, errors: { 'categories.security.push': ['security is a mandatory category'] } },
    }),
  });
  const client = createClient({ url: 'http://realtime.test', accessTokenFactory: () => 'tok', fetch });

  const error = await client.preferences.set({ categories: { security: { push: false } } }).catch((e) => e);
  assert.ok(error instanceof ValidationError);
  assert.deepEqual(Object.keys(error.fieldErrors), ['categories.security.push']);

  await assert.rejects(client.preferences.set(null), TypeError);
  await assert.rejects(client.preferences.set([]), TypeError);
  assert.equal(fetch.requests.length, 1);
});
