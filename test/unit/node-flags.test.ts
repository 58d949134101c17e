import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../deploy/node-flags.mjs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
const cluster = readFileSync(new URL('../../deploy/cluster.mjs', import.meta.url), 'utf8');

describe('the V8 flags Hush runs with (deploy/node-flags.mjs)', () => {
  it.each(['start', 'dev'])('are the ones `npm run %s` starts the server with', (script) => {
    expect(pkg.scripts[script]).toMatch(new RegExp(`&& node ${NODE_FLAGS.join(' ')} dist/server\\.js$`));
  });

  it('are passed to every node of `npm run cluster`', () => {
    expect(cluster).toContain("spawn(process.execPath, [...NODE_FLAGS, join(ROOT, 'dist/server.js')]");
  });
});
