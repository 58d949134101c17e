/**
 * The relay's limits and operations (issue #5), each against a real server
 * with its own settings. Clients use distinct loopback source addresses
 * (127.0.0.x) to act as distinct client addresses.
 */
import { describe, expect, it } from 'vitest';
import { deriveRoomKeys, randomBytes, signRosterConfirm } from '../../client/crypto';
import { encodeClientFrame, encodeUpload, encodeServerFrame } from '../../client/protocol';
import { metricOf as metric, withServer, type RunningServer } from '../support/server';
import { TestSocket } from '../support/ws-client';
import { joinRoom } from '../support/node-client';
import { linkDoor, shapedUpload, shapedHello, type LinkDoor } from '../support/shapes';

/**
 * MAX_BACKPRESSURE_BYTES for the slow-reader test (its default): large next to
 * what is sent between two sweeps, so the queue can be walked up to it.
 */
const LIMIT = 4 * 1024 * 1024;

const wsUrl = (server: RunningServer, roomId: string) => `${server.origin.replace('http', 'ws')}/ws/${roomId}`;

/** A socket that has joined the link's room with a shaped hello. */
async function member(server: RunningServer, link: LinkDoor, localAddress?: string) {
  const socket = await TestSocket.open(wsUrl(server, link.roomId), undefined, localAddress);
  const { hello, door, fp } = shapedHello(link, await socket.nonce);
  socket.send(encodeClientFrame({ t: 'hello', hello, door }));
  await socket.next((f) => f.startsWith('{"t":"welcome"'));
  return { socket, fp };
}

/**
 * A sender, a reader and a member that has stopped reading, in a new room:
 * the kernel's buffers fill first, then the server's queue for the stalled one.
 */
async function roomWithStalledReader(server: RunningServer) {
  const link = linkDoor();
  const sender = await member(server, link);
  const reader = await member(server, link);
  const stalled = await member(server, link);
  stalled.socket.ws.pause();
  return { roomId: link.roomId, sender, reader, stalled };
}

