// Across processes: the saturation workload of server-bench.mjs through
// HAProxy running deploy/haproxy.cfg (rendered as `npm run cluster` renders
// it) in front of one and of `nodes` Hush processes, and against one Hush
// process without a balancer. Nothing is pinned here: the nodes, HAProxy and
// the load generator share the machine's cores as `npm run cluster` would.
//
// The load generator connects from several loopback addresses, so that the
// sample config's cap of 50 WebSockets per client address applies unchanged.
import { execFileSync } from 'node:child_process';
import { BEHIND_BALANCER_ENV, HAPROXY_PATH } from '../../deploy/haproxy-config.mjs';
import { startHaproxy } from '../support/haproxy.mjs';
import { waitMachineQuiet, waitQuiet } from './proc.mjs';
import { HUSH_LOAD_ENV, metricsText, spawnPinned, startLoadGenerator, startServer } from './servers.mjs';

export const SOURCE_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);

export function haproxyVersion() {
  try {
    return /version (\S+)/.exec(execFileSync(HAPROXY_PATH, ['-v']).toString())?.[1] ?? '(version unknown)';
  } catch {
    return '(version unknown)';
  }
}

/** One gauge from a node's /metrics. */
async function gauge(port, name) {
  const text = await metricsText(port);
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  if (m === null) throw new Error(`/metrics has no ${name}`);
  return Number(m[1]);
}

/**
 * One setup: `nodes` Hush processes, behind HAProxy or not (only with one
 * node), saturated through it. Returns the load generator's result plus the
 * rooms each node held.
 */
async function benchSetup(loadgen, p, { nodes, balanced }) {
  const env = balanced ? { ...HUSH_LOAD_ENV, ...BEHIND_BALANCER_ENV } : HUSH_LOAD_ENV;
  const servers = [];
  let balancer = null;
  try {
    for (let i = 0; i < nodes; i++) servers.push(await startServer('hush', { env }));
    // spawnPinned: tracked, so that the benchmark's cleanup stops it too.
    if (balanced) balancer = await startHaproxy(servers.map((s) => s.port), (argv) => spawnPinned(argv));
    const port = balanced ? balancer.port : servers[0].port;
    await loadgen.run('connect', { kind: 'hush', port, set: 'load', from: SOURCE_ADDRESSES });
    for (const s of servers) await waitQuiet(s.pid);
    const rooms = await Promise.all(servers.map((s) => gauge(s.port, 'hush_rooms')));
    await waitMachineQuiet({ maxMs: p.quietWaitS * 1000 });
    const saturation = await loadgen.run('saturate', {
      window: p.window, warmupS: p.satWarmupS, measureS: p.clusterMeasureS, drainS: p.drainS,
      serverPids: servers.map((s) => s.pid), balancerPids: balancer === null ? [] : [balancer.pid],
    });
    await loadgen.run('close', { set: 'load' });
    return { nodes, balanced, rooms, saturation };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    if (balancer !== null) await balancer.stop();
  }
}

export const CLUSTER_SETUPS = (nodes) => [
  { key: 'direct', label: 'one Hush process, no balancer', nodes: 1, balanced: false },
  { key: 'one', label: 'one Hush process behind HAProxy', nodes: 1, balanced: true },
  { key: 'many', label: `${nodes} Hush processes behind HAProxy`, nodes, balanced: true },
];

/**
 * Every setup `p.clusterRuns` times, interleaved (direct, one, many, direct,
 * ...), so that a slow spell of the machine does not land on one setup only.
 * Per setup: every run, and the run with the median deliveries/s.
 */
export async function runClusterBench(fixturesPath, p, log, onPhase = () => {}) {
  const loadgen = startLoadGenerator();
  try {
    await loadgen.run('setup', { fixturesPath }, 60_000);
    const runs = {};
    for (let i = 0; i < p.clusterRuns; i++) {
      for (const setup of CLUSTER_SETUPS(p.nodes)) {
        onPhase(`cluster-${setup.key}`);
        const r = await benchSetup(loadgen, p, setup);
        (runs[setup.key] ??= []).push(r);
        const s = r.saturation;
        log(`  ${setup.label}: ${s.deliveriesPerS.toFixed(0)} deliveries/s; Hush ${s.serverBusyEach.map((b) => `${(b * 100).toFixed(0)} %`).join(' + ')}, HAProxy ${(s.balancerBusy * 100).toFixed(0)} % (${s.balancerCpuUsPerDelivery.toFixed(1)} µs/delivery), load generator ${(s.loadBusy * 100).toFixed(0)} %; rooms per node ${r.rooms.join(' / ')}; lost ${s.lost}`);
      }
    }
    return Object.fromEntries(Object.entries(runs).map(([key, list]) => {
      const sorted = [...list].sort((a, b) => a.saturation.deliveriesPerS - b.saturation.deliveriesPerS);
      return [key, { ...sorted[Math.floor((sorted.length - 1) / 2)], runs: list }];
    }));
  } finally {
    await loadgen.stop();
  }
}
