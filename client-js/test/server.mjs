// The real server for the SDK's end-to-end and browser tests: the same harness as tests/e2e-js
// (a Release build on a free port, a fresh database, HS256 tokens), plus a bounded wait helper.
export { startServer, freePort, mintToken } from '../../tests/e2e-js/server.mjs';

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
