// Builds the client bundle (static/app.js), the server (dist/server.js) and
// the terminal client with the bot API (dist/hush.js).
// Both are fast enough (~100 ms) that `npm start` simply always builds.
import * as esbuild from 'esbuild';
import { rmSync } from 'node:fs';

const isDev = process.argv.includes('--dev');

// Old chunks have hashed names: clear them so the server never serves stale ones.
rmSync('static/chunks', { recursive: true, force: true });

await Promise.all([
  esbuild.build({
    entryPoints: { app: 'client/main.tsx' },
    outdir: 'static',
    // Split so rarely used parts (the QR encoder) load on first use, not with the page.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: !isDev,
    sourcemap: isDev,
    legalComments: 'none',
    logLevel: 'warning',
  }),
  esbuild.build({
    entryPoints: ['server.ts'],
    outfile: 'dist/server.js',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // A native addon: loaded from node_modules at run time, never bundled.
    external: ['uWebSockets.js'],
    logLevel: 'warning',
  }),
  esbuild.build({
    entryPoints: ['cli/hush.ts'],
    outfile: 'dist/hush.js',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // CommonJS with optional native add-ons: loaded from node_modules at run time.
    external: ['ws'],
    logLevel: 'warning',
  }),
]);
