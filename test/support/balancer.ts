/**
 * Runs HAProxy with deploy/haproxy.cfg (rendered as `npm run cluster` does)
 * in front of Hush nodes on loopback, and asks it which nodes it thinks are up.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAPROXY_PATH, renderHaproxyConfig } from '../../deploy/haproxy-config.mjs';

const START_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 50;
const FIXED_PORT_MIN = 20_000;
const FIXED_PORT_MAX = 32_000;
const PORT_ATTEMPTS = 20;

export interface RunningBalancer {
  origin: string;
  /** Whether HAProxy has each server up, by "backend/server" (e.g. "hush_rooms/n2"). */
  serversUp: () => Promise<Map<string, boolean>>;
  /** Everything HAProxy wrote so far (server state changes, alerts). */
  output: () => string;
  stop: () => Promise<void>;
}

/** Resolves the port if it is free on loopback right now, or null. */
function tryLoopbackPort(port: number): Promise<number | null> {
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
export async function freeFixedPort(): Promise<number> {
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await tryLoopbackPort(FIXED_PORT_MIN + Math.floor(Math.random() * (FIXED_PORT_MAX - FIXED_PORT_MIN)));
    if (port !== null) return port;
  }
  throw new Error(`no free loopback port in [${FIXED_PORT_MIN}, ${FIXED_PORT_MAX}) after ${PORT_ATTEMPTS} tries`);
}

/** One command on HAProxy's stats socket; it answers and closes. */
function askHaproxy(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socketPath);
    let reply = '';
    conn.on('data', (d: Buffer) => (reply += d.toString()));
    conn.once('end', () => resolve(reply));
    conn.once('error', reject);
    conn.write(`${command}\n`);
  });
}

export async function startBalancer(nodePorts: readonly number[]): Promise<RunningBalancer> {
  const dir = mkdtempSync(join(tmpdir(), 'hush-balancer-'));
  const statsSocket = join(dir, 'admin.sock');
  const configPath = join(dir, 'haproxy.cfg');
  const port = await freeFixedPort();
  writeFileSync(configPath, renderHaproxyConfig({ bind: `127.0.0.1:${port}`, nodes: nodePorts.map((p) => `127.0.0.1:${p}`), statsSocket }));

  const child = spawn(HAPROXY_PATH, ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
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

  return {
    origin,
    output: () => output,
    stop,
    serversUp: async () => {
      // "show servers state": one line per server; fields 2 and 4 name it, field 6 is 2 when running.
      const lines = (await askHaproxy(statsSocket, 'show servers state')).split('\n');
      const states = new Map<string, boolean>();
      for (const fields of lines.map((l) => l.split(' '))) {
        const [, backend, , server, , opState] = fields;
        if (fields.length > 6 && !fields[0]?.startsWith('#')) states.set(`${backend}/${server}`, opState === '2');
      }
      return states;
    },
  };
}
