// Builds the client bundle (static/app.js) and the server (dist/server.js).
// Both are fast enough (~100 ms) that `npm start` simply always builds.
import * as esbuild from 'esbuild';

const isDev = process.argv.includes('--dev');

await Promise.all([
  esbuild.build({
    entryPoints: ['client/main.tsx'],
    outfile: 'static/app.js',
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
]);
