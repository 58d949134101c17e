/**
 * Soak (issue #5): 200 members in 4 rooms exchange messages for 30 s.
 * Every accepted message must reach every member of its room exactly once,
 * in order per sender (checked by sequence numbers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeClientFrame, encodeUpload } from '../../client/protocol';
import { metricOf, startServer, type RunningServer } from '../support/server';
import { TestSocket } from '../support/ws-client';
import { linkDoor, shapedUpload, shapedHello, type LinkDoor } from '../support/shapes';

const ROOMS = 4;
const MEMBERS_PER_ROOM = 50;
const DURATION_MS = 30_000;
/** Each member sends about once a second (well under the per-connection limit). */
const SEND_INTERVAL_MS = 1_000;

interface Member {
  room: number;
  fp: string;
  socket: TestSocket;
  sent: number;
  /** sender fp → last seq received from it */
  lastSeq: Map<string, number>;
  received: number;
  outOfOrder: number;
  duplicates: number;
}

describe('soak', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ LOG_MAX_ENTRIES: '100' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it(`delivers every message exactly once, in order, to ${ROOMS * MEMBERS_PER_ROOM} members over ${DURATION_MS / 1000} s`, async () => {
    const links = Array.from({ length: ROOMS }, () => linkDoor());
    const members: Member[] = [];
    for (let r = 0; r < ROOMS; r++) {
      for (let m = 0; m < MEMBERS_PER_ROOM; m++) {
        const link = links[r] as LinkDoor;
        const socket = await TestSocket.open(`${server.origin.replace('http', 'ws')}/ws/${link.roomId}`);
        const { hello, door, fp } = shapedHello(link, await socket.nonce);
        const member: Member = { room: r, fp, socket, sent: 0, lastSeq: new Map(), received: 0, outOfOrder: 0, duplicates: 0 };
        socket.ws.on('message', (data) => {
          const text = data.toString();
          if (!text.startsWith('{"t":"msg"')) return;
          const env = (JSON.parse(text) as { env: { sender: string; seq: number } }).env;
          const last = member.lastSeq.get(env.sender) ?? 0;
          if (env.seq === last + 1) member.received += 1;
          else if (env.seq <= last) member.duplicates += 1;
          else member.outOfOrder += 1;
          member.lastSeq.set(env.sender, Math.max(last, env.seq));
        });
        socket.send(encodeClientFrame({ t: 'hello', hello, door }));
        members.push(member);
      }
    }
    await Promise.all(members.map((m) => m.socket.next((f) => f.startsWith('{"t":"welcome"'))));
    // Free the frames buffer: this test counts in the handler above.
    for (const m of members) m.socket.frames.length = 0;

    const rss: number[] = [];
    const sampler = setInterval(() => {
      void server.metrics().then((t) => rss.push(metricOf(t, 'process_resident_memory_bytes')));
    }, 2_000);
    const deadline = performance.now() + DURATION_MS;
    const timers = members.map((m) => setTimeout(function tick() {
      if (performance.now() >= deadline) return;
      m.sent += 1;
      m.socket.send(encodeUpload(shapedUpload((links[m.room] as LinkDoor).roomId, m.fp, m.sent)));
      timers.push(setTimeout(tick, SEND_INTERVAL_MS * (0.5 + Math.random())));
    }, Math.random() * SEND_INTERVAL_MS));
    await new Promise((r) => setTimeout(r, DURATION_MS));
    for (const t of timers) clearTimeout(t);
    clearInterval(sampler);

    const expected = (m: Member) => members.filter((o) => o.room === m.room).reduce((n, o) => n + o.sent, 0);
    const total = () => members.reduce((n, m) => n + m.received, 0);
    const want = members.reduce((n, m) => n + expected(m), 0);
    const settle = performance.now() + 15_000;
    while (total() < want && performance.now() < settle) await new Promise((r) => setTimeout(r, 100));

    const sent = members.reduce((n, m) => n + m.sent, 0);
    const duplicated = members.reduce((n, m) => n + m.duplicates, 0);
    const outOfOrder = members.reduce((n, m) => n + m.outOfOrder, 0);
    console.log(`soak: ${sent} messages sent, ${total()} of ${want} deliveries, lost ${want - total()}, duplicated ${duplicated}, out of order ${outOfOrder}; peak server RSS ${Math.round(Math.max(...rss) / 2 ** 20)} MiB`);
    expect(sent).toBeGreaterThan(ROOMS * MEMBERS_PER_ROOM * (DURATION_MS / SEND_INTERVAL_MS) * 0.8);
    expect(duplicated).toBe(0);
    expect(outOfOrder).toBe(0);
    expect(total()).toBe(want);
    for (const m of members) expect(m.received).toBe(expected(m));
    await Promise.all(members.map((m) => m.socket.close()));
  });
});
