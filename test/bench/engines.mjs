// Key generation and join time in each browser engine (Chromium, Firefox ESR,
// WebKitGTK), driven by the same helper as the engine tests
// (test/engines/driver.ts, bundled here with esbuild). Per engine and run, a
// fresh tab on a fresh room:
//   - keygen: the identity the client makes (RSA-OAEP 3072 + ECDSA P-256,
//     client/crypto.ts generateIdentity), timed in the page with crypto.subtle;
//   - join: Join pressed as soon as the page is usable → own safety code shown,
//     and navigation start → own safety code shown, timed in the page
//     (performance.now(); the code's appearance is caught by a MutationObserver).
// Run through run.mjs (`npm run bench`, or BENCH_ONLY=engines for this part alone).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { HUSH_LOAD_ENV, ROOT, startServer } from './servers.mjs';
import { waitMachineQuiet } from './proc.mjs';

/** The same parameters as client/crypto.ts generateIdentity; timed in the page. */
const KEYGEN = async () => {
  const t0 = performance.now();
  await Promise.all([
    crypto.subtle.generateKey({ name: 'RSA-OAEP', hash: 'SHA-256', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]) }, false, ['encrypt', 'decrypt']),
    crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']),
  ]);
  return performance.now() - t0;
};

/** In the page, before Join: note when Join is pressed and when the own code appears. */
const WATCH_JOIN = () => {
  const w = window;
  w.__bench = { clickAt: null, codeAt: null };
  const own = () => document.querySelector('.roster li[data-trust=self] .code:not(.pending)') !== null;
  document.addEventListener('click', (e) => {
    if (e.target instanceof Element && e.target.closest('button[type=submit]') !== null) w.__bench.clickAt ??= performance.now();
  }, { capture: true });
  new MutationObserver((_, observer) => {
    if (!own()) return;
    w.__bench.codeAt = performance.now();
    observer.disconnect();
  }).observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
  return true;
};

async function loadDriver() {
  // Bundled next to node_modules, so the browser libraries it imports resolve.
  const dir = mkdtempSync(join(ROOT, 'node_modules', '.cache-hush-bench-'));
  const outfile = join(dir, 'driver.mjs');
  try {
    await esbuild.build({ entryPoints: [join(ROOT, 'test/engines/driver.ts')], outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

/** Per engine: { version, keygen, joinClick, joinSinceLoad } with median/min/max in ms. */
export async function runEnginesBench({ runs, quietWaitS, log }) {
  const driver = await loadDriver();
  const server = await startServer('hush', { env: HUSH_LOAD_ENV });
  const origin = `http://127.0.0.1:${server.port}`;
  const results = [];
  try {
    for (const name of driver.ENGINES) {
      await waitMachineQuiet({ maxMs: quietWaitS * 1000 });
      const engine = await driver.launch(name);
      const keygen = [];
      const joinClick = [];
      const joinSinceLoad = [];
      try {
        // One unmeasured run warms the engine up (first process, caches).
        for (let i = 0; i <= runs; i++) {
          const tab = await engine.open(`${origin}/`);
          try {
            await tab.evaluate(WATCH_JOIN, null);
            await tab.fill('Your name', 'Bench');
            await tab.click('Join');
            await tab.waitFor(() => window.__bench.codeAt !== null, null, 'the own safety code');
            const t = await tab.evaluate(() => window.__bench, null);
            const k = await tab.evaluate(KEYGEN, null);
            if (i === 0) continue;
            keygen.push(k);
            joinClick.push(t.codeAt - t.clickAt);
            joinSinceLoad.push(t.codeAt);
          } finally {
            await tab.close();
          }
        }
      } finally {
        await engine.close();
      }
      const r = { name, version: engine.version, keygen: summary(keygen), joinClick: summary(joinClick), joinSinceLoad: summary(joinSinceLoad) };
      log(`  ${r.version}: keygen ${r.keygen.median.toFixed(0)} ms, Join → own code ${r.joinClick.median.toFixed(0)} ms, navigation → own code ${r.joinSinceLoad.median.toFixed(0)} ms (medians of ${runs})`);
      results.push(r);
    }
  } finally {
    await server.stop();
  }
  return results;
}
