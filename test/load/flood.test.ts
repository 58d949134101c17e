/**
 * Flood (issue #5): one member sends as fast as it can, rejoining whenever it
 * is closed. It is throttled and closed, and the others' p99 delivery latency
 * stays within 2× of the quiet baseline measured in the same test.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeClientFrame, encodeUpload } from '../../client/protocol';
import { startServer } from '../support/server';
import { TestSocket } from '../support/ws-client';
import { linkDoor, shapedUpload, shapedHello } from '../support/shapes';

const PHASE_MS = 8_000;
/** Six pingers, each under the per-connection limit of 20 frames/s: ~80 samples/s, so p99 is not one outlier. */
const PINGERS = ['127.0.0.2', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8'];
/**
 * On two shared cores the flooder's own process competes for CPU with the
 * server and this test; below a few milliseconds that is scheduler noise, not
 * the relay favouring the flooder. So the bound is 2× quiet p99, but never
 * less than quiet p99 + 5 ms.
 */
const NOISE_FLOOR_MS = 5;
const PING_EVERY_MS = 70;
const FLOOD_IDENTITIES = 40;
/** Enough to cross the burst of 60 at once; more would only burn the flooder's own CPU. */
const FRAMES_PER_IDENTITY = 120;

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? NaN;

describe('flood', () => {
  it('closes a flooding member and keeps the others’ p99 latency within 2× of quiet (5 ms noise floor)', async () => {
    // Real per-address defaults: the pair and the flooder use different loopback addresses.
    const server = await startServer({ JOIN_BURST: '10', JOINS_PER_MIN: '30', IP_COST_LIMIT: '2000', MAX_CONNS_PER_IP: '50' });
    const dir = mkdtempSync(join(tmpdir(), 'hush-flood-'));
    try {
      const link = linkDoor();
      const roomId = link.roomId;
      const url = `${server.origin.replace('http', 'ws')}/ws/${roomId}`;
      const joinFrom = async (localAddress: string) => {
        const socket = await TestSocket.open(url, undefined, localAddress);
        const { hello, door, fp } = shapedHello(link, await socket.nonce);
        socket.send(encodeClientFrame({ t: 'hello', hello, door }));
        await socket.next((f) => f.startsWith('{"t":"welcome"'));
        return { socket, fp };
      };
      const pingers = await Promise.all(PINGERS.map(joinFrom));
      const bob = await joinFrom('127.0.0.3');

      // The pingers send at a steady pace; Bob times each message from send to arrival.
      const sentAt = new Map<string, number>();
      let latencies: number[] = [];
      bob.socket.ws.on('message', (data) => {
        const m = /"msgId":"([^"]+)"/.exec(data.toString());
        const at = m === null ? undefined : sentAt.get(m[1] as string);
        if (at !== undefined) latencies.push(performance.now() - at);
      });
      let sent = 0;
      const seqs = pingers.map(() => 0);
      const phase = async () => {
        latencies = [];
        const end = performance.now() + PHASE_MS;
        while (performance.now() < end) {
          pingers.forEach((p, i) => {
            const upload = shapedUpload(roomId, p.fp, (seqs[i] = (seqs[i] ?? 0) + 1));
            sentAt.set(upload.env.msgId, performance.now());
            p.socket.send(encodeUpload(upload));
            sent += 1;
          });
          await new Promise((r) => setTimeout(r, PING_EVERY_MS));
        }
        await new Promise((r) => setTimeout(r, 300));
        return latencies;
      };

      const quiet = await phase();
      const identities = Array.from({ length: FLOOD_IDENTITIES }, () => {
        const { hello, fp } = shapedHello(link, '');
        return { hello, fp, frames: Array.from({ length: FRAMES_PER_IDENTITY }, (_, i) => Buffer.from(encodeUpload(shapedUpload(roomId, fp, i + 1))).toString('base64')) };
      });
      const file = join(dir, 'flood.json');
      writeFileSync(file, JSON.stringify({ url, localAddress: '127.0.0.9', identities, durationMs: PHASE_MS, door: { roomId, pub: link.doorPub, pkcs8: link.doorKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url') } }));
      const flooder = spawn(process.execPath, [fileURLToPath(new URL('./flooder.mjs', import.meta.url)), file], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      flooder.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const flooded = await phase();
      await new Promise((resolve) => { if (flooder.exitCode !== null) resolve(null); else flooder.once('exit', resolve); });
      const stats = JSON.parse(out) as { connections: number; framesSent: number; closes: Record<string, number> };

      console.log(`flood: quiet p99 ${p99(quiet).toFixed(2)} ms (n=${quiet.length}), during flood p99 ${p99(flooded).toFixed(2)} ms (n=${flooded.length}); flooder: ${JSON.stringify(stats)}`);
      expect(quiet.length).toBeGreaterThan(200);
      expect(quiet.length + flooded.length).toBe(sent);
      expect(Object.keys(stats.closes).some((k) => k.startsWith('4008'))).toBe(true);
      expect(p99(flooded)).toBeLessThanOrEqual(Math.max(2 * p99(quiet), p99(quiet) + NOISE_FLOOR_MS));
      for (const p of [...pingers, bob]) await p.socket.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await server.stop();
    }
  });
});
