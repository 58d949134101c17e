// The server part of the benchmark alone, printed, results.md untouched:
// `node build.mjs && node test/bench/server-only.mjs`, with the knobs of run.mjs
// (BENCH_ROOMS, BENCH_MEMBERS, BENCH_RATE, BENCH_MEASURE_S, BENCH_SAT_MEASURE_S,
// BENCH_IDLE_CONNS, BENCH_SERVER_ROUNDS, BENCH_PROFILE_S, BENCH_PROFILE_FIXED=1 for the profile at the
// fixed rate instead of at saturation, BENCH_HUSH_JS) and BENCH_SERVER_KINDS
// (e.g. "bare,hush") to run only some servers. Prints each server's figures
// and the ratios to the bare relay (a) measured in the same run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { loadCore } from './core.mjs';
import { makeIdentities } from './fixtures.mjs';
import { makeServerFixtures, runServerBench } from './server-bench.mjs';
import { killAll, pinSelf } from './servers.mjs';

const num = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const P = {
  rooms: num('BENCH_ROOMS', 20), members: num('BENCH_MEMBERS', 10), perSender: 0,
  idleConns: num('BENCH_IDLE_CONNS', 10_000), rate: num('BENCH_RATE', 400), warmupS: 3,
  measureS: num('BENCH_MEASURE_S', 15), drainS: 5, window: 2, satWarmupS: 3,
  satMeasureS: num('BENCH_SAT_MEASURE_S', 10), settleS: 10, profileS: num('BENCH_PROFILE_S', 8),
  quietWaitS: num('BENCH_QUIET_WAIT_S', 15), rounds: num('BENCH_SERVER_ROUNDS', 1),
};
P.perSender = Math.ceil(((P.rate / (P.rooms * P.members)) * (P.warmupS + P.measureS)) * 1.1) + 2;
const log = (line) => console.log(line);

const core = await loadCore();
const identities = await makeIdentities(core, P.members);
const dir = mkdtempSync(join(os.tmpdir(), 'hush-bench-'));
try {
  const fx = await makeServerFixtures(core, identities, P, log);
  const fixturesPath = join(dir, 'fixtures.json');
  writeFileSync(fixturesPath, JSON.stringify(fx));
  pinSelf('0');
  const s = await runServerBench(fixturesPath, { ...P, profileS: process.env.BENCH_IDLE_ONLY === '1' ? 0 : P.profileS }, log);
  const a = s.results.bare;
  const r = (x, b) => (b ? `${(x / b).toFixed(2)}×` : '–');
  for (const [kind, o] of Object.entries(s.results)) {
    if (o.fixed === undefined) { log(`${kind}: idle ${o.idle.bytesPerConn.toFixed(0)} B/conn (${r(o.idle.bytesPerConn, a?.idle?.bytesPerConn)})`); continue; }
    log(`${kind}: fixed ${o.fixed.serverCpuUsPerDelivery.toFixed(2)} µs/delivery (${r(o.fixed.serverCpuUsPerDelivery, a?.fixed.serverCpuUsPerDelivery)}; user ${o.fixed.serverUserUsPerDelivery.toFixed(2)}), lost ${o.fixed.lost}; ` +
      `saturation ${o.saturation.deliveriesPerS.toFixed(0)}/s ${o.saturation.serverCpuUsPerDelivery.toFixed(2)} µs/delivery (${r(o.saturation.serverCpuUsPerDelivery, a?.saturation.serverCpuUsPerDelivery)}; user ${o.saturation.serverUserUsPerDelivery.toFixed(2)}), lost ${o.saturation.lost}` +
      (o.idle ? `; idle ${o.idle.bytesPerConn.toFixed(0)} B/conn (${r(o.idle.bytesPerConn, a?.idle?.bytesPerConn)})` : ''));
  }
  if (s.profile) {
    log(`profile (${s.profile.busy} busy samples, ${s.profile.deliveriesPerS.toFixed(0)} deliveries/s):`);
    for (let i = 0; i < s.profile.self.length; i++) {
      log(`  ${(s.profile.self[i].share * 100).toFixed(0).padStart(3)} % self ${s.profile.self[i].key} | ${(s.profile.inclusive[i].share * 100).toFixed(0).padStart(3)} % incl ${s.profile.inclusive[i].key}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  killAll();
}
