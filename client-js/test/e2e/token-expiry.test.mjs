// A token that expires while connected: the server closes the connection at `exp`; the client
// asks accessTokenFactory for a new one, reconnects and resumes: nothing is lost or repeated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Recorder, deferred, newUser, useServer } from './helpers.mjs';

const { server, clients } = useServer();

// Long enough that the first connect (after a cold REST call) happens well before it expires.
const SHORT_LIFETIME_S = 6;

for (const transport of ['websockets', 'sse']) {
  test(`Over ${transport}, a token that expires mid-connection is replaced through accessTokenFactory and nothing is lost`, { timeout: 60_000 }, async () => {
    const user = newUser(`expiry-${transport}`);
    // As an app would: a cached token while it is still valid, a new one once it has expired.
    // The first token lives 6 s, the renewed one an hour; the renewal waits for the test.
    const issued = [];
    let current = null;
    const hold = deferred();
    const client = clients.create(server, {
      transports: [transport],
      accessTokenFactory: async () => {
        if (current && current.exp * 1000 > Date.now() + 500) return current.token;
        if (current) await hold.promise;
        const exp = Math.floor(Date.now() / 1000) + (current ? 3600 : SHORT_LIFETIME_S);
        current = { exp, token: server.token(user, { exp }) };
        issued.push(exp);
        return current.token;
      },
    });
    const log = new Recorder(client, transport);
    await client.start();
    const [first] = await server.send({ userId: user, title: 'with the first token' });
    await log.waitForIds([first.id]);

    // The server closes the connection when the first token expires; the client wants a new one.
    await log.waitForState('reconnecting', undefined, { timeout: (SHORT_LIFETIME_S + 10) * 1000 });
    const [meanwhile] = await server.send({ userId: user, title: 'while the token is being renewed' });
    hold.resolve();
    await log.waitForState('connected', transport);
    const [after] = await server.send({ userId: user, title: 'with the new token' });
    await log.waitForIds([meanwhile.id, after.id]);

    assert.deepEqual(log.ids, [first.id, meanwhile.id, after.id], 'each once, in id order');
    assert.equal(issued.length, 2, 'one token at start, one renewal');
    assert.ok(issued[1] - issued[0] > 3000, 'the renewal is a fresh long-lived token');
    await client.stop();
  });
}