describe('operations', () => {
  it('answers /healthz and counts relays, bytes and refusals by reason at /metrics', () => withServer({}, async (server) => {
    const health = await fetch(`${server.origin}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const link = linkDoor();
    const roomId = link.roomId;
    const a = await member(server, link);
    const b = await member(server, link);
    a.socket.send(encodeUpload(shapedUpload(roomId, a.fp, 1)));
    await b.socket.next((f) => f.startsWith('{"t":"msg"'));
    const bad = await TestSocket.open(wsUrl(server, roomId));
    // uWS checks text frames itself and drops the connection (no close frame, so 1006).
    bad.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await bad.closed).code).toBe(1006);

    const text = await server.metrics();
    expect(metric(text, 'hush_rooms')).toBe(1);
    expect(metric(text, 'hush_members')).toBe(2);
    expect(metric(text, 'hush_messages_relayed_total')).toBe(1);
    expect(metric(text, 'hush_deliveries_total')).toBeGreaterThanOrEqual(3); // the message to 2, and b's join to a
    expect(metric(text, 'hush_received_bytes_total')).toBeGreaterThan(1000);
    expect(metric(text, 'hush_connections_opened_total')).toBe(3);
    expect(metric(text, 'process_resident_memory_bytes')).toBeGreaterThan(1e6);
    // Client addresses are used for limits, never logged.
    const events = server.output().split('\n').filter((l) => l !== '' && !l.includes('"event":"listening"'));
    expect(events.length).toBeGreaterThan(3);
    for (const line of events) expect(line).not.toContain('127.0.0.1');
  }));

  it('on SIGTERM tells every client "server restarting" (1001) and exits within a second', () => withServer({}, async (server) => {
    const link = linkDoor();
    const a = await member(server, link);
    const b = await member(server, link);
    const c = await member(server, linkDoor());
    const started = performance.now();
    const code = await server.stop();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(code).toBe(0);
    for (const m of [a, b, c]) expect(await m.socket.closed).toEqual({ code: 1001, reason: 'server restarting' });
    // Everyone is closed at once: no member is told that another "left" first.
    for (const m of [a, b]) expect(m.socket.frames.filter((f) => f.startsWith('{"t":"leave"'))).toEqual([]);
  }));
});

describe('per-address limits', () => {
  it('refuses joins past the per-address rate, and only from that address', () => withServer({ JOIN_BURST: '2', JOINS_PER_MIN: '1' }, async (server) => {
    const link = linkDoor();
    const roomId = link.roomId;
    await member(server, link, '127.0.0.5');
    await member(server, link, '127.0.0.5');
    const third = await TestSocket.open(wsUrl(server, roomId), undefined, '127.0.0.5');
    const { hello, door } = shapedHello(link, await third.nonce);
    third.send(encodeClientFrame({ t: 'hello', hello, door }));
    expect(await third.closed).toEqual({ code: 4008, reason: 'too many joins from your address - wait a minute' });
    await member(server, link, '127.0.0.6');
  }));

  it('closes the connection whose address sends too much, weighted by bytes, and spares other addresses', () => withServer({ IP_COST_LIMIT: '60', RATE_BURST_FRAMES: '1000' }, async (server) => {
    const link = linkDoor();
    const roomId = link.roomId;
    const noisy = await member(server, link, '127.0.0.7');
    const quiet = await member(server, link, '127.0.0.8');
    // 40 KiB frames cost ~41 each: the second one crosses the limit of 60.
    for (let seq = 1; seq <= 3; seq++) noisy.socket.send(encodeUpload(shapedUpload(roomId, noisy.fp, seq, 49, 4368)));
    expect(await noisy.socket.closed).toEqual({ code: 4008, reason: 'too much traffic from your address - slow down' });
    quiet.socket.send(encodeUpload(shapedUpload(roomId, quiet.fp, 1)));
    await quiet.socket.next((f) => f.includes(`"sender":"${quiet.fp}"`));
  }));

  it('closes a member that stops reading once its queue passes the limit, while the others get everything', () => withServer({ MAX_BACKPRESSURE_BYTES: String(1024 * 1024), RATE_BURST_FRAMES: '100000', RATE_FRAMES_PER_S: '100000' }, async (server) => {
    const { roomId, sender, reader, stalled } = await roomWithStalledReader(server);
    // ~22 MB of full-room uploads (each member is sent ~10 KB of each), paced so that a reading member keeps up.
    const FRAMES = 600;
    for (let seq = 1; seq <= FRAMES; seq++) {
      sender.socket.send(encodeUpload(shapedUpload(roomId, sender.fp, seq, 49, 4368)));
      if (seq % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await reader.socket.next((f) => f.startsWith('{"t":"leave"') && f.includes(stalled.fp), 20_000);
    await expect.poll(() => reader.socket.frames.filter((f) => f.startsWith('{"t":"msg"')).length, { timeout: 20_000 }).toBe(FRAMES);
    const text = await server.metrics();
    expect(metric(text, 'hush_refusals_total{reason="slow_consumer"}')).toBe(1);
    const rss = metric(text, 'process_resident_memory_bytes');
    const received = reader.socket.frames.filter((f) => f.startsWith('{"t":"msg"')).reduce((n, f) => n + f.length, 0);
    console.log(`slow consumer: closed after the others got ${FRAMES} frames (${Math.round(received / 2 ** 20)} MiB each); server RSS ${Math.round(rss / 2 ** 20)} MiB`);
    expect(rss).toBeLessThan(300 * 1024 * 1024);
  }));

  it('closes a reader whose queue passed the limit with the last frame it was sent, though nothing more is sent to it', () => withServer({ MAX_BACKPRESSURE_BYTES: String(LIMIT), RATE_BURST_FRAMES: '100000', RATE_FRAMES_PER_S: '100000' }, async (server) => {
    const { roomId, sender, reader, stalled } = await roomWithStalledReader(server);
    let seq = 0;
    const frame = () => encodeUpload(shapedUpload(roomId, sender.fp, ++seq, 49, 4368));
    const queued = async () => metric(await server.metrics(), 'hush_queued_bytes');
    // Slowly, until the kernel's buffers are full and the server starts queueing for the stalled reader.
    const isStalledGone = () => reader.socket.frames.some((f) => f.startsWith('{"t":"leave"') && f.includes(stalled.fp));
    while ((await queued()) === 0) {
      if (isStalledGone()) throw new Error('the stalled reader was closed before its queue could be walked up to the limit');
      // Three uploads: the stalled reader, no recipient, is sent only the envelope of each (~10 KB of ~38 KB).
      for (let i = 0; i < 3; i++) sender.socket.send(frame());
      // ~0.6 MB/s to the reader: the queue grows by far less than LIMIT between two sweeps.
      await new Promise((r) => setTimeout(r, 50));
    }
    // Walk the queue up: each round, once a sweep has counted it at rest, send just
    // enough to cross the limit. The kernel may take some of it (its buffers
    // grow), so repeat; every frame is sent while the queue is within the
    // limit, so no send closes the reader: only the sweep can.
    let rounds = 0;
    let crossed = 0;
    while (!isStalledGone()) {
      if (++rounds > 20) throw new Error('the queue never passed the limit');
      await new Promise((r) => setTimeout(r, 1_200));
      if (isStalledGone()) break;
      const before = await queued();
      if (before > LIMIT) {
        crossed = before;
        await reader.socket.next((f) => f.startsWith('{"t":"leave"') && f.includes(stalled.fp), 5_000);
        break;
      }
      const next = shapedUpload(roomId, sender.fp, ++seq, 49, 4368);
      // The stalled reader is no recipient: it is sent the envelope alone. uWS queues each
      // frame with a 4-byte header (payloads of 126 to 65,535 bytes).
      const queuedPerFrame = encodeServerFrame({ t: 'msg', env: next.env }).length + 4;
      const count = Math.floor((LIMIT - before) / queuedPerFrame) + 1;
      sender.socket.send(encodeUpload(next));
      for (let i = 1; i < count; i++) sender.socket.send(frame());
    }
    expect(metric(await server.metrics(), 'hush_refusals_total{reason="slow_consumer"}')).toBe(1);
    console.log(`slow reader: queue walked past the ${LIMIT} B limit in ${rounds} rounds${crossed > 0 ? ` (${crossed} B seen)` : ''}; closed by the sweep`);
  }));

  it('lets a member restate its roster at the normal pace without tripping any limit', () => withServer({}, async (server) => {
    const secret = randomBytes(32);
    const alice = await joinRoom(server.origin, secret, 'Alice');
    const keys = await deriveRoomKeys(secret);
    for (let n = 2; n < 12; n++) alice.socket.send(encodeClientFrame({ t: 'roster', rc: await signRosterConfirm(keys, alice.identity, n, 0, [alice.identity.fp]) }));
    await alice.session.post('still here');
    await alice.until(() => alice.messages().includes('Alice: still here'));
    await alice.socket.close();
  }));
});
