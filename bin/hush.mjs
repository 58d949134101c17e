#!/usr/bin/env node
// `npx hush join '<link>' --name Bob` from a checkout: runs dist/hush.js,
// building it first when it is missing (a fresh clone).
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(new URL('../dist/hush.js', import.meta.url))) {
  try {
    execFileSync(process.execPath, ['build.mjs'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    process.stderr.write('hush: could not build dist/hush.js: run `npm run build` and try again\n');
    process.exit(1);
  }
}
const { main } = await import('../dist/hush.js');
const code = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
// Flushed first: a piped stdout is written asynchronously.
process.stdout.write('', () => process.exit(code));
