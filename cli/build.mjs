#!/usr/bin/env node
// Bundles the TypeScript of `eimza` (src, cli, hsm, migrations; packages stay external) into one
// ES module with esbuild, so a command starts without tsx's per-module loader hooks (about 3×
// faster: every CLI call and every test that spawns one pays that start). cli/eimza.js uses the
// bundle only while it is newer than every source file, else runs the sources through tsx.
// Run by `npm install` (prepare) and by `npm test`; a failure here only costs speed.
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = path.join(root, 'node_modules', '.cache', 'eimza', 'eimza.mjs');

try {
  const { build } = await import('esbuild');
  mkdirSync(path.dirname(BUNDLE), { recursive: true });
  await build({
    entryPoints: [path.join(root, 'cli', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: BUNDLE,
    // For `node --enable-source-maps` when a stack trace is wanted (EIMZA_DEBUG).
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  // The embedded database's worker thread is loaded by URL beside the module that starts it.
  copyFileSync(path.join(root, 'src', 'store', 'pglite-worker.mjs'), path.join(path.dirname(BUNDLE), 'pglite-worker.mjs'));
} catch (e) {
  process.stderr.write(`eimza: the CLI bundle was not built (${e instanceof Error ? e.message : String(e)}); eimza runs from its sources instead\n`);
}
