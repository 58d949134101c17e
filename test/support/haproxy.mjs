// HAProxy running deploy/haproxy.cfg (rendered as `npm run cluster` renders
// it) in front of Hush nodes on loopback: for the cluster test
// (test/support/balancer.ts) and the benchmark (test/bench/cluster-bench.mjs).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAPROXY_PATH, renderHaproxyConfig } from '../../deploy/haproxy-config.mjs';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 50;
const FIXED_PORT_MIN = 20_000;
const FIXED_PORT_MAX = 32_000;
const PORT_ATTEMPTS = 20;

/** Resolves the port if it is free on loopback right now, or null. */
function tryLoopbackPort(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(null));
    probe.listen(port, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : null));
    });
  });
}

/**
 * A free loopback port below the kernel's ephemeral range (Linux's default
 * starts at 32768). A node restarted on its old port needs this: an outgoing
 * connection, such as HAProxy's next health check, may otherwise take the
 * port while the node is down.
 */
export async function freeFixedPort() {
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await tryLoopbackPort(FIXED_PORT_MIN + Math.floor(Math.random() * (FIXED_PORT_MAX - FIXED_PORT_MIN)));
    if (port !== null) return port;
  }
  throw new Error(`no free loopback port in [${FIXED_PORT_MIN}, ${FIXED_PORT_MAX}) after ${PORT_ATTEMPTS} tries`);
}

const spawnDirect = (argv) => spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * Starts HAProxy on a free loopback port in front of the nodes on
 * `nodePorts`, and resolves once it serves the page. `spawnProcess` starts
 * the argv with stdout and stderr piped (the benchmark tracks its children).
 */
export async function startHaproxy(nodePorts, spawnProcess = spawnDirect) {
  const dir = mkdtempSync(join(tmpdir(), 'hush-haproxy-'));
  const statsSocket = join(dir, 'admin.sock');
  const configPath = join(dir, 'haproxy.cfg');
  const port = await freeFixedPort();
  writeFileSync(configPath, renderHaproxyConfig({ bind: `127.0.0.1:${port}`, nodes: nodePorts.map((p) => `127.0.0.1:${p}`), statsSocket }));

  const child = spawnProcess([HAPROXY_PATH, '-db', '-f', configPath]);
  let output = '';
  child.stdout.on('data', (d) => (output += d.toString()));
  child.stderr.on('data', (d) => (output += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(kill);
    rmSync(dir, { recursive: true, force: true });
  };

  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const isServing = await fetch(`${origin}/favicon.svg`).then((r) => r.ok, () => false);
    if (isServing) break;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`HAProxy did not start serving:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  return { origin, port, pid: child.pid, statsSocket, output: () => output, stop };
}
