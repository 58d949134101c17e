/**
 * Runs HAProxy with deploy/haproxy.cfg (rendered as `npm run cluster` does)
 * in front of Hush nodes on loopback, and asks it which nodes it thinks are up.
 */
import { createConnection } from 'node:net';
import { startHaproxy } from './haproxy.mjs';

export interface RunningBalancer {
  origin: string;
  /** Whether HAProxy has each server up, by "backend/server" (e.g. "hush_rooms/n2"). */
  serversUp: () => Promise<Map<string, boolean>>;
  /** Everything HAProxy wrote so far (server state changes, alerts). */
  output: () => string;
  stop: () => Promise<void>;
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
  const { origin, output, stop, statsSocket } = await startHaproxy(nodePorts);
  return {
    origin,
    output,
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
