import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RETRY_DELAYS, DefaultRetryPolicy } from '../../dist/index.js';

const context = (previousRetryCount) => ({ previousRetryCount, elapsedMilliseconds: 0, retryReason: new Error('x') });

test('The default policy waits 0, 2, 10 and 30 seconds, then 30 seconds for ever, without jitter when jitter is 0', () => {
  const policy = new DefaultRetryPolicy(undefined, { jitter: 0 });
  assert.deepEqual(DEFAULT_RETRY_DELAYS, [0, 2000, 10000, 30000]);
  assert.deepEqual([0, 1, 2, 3, 4, 50, 1000].map((n) => policy.nextRetryDelayInMilliseconds(context(n))), [0, 2000, 10000, 30000, 30000, 30000, 30000]);
});

test('Jitter spreads each non-zero delay by at most 20 percent either way and leaves an immediate retry immediate', () => {
  const low = new DefaultRetryPolicy(undefined, { random: () => 0 });
  const high = new DefaultRetryPolicy(undefined, { random: () => 0.999999 });
  assert.equal(low.nextRetryDelayInMilliseconds(context(0)), 0);
  assert.equal(high.nextRetryDelayInMilliseconds(context(0)), 0);
  assert.equal(low.nextRetryDelayInMilliseconds(context(1)), 1600);
  assert.equal(high.nextRetryDelayInMilliseconds(context(1)), 2400);
  const real = new DefaultRetryPolicy();
  const samples = Array.from({ length: 200 }, () => real.nextRetryDelayInMilliseconds(context(3)));
  assert.ok(samples.every((d) => d >= 24000 && d <= 36000), `every delay within 30 s ± 20 %: ${Math.min(...samples)}..${Math.max(...samples)}`);
  assert.ok(new Set(samples).size > 10, 'the delays differ from client to client');
});

test('A list of delays that ends with null gives up after its last delay, as SignalR\'s DefaultReconnectPolicy does', () => {
  const policy = new DefaultRetryPolicy([0, 2000, 10000, 30000, null], { jitter: 0 });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => policy.nextRetryDelayInMilliseconds(context(n))), [0, 2000, 10000, 30000, null, null]);
});

test('An empty list of delays is refused', () => {
  assert.throws(() => new DefaultRetryPolicy([]), RangeError);
});
