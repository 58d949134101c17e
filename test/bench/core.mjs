// Bundles the client core (client/crypto.ts, client/protocol.ts: TypeScript,
// WebCrypto only) into a temporary ES module with esbuild and imports it, so
// the benchmark's plain .mjs scripts make real Hush identities, hellos and
// envelopes with the same code the browser runs.
import * as esbuild from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Bundles `contents` (TypeScript importing from the repository root) into a temporary ES module and imports it. */
export async function importBundled(contents, name) {
  const dir = mkdtempSync(join(tmpdir(), `hush-bench-${name}-`));
  const outfile = join(dir, `${name}.mjs`);
  try {
    await esbuild.build({
      stdin: { contents, resolveDir: ROOT, loader: 'ts', sourcefile: `bench-${name}.ts` },
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const loadCore = () => importBundled("export * from './client/crypto.ts'; export * from './client/protocol.ts';", 'core');
