// The real server for the SDK's end-to-end and browser tests: the same harness as tests/e2e-js
// (a Release build on a free port, a fresh database, HS256 tokens), plus a bounded wait helper
// and a look at the push subscriptions the server stored.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseConnectionString } from '../../tests/e2e-js/server.mjs';

export { RealtimeServer, startServer, freePort, mintToken } from '../../tests/e2e-js/server.mjs';

const execFileAsync = promisify(execFile);

/**
 * The rows of push_subscriptions with this endpoint in `server`'s database, read with psql:
 * [{ userId, p256dh, auth }] (empty when the server holds none).
 */
export async function storedSubscriptions(server, endpoint) {
  const c = parseConnectionString(server.connectionString);
  const env = { ...process.env };
  if (c.get('password')) env.PGPASSWORD = c.get('password');
  const literal = `'${endpoint.replaceAll("'", "''")}'`;
  const sql = 'SELECT coalesce(json_agg(json_build_object(\'userId\', user_id, \'p256dh\', p256dh, \'auth\', auth) ORDER BY id), \'[]\') '
    + `FROM push_subscriptions WHERE endpoint = ${literal}`;
  const { stdout } = await execFileAsync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
    '-h', c.get('host') ?? '127.0.0.1', '-p', c.get('port') ?? '5432', '-U', c.get('username') ?? 'postgres',
    '-d', c.get('database'), '-c', sql], { env, timeout: 10_000 });
  return JSON.parse(stdout.trim());
}

/** Resolves with the first truthy `condition()` (checked every 20 ms); rejects after `timeout` ms naming `what`. */
export async function eventually(condition, { timeout = 10_000, what = 'the condition', describe = () => '' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError = null;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}${describe() ? `\n${describe()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
