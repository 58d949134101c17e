/**
 * The memory budget (issue 14, item 4): with MEMORY_BUDGET_BYTES at 32 MiB,
 * twenty rooms write about 85 MiB of full-room messages into their logs (each
 * under its own LOG_MAX_BYTES of 4 MiB), so the logs must give way, oldest
 * entries first; then 2,100 idle sockets take the rest of the budget, so a
 * new room is refused (4002) while the process stays up, answers /healthz and
 * keeps its RSS bounded.
 */
import { describe, expect, it } from 'vitest';
import { deriveRoomKeys, randomBytes } from '../../client/crypto';
import { decodeUpload, encodeClientFrame, encodeUpload } from '../../client/protocol';
import { metricOf, startServer } from '../support/server';
import { TestSocket } from '../support/ws-client';
import { linkDoor, shapedUpload, shapedHello, shapedLogsPath, shapedSigner } from '../support/shapes';

const BUDGET_BYTES = 32 * 2 ** 20;
const ROOMS = 20;
const MESSAGES_PER_ROOM = 120;
const LOG_MAX_ENTRIES = 100;
/** Each socket counts 16 KiB against the budget (CONN_OVERHEAD_BYTES): this many exceed 32 MiB. */
const IDLE_SOCKETS = 2_100;
const ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.2.${i + 1}`);
/** Baseline (~50 MiB), the budget, and what uWS and V8 keep beyond what the budget counts. */
const RSS_LIMIT_BYTES = 256 * 2 ** 20;

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

describe('a process memory budget', () => {
  it(`keeps every log and socket within MEMORY_BUDGET_BYTES (${MiB(BUDGET_BYTES)}): old log entries go first, then new rooms are refused`, async () => {
    // LOG_MAX_ENTRIES below MESSAGES_PER_ROOM: each room's last messages take over the entries
    // (objects and buffers) of its first ones, so the budget's queue must skip their old places.
    const server = await startServer({ MEMORY_BUDGET_BYTES: String(BUDGET_BYTES), LOG_MAX_ENTRIES: String(LOG_MAX_ENTRIES), RATE_BURST_FRAMES: '100000', RATE_FRAMES_PER_S: '100000', HELLO_TIMEOUT_S: '600' });
    const sockets: TestSocket[] = [];
    try {
      const url = (roomId: string) => `${server.origin.replace('http', 'ws')}/ws/${roomId}`;
      const rssStart = server.rssBytes();
      const links = Array.from({ length: ROOMS }, () => linkDoor());
      const writers = await Promise.all(links.map(async (link, i) => {
        const socket = await TestSocket.open(url(link.roomId), undefined, ADDRESSES[i % ADDRESSES.length]);
        sockets.push(socket);
        const signer = shapedSigner();
        const { hello, door, fp } = shapedHello(link, await socket.nonce, signer);
        socket.send(encodeClientFrame({ t: 'hello', hello, door }));
        await socket.next((f) => f.startsWith('{"t":"welcome"'));
        return { roomId: link.roomId, socket, fp, logs: () => shapedLogsPath(link.roomId, fp, signer) };
      }));
      let written = 0;
      for (const w of writers) {
        for (let seq = 1; seq <= MESSAGES_PER_ROOM; seq++) {
          const frame = encodeUpload(shapedUpload(w.roomId, w.fp, seq, 49, 4368));
          written += frame.length;
          w.socket.send(frame);
        }
        await expect.poll(() => w.socket.frames.filter((f) => f.startsWith('{"t":"msg"')).length, { timeout: 20_000 }).toBe(MESSAGES_PER_ROOM);
        // The writer reads its own messages: free the test's copy.
        w.socket.frames.length = 0;
      }
      const afterLogs = await server.metrics();
      const logBytes = metricOf(afterLogs, 'hush_log_bytes');
      const dropped = metricOf(afterLogs, 'hush_log_entries_dropped_total');
      const rssLogs = server.rssBytes();
      console.log(`memory budget: ${MiB(written)} written to ${ROOMS} rooms; logs hold ${MiB(logBytes)}, ${dropped} entries dropped for the budget; RSS ${MiB(rssStart)} → ${MiB(rssLogs)}`);
      expect(logBytes).toBeGreaterThan(BUDGET_BYTES / 2);
      expect(metricOf(afterLogs, 'hush_memory_bytes')).toBeLessThanOrEqual(BUDGET_BYTES);
      expect(dropped).toBeGreaterThan(0);
      // The oldest went first: the room written last still has its newest message, the first room lost its oldest.
      const last = writers[ROOMS - 1];
      const first = writers[0];
      if (last === undefined || first === undefined) throw new Error('no writers');
      const logOf = async (writer: { logs: () => string }) => (JSON.parse(await (await fetch(`${server.origin}${writer.logs()}`)).text()) as { entries: { type: string; frame: string }[] }).entries;
      // A msg entry's frame is the binary upload in base64url (PROTOCOL.md §8.5).
      const newest = decodeUpload(Buffer.from((await logOf(last)).at(-1)?.frame ?? '', 'base64url'));
      expect(newest instanceof Error ? newest.message : newest.env.seq).toBe(MESSAGES_PER_ROOM);
      expect((await logOf(first)).filter((e) => e.type === 'msg').length).toBeLessThan(MESSAGES_PER_ROOM);
      // Every room's log is its newest messages, in order, with nothing missing between them.
      for (const w of writers) {
        const seqs = (await logOf(w)).filter((e) => e.type === 'msg').map((e) => {
          const upload = decodeUpload(Buffer.from(e.frame, 'base64url'));
          return upload instanceof Error ? upload.message : upload.env.seq;
        });
        expect(seqs.length).toBeLessThanOrEqual(LOG_MAX_ENTRIES);
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => MESSAGES_PER_ROOM - seqs.length + 1 + i));
      }

      // Idle sockets in an existing room: everything but the logs grows past the budget.
      const crowded = last.roomId;
      for (let i = 0; i < IDLE_SOCKETS; i += 100) {
        sockets.push(...(await Promise.all(Array.from({ length: 100 }, (_, j) => TestSocket.open(url(crowded), undefined, ADDRESSES[(i + j) % ADDRESSES.length])))));
      }
      // The sweep trims the logs to what is left of the budget: nothing (an empty body may stay cached).
      await expect.poll(async () => metricOf(await server.metrics(), 'hush_log_bytes'), { timeout: 5_000 }).toBeLessThan(1024);
      expect(await logOf(last)).toEqual([]);
      const newRoom = await TestSocket.open(url((await deriveRoomKeys(randomBytes(32))).roomId), undefined, '127.0.2.100');
      expect(await Promise.race([newRoom.closed, new Promise((r) => setTimeout(() => r('still open after 5 s'), 5_000))])).toEqual({ code: 4002, reason: 'server is full - try again later' });
      expect(server.output()).toMatch(/"event":"refused".*"code":4002,"kind":"memory_budget","reason":"server is full - try again later"/);

      const full = await server.metrics();
      const rssFull = server.rssBytes();
      const health = await fetch(`${server.origin}/healthz`);
      console.log(`memory budget: ${IDLE_SOCKETS} idle sockets; budget use ${MiB(metricOf(full, 'hush_memory_bytes'))} of ${MiB(BUDGET_BYTES)}, logs ${MiB(metricOf(full, 'hush_log_bytes'))}; new room refused (4002); RSS ${MiB(rssFull)}`);
      expect(health.status).toBe(200);
      expect(server.process.exitCode).toBeNull();
      expect(Math.max(rssLogs, rssFull)).toBeLessThan(RSS_LIMIT_BYTES);

      // Once the idle sockets go, new rooms are welcome again.
      for (const s of sockets.splice(ROOMS)) s.ws.terminate();
      await expect.poll(async () => metricOf(await server.metrics(), 'hush_connections'), { timeout: 10_000 }).toBe(ROOMS);
      const laterLink = linkDoor();
      const later = await TestSocket.open(url(laterLink.roomId), undefined, '127.0.2.100');
      const { hello, door } = shapedHello(laterLink, await later.nonce);
      later.send(encodeClientFrame({ t: 'hello', hello, door }));
      await later.next((f) => f.startsWith('{"t":"welcome"'));
      await later.close();
    } finally {
      for (const s of sockets) s.ws.terminate();
      await server.stop();
    }
  });
});
