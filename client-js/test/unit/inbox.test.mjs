import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConflictError, ForbiddenError, HttpError, NotFoundError, RateLimitError, RealtimeError, ServiceUnavailableError, UnauthorizedError,
  ValidationError, createClient,
} from '../../dist/index.js';
import { fakeFetch, notification } from './fakes.mjs';

function clientWith(fetch, token = 'tok') {
  let calls = 0;
  const client = createClient({ url: 'http://realtime.test/', accessTokenFactory: async () => `${token}${++calls}`, fetch });
  return client;
}

test('list builds the query from its options and returns the REST payload', async () => {
  const page = { items: [notification(9), notification(8)], unreadCount: 2, nextBefore: 8 };
  const fetch = fakeFetch({ 'GET /api/notifications': () => ({ body: page }) });
  const client = clientWith(fetch);
  assert.deepEqual(await client.list({ before: 10, limit: 2, unread: true, category: 'order shipped' }), page);
  assert.deepEqual(await client.list(), page);
  assert.equal(fetch.requests[0].url, 'http://realtime.test/api/notifications?limit=2&before=10&unread=true&category=order+shipped');
  assert.equal(fetch.requests[1].url, 'http://realtime.test/api/notifications');
  assert.equal(fetch.requests[0].headers.Authorization, 'Bearer tok1', 'a token from the factory');
  assert.equal(fetch.requests[1].headers.Authorization, 'Bearer tok2', 'the factory is asked on every call');
});

test('unreadCount, markRead, markUnread, markAllRead and remove call their endpoints', async () => {
  const ok = () => ({ status: 204 });
  const fetch = fakeFetch({
    'GET /api/notifications/unread-count': () => ({ body: { unreadCount: 4 } }),
    'POST /api/notifications/5/read': ok,
    'POST /api/notifications/5/unread': ok,
    'POST /api/notifications/read-all': ok,
    'DELETE /api/notifications/5': ok,
  });
  const client = clientWith(fetch);
  assert.deepEqual(await client.unreadCount(), { unreadCount: 4 });
  assert.equal(await client.markRead(5), undefined);
  await client.markUnread(5);
  await client.markAllRead();
  await client.markAllRead(42);
  await client.remove(5);
  assert.deepEqual(fetch.requests.map((r) => `${r.method} ${r.path}`), [
    'GET /api/notifications/unread-count', 'POST /api/notifications/5/read', 'POST /api/notifications/5/unread',
    'POST /api/notifications/read-all', 'POST /api/notifications/read-all', 'DELETE /api/notifications/5',
  ]);
  assert.equal(fetch.requests[3].body, undefined, 'read-all without upTo sends no body');
  assert.deepEqual(fetch.requests[4].body, { upTo: 42 });
  assert.equal(fetch.requests[4].headers['Content-Type'], 'application/json');
  await assert.rejects(client.markRead(0), RangeError);
  await assert.rejects(client.remove(1.5), RangeError);
});

test('Errors are typed exceptions that carry the problem+json body', async () => {
  const problem = (status, extra = {}) => () => ({ status, contentType: 'application/problem+json', body: { title: `t${status}`, status, detail: `d${status}`, ...extra } });
  const fetch = fakeFetch({
    'GET /api/notifications': problem(400, { errors: { limit: ['limit must be between 1 and 200'] } }),
    'GET /api/notifications/unread-count': problem(401),
    'POST /api/notifications/1/read': problem(404),
    'POST /api/notifications/2/read': problem(403),
    'POST /api/notifications/3/read': problem(409),
    'POST /api/notifications/4/read': () => ({ status: 429, headers: { 'Retry-After': '3' }, contentType: 'application/problem+json', body: { title: 'Too Many Requests', status: 429 } }),
    'POST /api/notifications/5/read': () => ({ status: 503, headers: { 'Retry-After': '10' }, body: undefined }),
    'POST /api/notifications/6/read': () => ({ status: 500, contentType: 'text/plain', body: undefined }),
  });
  const client = clientWith(fetch);

  const invalid = await client.list({ limit: 500 }).catch((e) => e);
  assert.ok(invalid instanceof ValidationError && invalid instanceof HttpError && invalid instanceof RealtimeError && invalid instanceof Error);
  assert.equal(invalid.status, 400);
  assert.deepEqual(invalid.fieldErrors, { limit: ['limit must be between 1 and 200'] });
  assert.equal(invalid.problem.title, 't400');
  assert.match(invalid.message, /GET \/api\/notifications\?limit=500 answered 400: d400/);
  assert.equal(invalid.name, 'ValidationError');

  await assert.rejects(client.unreadCount(), UnauthorizedError);
  const notFound = await client.markRead(1).catch((e) => e);
  assert.ok(notFound instanceof NotFoundError);
  assert.equal(notFound.problem.detail, 'd404');
  await assert.rejects(client.markRead(2), ForbiddenError);
  await assert.rejects(client.markRead(3), ConflictError);
  const limited = await client.markRead(4).catch((e) => e);
  assert.ok(limited instanceof RateLimitError);
  assert.equal(limited.retryAfterSeconds, 3);
  const unavailable = await client.markRead(5).catch((e) => e);
  assert.ok(unavailable instanceof ServiceUnavailableError);
  assert.equal(unavailable.retryAfterSeconds, 10);
  assert.equal(unavailable.problem, null, 'no body, no problem details');
  const other = await client.markRead(6).catch((e) => e);
  assert.equal(other.constructor, HttpError);
  assert.equal(other.status, 500);
});
