/**
 * Starts the real built server (dist/server.js) on a free loopback port and
 * keeps everything it prints, so tests can check what the server logged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERVER_JS = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
const START_TIMEOUT_MS = 10_000;

export interface RunningServer {
  port: number;
  origin: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output: () => string;
  stop: () => Promise<number | null>;
  process: ChildProcess;
}

/**
 * Every test client connects from 127.0.0.1, so the per-address limits (meant
 * for many people behind many addresses) are opened up here; tests of those
 * limits pass their own values, or connect from other loopback addresses.
 */
const SHARED_ADDRESS_ENV = { JOIN_BURST: '10000', JOINS_PER_MIN: '10000', IP_COST_LIMIT: '100000000', MAX_CONNS_PER_IP: '10000' };

export function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const child = spawn(process.execPath, [SERVER_JS], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...SHARED_ADDRESS_ENV, ...env },
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
      resolve({
        port,
        origin: `${match[2] === '1' ? 'https' : 'http'}://127.0.0.1:${port}`,
        output: () => output,
        process: child,
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
