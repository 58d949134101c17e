// Starts the benchmark's processes: the three servers and the load generator,
// each optionally pinned to one core (taskset) with the open-file limit raised
// to the hard limit, and keeps track of them so every one is stopped, also on
// failure. A process is always addressed by its own pid: bash and taskset
// exec into node, so the pid we spawn is the server's.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../deploy/node-flags.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 15_000;

export const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

/** Every child still running, so cleanup can stop each by its pid. */
const children = new Set();

export function killAll(signal = 'SIGKILL') {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try { child.kill(signal); } catch { /* already gone */ }
    }
  }
}
process.once('exit', () => killAll());

/**
 * Spawns `argv` (argv[0] is the program) with the open-file soft limit raised
 * to the hard limit and, when taskset exists and `cpu` is given, on that core.
 */
export function spawnPinned(argv, { cpu, env = {}, stdio = ['ignore', 'pipe', 'pipe'] } = {}) {
  const pin = hasTaskset && cpu !== undefined ? ['taskset', '-c', String(cpu)] : [];
  const child = spawn('bash', ['-c', 'ulimit -n "$(ulimit -Hn)"; exec "$@"', 'bench', ...pin, ...argv], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio,
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Pins this process (all its threads) to `cpus`, e.g. "0" or "0-1"; no-op without taskset. */
export function pinSelf(cpus) {
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

const serverArgv = (kind) => ({
  bare: ['test/bench/bare-relay.mjs'],
  bareNew: ['test/bench/bare-relay.mjs'],
  socketio: ['test/bench/socketio-server.mjs'],
  // BENCH_HUSH_JS: another build of the server to compare (e.g. a patched copy). Hush runs as `npm start` runs it.
  hush: [...NODE_FLAGS, process.env.BENCH_HUSH_JS || 'dist/server.js'],
})[kind];

/** Lets the benchmark read a node's /metrics (see metricsText). */
const BENCH_METRICS_TOKEN = randomBytes(16).toString('hex');

/** The /metrics text of a Hush process started with HUSH_LOAD_ENV. */
export async function metricsText(port) {
  return (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } })).text();
}

/** Hush's limits, raised for a load test from one loopback address. */
export const HUSH_LOAD_ENV = {
  MAX_CONNS_PER_IP: '19000',
  RATE_FRAMES_PER_S: '1000000',
  RATE_BURST_FRAMES: '1000000',
  HELLO_TIMEOUT_S: '600',
  MAX_ROOMS: '10000',
  IP_COST_LIMIT: '1000000000000',
  JOINS_PER_MIN: '1000000000',
  JOIN_BURST: '1000000',
  HTTP_REQUESTS_PER_S: '1000000',
  HTTP_REQUEST_BURST: '1000000',
  METRICS_TOKEN: BENCH_METRICS_TOKEN,
};

/**
 * Starts one server on a free loopback port and resolves once it listens.
 * stdout is drained (Hush logs a line per connection event) and counted.
 */
export function startServer(kind, { cpu, env = {}, nodeArgs = [] } = {}) {
  const child = spawnPinned([process.execPath, ...nodeArgs, ...serverArgv(kind)], {
    cpu,
    env: { HOST: '127.0.0.1', PORT: '0', ...env },
  });
  let head = '';
  let stderr = '';
  let stdoutBytes = 0;
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${kind} did not start:\n${head}${stderr}`)); }, START_TIMEOUT_MS);
    let port = null;
    child.stdout.on('data', (d) => {
      stdoutBytes += d.length;
      if (port !== null) return;
      head += d;
      const m = /"event":"listening".*?"port":(\d+)/.exec(head);
      if (m === null) return;
      port = Number(m[1]);
      clearTimeout(timer);
      resolve({
        kind,
        port,
        pid: child.pid,
        child,
        stdoutBytes: () => stdoutBytes,
        stderr: () => stderr,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
          const code = await exited;
          clearTimeout(kill);
          return code;
        },
      });
    });
    void exited.then((code) => { clearTimeout(timer); if (port === null) reject(new Error(`${kind} exited (${code}) before listening:\n${head}${stderr}`)); });
  });
}

/** The load generator as a child on `cpu`, with a promise-based command channel. */
export function startLoadGenerator({ cpu } = {}) {
  const child = spawnPinned([process.execPath, 'test/bench/load.mjs'], { cpu, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let nextId = 1;
  child.on('message', (msg) => {
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(`load generator: ${msg.error}`));
    else p.resolve(msg.result);
  });
  child.once('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`load generator exited (${code ?? signal})`));
    pending.clear();
  });
  return {
    pid: child.pid,
    /** Sends a command; rejects after `timeoutMs`. */
    run(cmd, args = {}, timeoutMs = 120_000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { pending.delete(id); reject(new Error(`load generator: ${cmd} timed out`)); }, timeoutMs);
        pending.set(id, {
          resolve: (v) => { clearTimeout(timer); resolve(v); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        });
        child.send({ id, cmd, ...args });
      });
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.disconnect();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await done;
      clearTimeout(kill);
    },
  };
}
