// npm run cluster: one Hush process per core on this machine, behind HAProxy
// running deploy/haproxy.cfg, rendered exactly as test/cluster/ renders it.
//
// PORT and HOST are the balancer's (default 127.0.0.1:8080). The nodes take
// free loopback ports; every other Hush variable (PUBLIC_ORIGIN, MAX_MEMBERS,
// ...) reaches every node, except the per-address limits (BEHIND_BALANCER_ENV
// opens them up): the balancer enforces the socket cap and the join rate per
// address, since the nodes only ever see the balancer's address.
// SIGINT or SIGTERM stops the nodes first, so that their members get Hush's
// "server restarting" close through the balancer, then HAProxy.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BEHIND_BALANCER_ENV, HAPROXY_PATH, renderHaproxyConfig } from './haproxy-config.mjs';
import { NODE_FLAGS } from './node-flags.mjs';

const NODE_COUNT = cpus().length;
const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number(process.env.PORT || 8080);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 100;

/** @typedef {{ name: string, child: import('node:child_process').ChildProcess, port: number }} HushNode */

function logEvent(event, fields = {}) {
  console.log(JSON.stringify({ t: new Date().toISOString(), event, ...fields }));
}

if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535) {
  console.error(`hush cluster: PORT must be an integer in [1, 65535], got "${process.env.PORT}"`);
  process.exit(2);
}
if (!existsSync(HAPROXY_PATH)) {
  console.error(`hush cluster: HAProxy not found at ${HAPROXY_PATH}: run "sudo apt-get install haproxy" (or set HAPROXY_PATH), then npm run cluster again.`);
  process.exit(1);
}
// Build first, as npm start does: it takes about 100 ms.
if (spawnSync(process.execPath, ['build.mjs'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) process.exit(1);

const tempDir = mkdtempSync(join(tmpdir(), 'hush-cluster-'));
/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
/** @type {HushNode[]} */
let nodes = [];
/** @type {import('node:child_process').ChildProcess | null} */
let haproxy = null;
let isStopping = false;

// However this process ends, short of SIGKILL, leave no node or balancer behind.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(tempDir, { recursive: true, force: true });
});
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Signals a child and resolves once it has exited, killing it if it takes too long. */
function ended(child, signal) {
  if (!children.has(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

async function stop(code, reason) {
  if (isStopping) return;
  isStopping = true;
  if (reason !== undefined) console.error(`hush cluster: ${reason}`);
  await Promise.all(nodes.map((node) => ended(node.child, 'SIGTERM')));
  if (haproxy !== null) await ended(haproxy, 'SIGTERM');
  logEvent('cluster-stopped', { code });
  process.exit(code);
}

/** @returns {Promise<HushNode>} once the node logs the port it listens on */
function startNode(name) {
  const child = track(spawn(process.execPath, [...NODE_FLAGS, join(ROOT, 'dist/server.js')], {
    env: { ...process.env, ...BEHIND_BALANCER_ENV, HOST: '127.0.0.1', PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    createInterface({ input: child.stdout }).on('line', (line) => {
      // Hush logs one JSON object per line: name the node and keep it JSON.
      console.log(line.startsWith('{"') ? `{"node":"${name}",${line.slice(1)}` : `${name}: ${line}`);
      const listening = /"event":"listening".*"port":(\d+)/.exec(line);
      if (listening === null) return;
      clearTimeout(timer);
      resolve({ name, child, port: Number(listening[1]) });
    });
    createInterface({ input: child.stderr }).on('line', (line) => console.error(`${name}: ${line}`));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before listening`));
    });
  });
}

/** Where to reach the balancer from here: a wildcard bind answers on loopback. */
function localUrl() {
  const host = HOST === '0.0.0.0' ? '127.0.0.1' : HOST === '::' ? '::1' : HOST;
  return `http://${isIPv6(host) ? `[${host}]` : host}:${PORT}`;
}

async function untilServing(url) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await fetch(`${url}/favicon.svg`).then((r) => r.ok, () => false))) {
    if (isStopping) throw new Error('stopped before HAProxy served');
    if (Date.now() > deadline) throw new Error(`HAProxy did not serve ${url} within ${START_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

try {
  nodes = await Promise.all(Array.from({ length: NODE_COUNT }, (_, i) => startNode(`n${i + 1}`)));
  for (const node of nodes) {
    node.child.once('exit', (code, signal) => {
      if (isStopping) return;
      if (nodes.every((n) => !children.has(n.child))) return void stop(1, 'every node has exited');
      console.error(`hush cluster: ${node.name} exited (${signal ?? code}); its rooms' members rejoin on the other nodes, where HAProxy now sends those rooms`);
    });
  }

  const statsSocket = join(tempDir, 'admin.sock');
  const configPath = join(tempDir, 'haproxy.cfg');
  const bind = `${isIPv6(HOST) ? `[${HOST}]` : HOST}:${PORT}`;
  writeFileSync(configPath, renderHaproxyConfig({ bind, nodes: nodes.map((n) => `127.0.0.1:${n.port}`), statsSocket }));
  // In a process group of its own, so that a Ctrl-C in the terminal reaches
  // the nodes (which close their sockets with a reason) but not the balancer
  // those close frames must still pass through; stop() ends it last.
  haproxy = track(spawn(HAPROXY_PATH, ['-db', '-f', configPath], { stdio: ['ignore', 'inherit', 'inherit'], detached: true }));
  haproxy.once('exit', (code, signal) => void stop(1, `HAProxy exited (${signal ?? code})`));

  await untilServing(localUrl());
  logEvent('cluster-listening', { url: localUrl(), nodes: nodes.length, config: configPath, statsSocket });
} catch (err) {
  await stop(1, err instanceof Error ? err.message : String(err));
}
