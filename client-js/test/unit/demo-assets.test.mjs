import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { demoAssets } from '../../scripts/demo-assets.mjs';

test('The SDK bundle and sw.js committed into the server\'s demo page match a fresh build (run npm run sync-demo after changing the SDK)', () => {
  for (const { built, committed } of demoAssets) {
    const fresh = readFileSync(built);
    const copy = readFileSync(committed);
    assert.ok(fresh.equals(copy), `${committed} differs from ${built}: run \`npm run sync-demo\` in client-js and commit the result`);
  }
});
