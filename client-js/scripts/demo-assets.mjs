import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const page = path.resolve(root, '..', 'src', 'Realtime.Server', 'Demo', 'Page');

/** The files the demo page embeds from this package: what the build makes, and the committed copy. */
export const demoAssets = [
  { built: path.join(root, 'dist', 'browser', 'realtime-client.js'), committed: path.join(page, 'realtime-client.js') },
  { built: path.join(root, 'sw.js'), committed: path.join(page, 'sw.js') },
];
