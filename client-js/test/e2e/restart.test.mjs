// A server restart: the client reconnects by itself (default retry policy), resumes from the
// last id it saw, and the app gets what was sent meanwhile once and in order, with no code of its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Recorder, assertIncreasing, deferred, newUser, useServer } from './helpers.mjs';

const { server, clients } = useServer();

for (const transports of [undefined, ['sse']]) {
  const name = transports ? transports.join(',') : 'the default transports';
  test(`Over ${name}, notifications sent while the server restarts and before the client is back arrive once and in order`, { timeout: 90_000 }, async () => {
    const user = newUser('restart');
    // While `hold` is pending the client cannot reconnect (a slow token refresh), so the test
    // can send while it is away.
    let hold = null;
    let tokensIssued = 0;
    const client = clients.create(server, {
      transports,
      accessTokenFactory: async () => {
        if (hold) await hold.promise;
        tokensIssued += 1;
        return server.token(user);
      },
    });
    const log = new Recorder(client, name);
    await client.start();
    const expected = transports ? 'sse' : 'websockets';
    assert.equal(client.transport, expected);
    const before = await server.send({ userId: user, title: 'before the restart' });
    await log.waitForIds([before[0].id]);

    hold = deferred();
    await server.stop();
    await log.waitForState('reconnecting', undefined, { timeout: 15_000 });
    await server.start();
    const meanwhile = [];
    for (const title of ['sent while away 1', 'sent while away 2', 'sent while away 3']) {
      meanwhile.push((await server.send({ userId: user, title }))[0].id);
    }
    assert.ok(!log.ids.includes(meanwhile[0]), 'the client is not back yet');
    const issuedBefore = tokensIssued;
    hold.resolve();
    hold = null;

    await log.waitForIds(meanwhile, { timeout: 45_000 });
    await log.waitForState('connected');
    assert.equal(client.transport, expected, 'back on the preferred transport');
    assert.ok(tokensIssued > issuedBefore, 'the token factory was asked again for the reconnect');
    const after = await server.send({ userId: user, title: 'live after the restart' });
    await log.waitForIds([after[0].id]);

    assert.deepEqual(log.ids, [before[0].id, ...meanwhile, after[0].id], 'each notification exactly once, in id order');
    assertIncreasing(assert, log.ids);
    assert.ok(log.states.includes('reconnecting'), log.states.join(' '));
    await client.stop();
  });
}
