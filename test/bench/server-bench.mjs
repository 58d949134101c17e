// Server side: the same fan-out workload against (a) the bare uWS relay,
// (b) Socket.IO and (c) Hush, one after another, each server alone on one
// core and the load generator on the other. Per server:
//   1. RSS per idle connection: RSS before and after `idle` connections have
//      joined their rooms (rooms of `members`), after the server went quiet.
//   2. Fixed offered rate (open loop) below saturation: CPU per delivery from
//      the server's /proc accounting, deliveries/s, latency, loss.
//   3. Saturation (closed loop, `window` messages in flight per member).
//   4. Peak RSS (VmHWM) over the server's whole run.
// Steps 2 and 3 run `rounds` times, every server once per round (1 only in the
// first), and each server's median round is reported (combineRounds).
// Then Hush once more under `node --cpu-prof` at saturation, for the profile.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRooms } from './fixtures.mjs';
import { memory, waitMachineQuiet, waitQuiet } from './proc.mjs';
import { HUSH_LOAD_ENV, hasTaskset, startLoadGenerator, startServer } from './servers.mjs';

export const KINDS = ['bare', 'bareNew', 'socketio', 'hush'];
export const LABEL = {
  bare: '(a) bare uWS relay, one frame with every wrap (Hush before)',
  bareNew: '(a′) bare uWS relay, the frame Hush delivers now',
  socketio: '(b) Socket.IO 4, one frame with every wrap',
  hush: '(c) Hush',
};
/** Kinds whose idle memory is measured: (a′) is the same relay as (a), with no state per connection to differ. */
export const IDLE_KINDS = ['bare', 'socketio', 'hush'];

const SERVER_CPU = 1;
const LOAD_CPU = 0;

export async function makeServerFixtures(core, identities, p, log) {
  const t0 = performance.now();
  const load = await makeRooms(core, identities, { rooms: p.rooms, members: p.members, perSender: p.perSender });
  log(`  ${p.rooms * p.members * p.perSender} envelopes sealed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const t1 = performance.now();
  const idle = await makeRooms(core, identities, { rooms: Math.ceil(p.idleConns / p.members), members: p.members, perSender: 0 });
  log(`  ${idle.length * p.members} hellos for idle connections in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  const sizesOf = (key) => {
    // Uploads are binary, kept as base64 (see makeRooms).
    const sizes = load.flatMap((r) => r[key].flat().map((f) => (key === 'pools' ? Buffer.from(f, 'base64').length : Buffer.byteLength(f))));
    return { min: Math.min(...sizes), max: Math.max(...sizes), mean: sizes.reduce((a, b) => a + b, 0) / sizes.length };
  };
  return {
    members: p.members,
    load,
    idle,
    frameBytes: { upload: sizesOf('pools'), delivery: sizesOf('deliveryPools'), full: sizesOf('fullPools') },
  };
}

/**
 * RSS once the server is quiet and has had `settleS` seconds more (the bare
 * relay's RSS, for one, drops some seconds after the connections are made):
 * the same wait for every server.
 */
async function settledMemory(pid, settleS) {
  await waitQuiet(pid);
  await new Promise((r) => setTimeout(r, settleS * 1000));
  return memory(pid);
}

/** One round of one server: its idle memory (in the first round only), then the fixed rate and saturation. */
async function benchOne(kind, loadgen, p, log, { withIdle, round }) {
  const server = await startServer(kind, { cpu: SERVER_CPU, env: kind === 'hush' ? HUSH_LOAD_ENV : {} });
  try {
    const out = { kind };
    // On a shared machine, start each measurement when the rest of it is quiet (bounded wait).
    const quiet = () => waitMachineQuiet({ maxMs: p.quietWaitS * 1000 });
    await quiet();
    if (withIdle && IDLE_KINDS.includes(kind)) {
      const before = await settledMemory(server.pid, 1);
      const idle = await loadgen.run('connect', { kind, port: server.port, set: 'idle' }, 300_000);
      const after = await settledMemory(server.pid, p.settleS);
      out.idle = { connections: idle.connections, connectMs: idle.ms, rssBefore: before.rss, rssAfter: after.rss, bytesPerConn: (after.rss - before.rss) / idle.connections };
      log(`  ${kind}: ${idle.connections} idle connections joined in ${(idle.ms / 1000).toFixed(1)} s; RSS ${(before.rss / 2 ** 20).toFixed(1)} → ${(after.rss / 2 ** 20).toFixed(1)} MiB`);
      await loadgen.run('close', { set: 'idle' }, 120_000);
      await waitQuiet(server.pid);
      // BENCH_IDLE_ONLY=1: only the idle-memory figure (for trying changes to the memory per member).
      if (process.env.BENCH_IDLE_ONLY === '1') return out;
    }

    await loadgen.run('connect', { kind, port: server.port, set: 'load' });
    await waitQuiet(server.pid);
    await quiet();
    out.fixed = await loadgen.run('fixed', { rate: p.rate, warmupS: p.warmupS, measureS: p.measureS, drainS: p.drainS, serverPids: [server.pid] });
    log(`  ${kind} (round ${round}): fixed ${p.rate}/s → ${out.fixed.deliveriesPerS.toFixed(0)} deliveries/s, ${out.fixed.serverCpuUsPerDelivery.toFixed(2)} µs CPU each, p99 ${out.fixed.latencyMs.p99.toFixed(2)} ms, lost ${out.fixed.lost}`);
    await waitQuiet(server.pid);
    await quiet();
    out.saturation = await loadgen.run('saturate', { window: p.window, warmupS: p.satWarmupS, measureS: p.satMeasureS, drainS: p.drainS, serverPids: [server.pid] });
    log(`  ${kind} (round ${round}): saturation → ${out.saturation.deliveriesPerS.toFixed(0)} deliveries/s, server core ${(out.saturation.serverBusy * 100).toFixed(0)} %, load generator ${(out.saturation.loadBusy * 100).toFixed(0)} %, lost ${out.saturation.lost}`);
    await loadgen.run('close', { set: 'load' });
    out.peakRss = memory(server.pid).peak;
    return out;
  } finally {
    await server.stop();
  }
}

/**
 * One server's rounds as one result: for the fixed rate and for saturation, the round whose
 * CPU per delivery is the median (every figure of that row from that one round), the CPU per
 * delivery of every round (`cpuRounds`, for the spread), and the loss summed over all rounds.
 */
export function combineRounds(runs) {
  const phase = (key) => {
    const all = runs.map((r) => r[key]).filter((x) => x !== undefined);
    if (all.length === 0) return undefined;
    const byCpu = [...all].sort((x, y) => x.serverCpuUsPerDelivery - y.serverCpuUsPerDelivery);
    const median = byCpu[Math.floor((byCpu.length - 1) / 2)];
    return {
      ...median,
      cpuRounds: all.map((x) => x.serverCpuUsPerDelivery),
      lost: all.reduce((n, x) => n + x.lost, 0),
      expected: all.reduce((n, x) => n + x.expected, 0),
    };
  };
  const peaks = runs.map((r) => r.peakRss).filter((x) => x !== undefined);
  return { kind: runs[0].kind, idle: runs[0].idle, fixed: phase('fixed'), saturation: phase('saturation'), peakRss: peaks.length > 0 ? Math.max(...peaks) : undefined };
}

/** Runs Hush under --cpu-prof at saturation and returns the parsed profile. */
async function profileHush(loadgen, p, log) {
  const dir = mkdtempSync(join(tmpdir(), 'hush-bench-prof-'));
  try {
    const server = await startServer('hush', { cpu: SERVER_CPU, env: HUSH_LOAD_ENV, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'] });
    let sat;
    try {
      await loadgen.run('connect', { kind: 'hush', port: server.port, set: 'load' });
      await waitQuiet(server.pid);
      // BENCH_PROFILE_FIXED=1: the profile at the fixed offered rate instead of at saturation.
      sat = process.env.BENCH_PROFILE_FIXED === '1'
        ? await loadgen.run('fixed', { rate: p.rate, warmupS: 1, measureS: p.profileS, drainS: p.drainS, serverPids: [server.pid] })
        : await loadgen.run('saturate', { window: p.window, warmupS: 1, measureS: p.profileS, drainS: p.drainS, serverPids: [server.pid] });
      await loadgen.run('close', { set: 'load' });
      await waitQuiet(server.pid);
    } finally {
      await server.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('node --cpu-prof wrote no profile');
    log(`  hush under --cpu-prof: ${sat.deliveriesPerS.toFixed(0)} deliveries/s`);
    return { profile: JSON.parse(readFileSync(join(dir, file), 'utf8')), deliveriesPerS: sat.deliveriesPerS };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Self and inclusive shares of the profile's busy samples (all but "(idle)"),
 * by function (name, file, line).
 */
export function summarizeProfile(profile, top = 14) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n) => {
    const f = n.callFrame;
    const file = f.url ? f.url.split('/').slice(-2).join('/') : '';
    return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
  };
  // Samples per node from the sample list (hitCount is not always filled in).
  const hits = new Map();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  let busy = 0;
  const self = new Map();
  const inclusive = new Map();
  for (const [id, count] of hits) {
    const node = byId.get(id);
    if (node.callFrame.functionName === '(idle)') continue;
    busy += count;
    const key = keyOf(node);
    self.set(key, (self.get(key) ?? 0) + count);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n.callFrame.functionName === '(root)') break;
      const k = keyOf(n);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + count);
    }
  }
  const idleSamples = profile.samples.length - busy;
  const rank = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, n]) => ({ key, share: n / busy }));
  return { busy, idle: idleSamples, self: rank(self), inclusive: rank(inclusive) };
}

