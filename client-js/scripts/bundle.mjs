// The browser bundle: the SDK and @microsoft/signalr in one ES module, for pages without a
// bundler (the demo page serves it). Deterministic: the same sources give the same bytes.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/index.js'],
  outfile: 'dist/browser/realtime-client.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  legalComments: 'none',
  // Loaded only when protocol 'msgpack' is asked for; a page that wants it maps it with an import map.
  external: ['@microsoft/signalr-protocol-msgpack'],
  logLevel: 'warning',
});
