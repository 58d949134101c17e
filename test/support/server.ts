/**
 * Starts the real built server (dist/server.js) on a free loopback port and
 * keeps everything it prints, so tests can check what the server logged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../deploy/node-flags.mjs';

/** HUSH_SERVER_JS runs another build instead (e.g. the previous commit's, to watch a test fail without a fix). */
const SERVER_JS = process.env.HUSH_SERVER_JS || fileURLToPath(new URL('../../dist/server.js', import.meta.url));
const START_TIMEOUT_MS = 10_000;

export interface RunningServer {
  port: number;
  origin: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output: () => string;
  /** The text of /metrics, fetched with the server's METRICS_TOKEN. */
  metrics: () => Promise<string>;
  stop: () => Promise<number | null>;
  process: ChildProcess;
  /** The server process's resident memory, from /proc (Linux). */
  rssBytes: () => number;
}

/**
 * Every test client connects from 127.0.0.1, so the per-address limits (meant
 * for many people behind many addresses) are opened up here; tests of those
 * limits pass their own values, or connect from other loopback addresses.
 */
const SHARED_ADDRESS_ENV = {
  JOIN_BURST: '10000',
  JOINS_PER_MIN: '10000',
  IP_COST_LIMIT: '100000000',
  MAX_CONNS_PER_IP: '10000',
  HTTP_REQUEST_BURST: '100000',
  HTTP_REQUESTS_PER_S: '100000',
};

/** A gauge or counter from /metrics text, NaN when absent. */
export const metricOf = (text: string, name: string): number =>
  Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

function rssOf(pid: number | undefined): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

export function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const metricsToken = env.METRICS_TOKEN ?? randomBytes(16).toString('hex');
  const child = spawn(process.execPath, [...NODE_FLAGS, SERVER_JS], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...SHARED_ADDRESS_ENV, METRICS_TOKEN: metricsToken, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), START_TIMEOUT_MS);
    const onData = () => {
      const match = /"event":"listening".*"port":(\d+),"tls":(\d)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      const port = Number(match[1]);
      const origin = `${match[2] === '1' ? 'https' : 'http'}://127.0.0.1:${port}`;
      resolve({
        port,
        origin,
        output: () => output,
        metrics: async () => (await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text(),
        process: child,
        rssBytes: () => rssOf(child.pid),
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}

/** Runs `body` against a fresh server with `env`, and stops the server whatever happens. */
export async function withServer(env: Record<string, string>, body: (server: RunningServer) => Promise<void>): Promise<void> {
  const server = await startServer(env);
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

/** A loopback port that was free a moment ago (for a server that must come back on the same port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