export async function runServerBench(fixturesPath, p, log, onPhase = () => {}) {
  const loadgen = startLoadGenerator({ cpu: LOAD_CPU });
  try {
    const info = await loadgen.run('setup', { fixturesPath }, 60_000);
    log(`  load generator ready: ${info.rooms} rooms × ${info.members} members, ${info.perSender} envelopes per member; pinned: ${hasTaskset ? `servers on core ${SERVER_CPU}, load generator on core ${LOAD_CPU}` : 'no (taskset missing)'}`);
    // BENCH_SERVER_KINDS=bare,hush: only those servers (a quicker before/after of one of them).
    const only = process.env.BENCH_SERVER_KINDS ? process.env.BENCH_SERVER_KINDS.split(',') : KINDS;
    const kinds = KINDS.filter((k) => only.includes(k));
    // Every server once per round, the rounds one after another: a slow minute on a shared
    // machine then lands on one round of every server, not on all of one server's.
    const rounds = Object.fromEntries(kinds.map((k) => [k, []]));
    for (let round = 1; round <= p.rounds; round++) {
      for (const kind of kinds) {
        onPhase(kind);
        rounds[kind].push(await benchOne(kind, loadgen, p, log, { withIdle: round === 1, round }));
      }
      if (process.env.BENCH_IDLE_ONLY === '1') break;
    }
    const results = Object.fromEntries(kinds.map((k) => [k, combineRounds(rounds[k])]));
    onPhase('profile');
    const prof = p.profileS > 0 ? await profileHush(loadgen, p, log) : null;
    return { results, profile: prof === null ? null : { ...summarizeProfile(prof.profile), deliveriesPerS: prof.deliveriesPerS } };
  } finally {
    await loadgen.stop();
  }
}

