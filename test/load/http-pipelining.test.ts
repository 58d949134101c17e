/**
 * /logs under HTTP abuse (issue 14, item 1): a room whose log is truly full
 * (LOG_MAX_BYTES at its 4 MiB default, in full-room messages), and one TCP
 * connection that pipelines 300 GETs of it and never reads an answer. The
 * per-address HTTP limit is opened here (as for every test client on
 * 127.0.0.1), so what is tested is that responses go out only as fast as the
 * client takes them: /healthz from another address still answers within
 * 50 ms, and the server's RSS barely moves.
 */
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeClientFrame, encodeUpload } from '../../client/protocol';
import { startServer } from '../support/server';
import { TestSocket } from '../support/ws-client';
import { linkDoor, shapedUpload, shapedHello, shapedLogsPath, shapedSigner } from '../support/shapes';

const LOG_MAX_BYTES = 4 * 1024 * 1024;
const PIPELINED_GETS = 300;
const HEALTH_PROBES = 40;
const PROBE_EVERY_MS = 50;
const HEALTH_LIMIT_MS = 50;
/** What the abuse may add to the server's RSS: a few bodies in flight at most, never one per request. */
const RSS_GROWTH_LIMIT_BYTES = 48 * 2 ** 20;

/** A GET from a chosen loopback source address, on a fresh connection; resolves with the status once the body is in. */
function getFrom(localAddress: string, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
  });
}

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

describe('GET /logs pipelined by a client that never reads', () => {
  it(`keeps /healthz under ${HEALTH_LIMIT_MS} ms for others and RSS within ${MiB(RSS_GROWTH_LIMIT_BYTES)} of where it was`, async () => {
    const server = await startServer({ LOG_MAX_BYTES: String(LOG_MAX_BYTES), RATE_BURST_FRAMES: '100000', RATE_FRAMES_PER_S: '100000' });
    const abusers: Socket[] = [];
    try {
      const link = linkDoor();
      const roomId = link.roomId;
      const member = await TestSocket.open(`${server.origin.replace('http', 'ws')}/ws/${roomId}`);
      const signer = shapedSigner();
      const { hello, door, fp } = shapedHello(link, await member.nonce, signer);
      member.send(encodeClientFrame({ t: 'hello', hello, door }));
      // The worst case: the abuser holds a member's signed URL (a stranger gets a small 404).
      const logs = shapedLogsPath(roomId, fp, signer);
      await member.next((f) => f.startsWith('{"t":"welcome"'));
      // Full-room messages (~37 KB each) until the oldest entries are being dropped.
      const MESSAGES = 140;
      for (let seq = 1; seq <= MESSAGES; seq++) member.send(encodeUpload(shapedUpload(roomId, fp, seq, 49, 4368)));
      await expect.poll(() => member.frames.filter((f) => f.startsWith('{"t":"msg"')).length, { timeout: 20_000 }).toBe(MESSAGES);

      const full = await fetch(`${server.origin}${logs}`);
      const fullText = await full.text();
      const entries = (JSON.parse(fullText) as { entries: { type: string }[] }).entries;
      expect(entries.length).toBeLessThan(MESSAGES + 1);
      expect(fullText.length).toBeGreaterThan(0.95 * LOG_MAX_BYTES);

      // The same probes before the abuse, only to tell the machine's own noise apart in the report.
      const probe = async () => {
        const latencies: number[] = [];
        for (let i = 0; i < HEALTH_PROBES; i++) {
          const started = performance.now();
          expect(await getFrom('127.0.0.2', server.port, '/healthz')).toBe(200);
          latencies.push(performance.now() - started);
          await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
        }
        return latencies;
      };
      const quiet = await probe();
      const rssBefore = server.rssBytes();
      const request = `GET ${logs} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`;
      const abuser = connect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.3' });
      abusers.push(abuser);
      abuser.pause();
      abuser.on('error', () => {});
      await new Promise<void>((resolve) => abuser.once('connect', () => resolve()));
      abuser.write(request.repeat(PIPELINED_GETS));

      // Probe /healthz from another address while the server works through the pipeline.
      const latencies = await probe();
      const rssAfter = server.rssBytes();
      const worst = Math.max(...latencies);
      console.log(`http pipelining: log ${MiB(fullText.length)} (${entries.length} entries), ${PIPELINED_GETS} unread pipelined GETs; /healthz from another address: worst ${worst.toFixed(1)} ms of ${HEALTH_PROBES} (before the abuse: ${Math.max(...quiet).toFixed(1)} ms); server RSS ${MiB(rssBefore)} → ${MiB(rssAfter)} (+${MiB(rssAfter - rssBefore)})`);
      expect(worst).toBeLessThan(HEALTH_LIMIT_MS);
      expect(rssAfter - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT_BYTES);
      expect(server.process.exitCode).toBeNull();
      await member.close();
    } finally {
      for (const s of abusers) s.destroy();
      await server.stop();
    }
  });
});
