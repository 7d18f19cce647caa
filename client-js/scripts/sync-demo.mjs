// Copies the browser bundle and sw.js into the server's demo page (src/Realtime.Server/Demo/Page),
// where they are committed and embedded, so that a plain `dotnet build` serves a working page.
// test/unit/demo-assets.test.mjs fails when the committed copies differ from a fresh build.
import { copyFileSync } from 'node:fs';
import { demoAssets } from './demo-assets.mjs';

for (const { built, committed } of demoAssets) {
  copyFileSync(built, committed);
  console.log(`${built} -> ${committed}`);
}
