/**
 * The relay's side of files (PROTOCOL.md §11.4): binary `to` frames go only
 * between two current members of one room, stamped with the sender, sized
 * exactly, and a chunk must spend a chunk its recipient asked for, so the
 * relay never holds more than MAX_PULL_CREDIT chunks for a pair.
 */
import { createHash, randomBytes as nodeRandom } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveRoomKeys, generateIdentity, randomBytes } from '../../client/crypto';
import { FILE_CHUNK_BYTES, MAX_CT_BYTES, MAX_PULL_CREDIT, NOTE_OP, encodeChunk, encodeNote, encodeUpload, fromB64u } from '../../client/protocol';
import { RoomSession } from '../../client/room';
import { bytesSource, type FileTransfer } from '../../client/files';
import { metricOf, startServer, type RunningServer } from '../support/server';
import { TestSocket } from '../support/ws-client';
import { shapedUpload } from '../support/shapes';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
});

const raw = (fp: string): Uint8Array => fromB64u(fp) as Uint8Array;
const fileId = () => randomBytes(16);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface FileMember {
  session: RoomSession;
  socket: TestSocket;
  fp: string;
  /** Binary frames the server delivered, in order. */
  binary: Buffer[];
  until: (pred: () => boolean, timeoutMs?: number) => Promise<void>;
}

/** A Node member with files: a real RoomSession on a real socket, binary frames routed to its files. */
async function join(secret: Uint8Array, name: string, localAddress?: string): Promise<FileMember> {
  const keys = await deriveRoomKeys(secret);
  const id = await generateIdentity();
  const socket = await TestSocket.open(`${server.origin.replace('http', 'ws')}/ws/${keys.roomId}`, undefined, localAddress);
  const session = new RoomSession(keys, id, name, (f) => socket.send(f), { sendBinary: (f) => socket.ws.send(f) });
  const binary: Buffer[] = [];
  const nonce = await socket.nonce;
  socket.ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return void session.receive(data.toString());
    binary.push(data);
    void session.receiveBinary(new Uint8Array(data));
  });
  await session.start(nonce);
  const until = async (pred: () => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { session, socket, fp: id.fp, binary, until };
}

async function room(count: number, addresses: string[] = []) {
  const secret = randomBytes(32);
  const members: FileMember[] = [];
  for (let i = 0; i < count; i++) members.push(await join(secret, `M${i}`, addresses[i]));
  for (const m of members) await m.until(() => m.session.view().members.length === count);
  return { secret, members };
}

const fileOf = (m: FileMember): FileTransfer | undefined => {
  const e = m.session.view().timeline.find((x) => x.kind === 'file');
  return e?.kind === 'file' ? e.transfer : undefined;
};

describe('addressed frames', () => {
  it('relays a note to its one recipient only, stamped with the sender’s fp', async () => {
    const [a, b, c] = (await room(3)).members as [FileMember, FileMember, FileMember];
    const id = fileId();
    a.socket.ws.send(encodeNote(raw(b.fp), NOTE_OP.CANCEL, id));
    await b.until(() => b.binary.length === 1);
    expect(Buffer.compare(b.binary[0] as Buffer, Buffer.from(encodeNote(raw(a.fp), NOTE_OP.CANCEL, id)))).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.binary).toHaveLength(0);
    expect(c.binary).toHaveLength(0);
  });

  it('relays a chunk only after its recipient asked the sender for it, MAX_PULL_CREDIT at most', async () => {
    const [a, b] = (await room(2)).members as [FileMember, FileMember];
    const id = fileId();
    // Asking twice for the most does not bank more than the most.
    b.socket.ws.send(encodeNote(raw(a.fp), NOTE_OP.WANT, id, 0, MAX_PULL_CREDIT));
    b.socket.ws.send(encodeNote(raw(a.fp), NOTE_OP.WANT, id, 0, MAX_PULL_CREDIT));
    await a.until(() => a.binary.length === 2);
    const ct = randomBytes(1024);
    for (let i = 0; i < MAX_PULL_CREDIT; i++) a.socket.ws.send(encodeChunk(raw(b.fp), id, i, ct));
    await b.until(() => b.binary.length === MAX_PULL_CREDIT);
    a.socket.ws.send(encodeChunk(raw(b.fp), id, MAX_PULL_CREDIT, ct));
    expect(await a.socket.closed).toEqual({ code: 1008, reason: 'file chunk that was not asked for' });
  });

  it('refuses a chunk nobody asked for, from a member to another', async () => {
    const [a, b] = (await room(2)).members as [FileMember, FileMember];
    a.socket.ws.send(encodeChunk(raw(b.fp), fileId(), 0, randomBytes(64)));
    expect(await a.socket.closed).toEqual({ code: 1008, reason: 'file chunk that was not asked for' });
    expect(b.binary).toHaveLength(0);
  });

  it('delivers nothing to a fingerprint that is not a member, and keeps the sender', async () => {
    const [a, b] = (await room(2)).members as [FileMember, FileMember];
    const before = metricOf(await server.metrics(), 'hush_addressed_dropped_total');
    a.socket.ws.send(encodeNote(randomBytes(32), NOTE_OP.CANCEL, fileId()));
    a.socket.ws.send(encodeNote(raw(b.fp), NOTE_OP.CANCEL, fileId()));
    await b.until(() => b.binary.length === 1);
    expect(metricOf(await server.metrics(), 'hush_addressed_dropped_total')).toBe(before + 1);
    expect(a.socket.ws.readyState).toBe(1);
  });

  it.each([
    ['before its hello', 'before', 1008, 'message before hello'],
    ['to its own fp', 'self', 1008, 'frame is addressed to its sender'],
    ['of an unknown kind', 'kind', 1003, 'binary frames are not accepted'],
    ['as a note of the wrong size', 'size', 1008, 'note: wrong size'],
    ['as a want for more than MAX_PULL_CREDIT', 'grant', 1008, 'note: bad grant'],
    ['larger than the largest chunk', 'big', 1009, 'frame too large'],
  ])('closes a socket that sends a binary frame %s', async (_, kind, code, reason) => {
    const secret = randomBytes(32);
    const { roomId } = await deriveRoomKeys(secret);
    const peer = await join(secret, 'Peer');
    if (kind === 'before') {
      const raw0 = await TestSocket.open(`${server.origin.replace('http', 'ws')}/ws/${roomId}`);
      await raw0.nonce;
      raw0.ws.send(encodeNote(raw(peer.fp), NOTE_OP.CANCEL, fileId()));
      expect(await raw0.closed).toEqual({ code, reason });
      return;
    }
    const m = await join(secret, 'Member');
    await m.until(() => m.session.view().members.length === 2);
    const to = kind === 'self' ? raw(m.fp) : raw(peer.fp);
    const note = encodeNote(to, NOTE_OP.CANCEL, fileId());
    const frame = {
      self: note,
      kind: Uint8Array.from([7, ...note.subarray(1)]),
      size: note.subarray(0, note.length - 1),
      grant: encodeNote(to, NOTE_OP.WANT, fileId(), 0, MAX_PULL_CREDIT + 1),
      big: encodeChunk(to, fileId(), 0, new Uint8Array(FILE_CHUNK_BYTES + 17)),
    }[kind] as Uint8Array;
    m.socket.ws.send(frame);
    expect(await m.socket.closed).toEqual({ code, reason });
  });

  it('closes a member that stops reading when a note to it takes its queue past the limit, and keeps relaying for the rest', async () => {
    // The note sends what was queued for its recipient first: that can close the recipient as too slow, and the note must then go nowhere.
    const limited = await startServer({ MAX_BACKPRESSURE_BYTES: String(64 * 1024), RATE_FRAMES_PER_S: '100000', RATE_BURST_FRAMES: '100000', IP_COST_LIMIT: '1000000000', RATE_NOTES_PER_S: '100000', RATE_NOTE_BURST: '100000' });
    const previous = server;
    server = limited;
    try {
      const [a, b] = (await room(2)).members as [FileMember, FileMember];
      b.socket.ws.pause();
      const tcp = (a.socket.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
      let seq = 0;
      // Each batch reaches the relay in one write: messages queued for b, then a note to b in the same turn.
      for (let batch = 0; batch < 60 && !/slow_consumer/.test(limited.output()); batch++) {
        tcp.cork();
        for (let i = 0; i < 20; i++) a.socket.ws.send(encodeUpload(shapedUpload(a.session.keys.roomId, a.fp, ++seq, 0, MAX_CT_BYTES)));
        a.socket.ws.send(encodeNote(raw(b.fp), NOTE_OP.CANCEL, fileId()));
        tcp.uncork();
        await new Promise((r) => setTimeout(r, 30));
      }
      expect(limited.output()).toMatch(/"kind":"slow_consumer"/);
      // The relay is still up, and a still gets its own messages.
      expect((await fetch(`${limited.origin}/healthz`)).status).toBe(200);
      const before = a.socket.frames.length;
      a.socket.ws.send(encodeUpload(shapedUpload(a.session.keys.roomId, a.fp, ++seq)));
      await a.until(() => a.socket.frames.length > before);
      expect(a.socket.ws.readyState).toBe(1);
    } finally {
      server = previous;
      await limited.stop();
    }
  });

  it('stops a flood of notes with their own bucket', async () => {
    const limited = await startServer({ RATE_NOTES_PER_S: '1', RATE_NOTE_BURST: '5' });
    try {
      const secret = randomBytes(32);
      const keys = await deriveRoomKeys(secret);
      const url = `${limited.origin.replace('http', 'ws')}/ws/${keys.roomId}`;
      const open = async () => {
        const socket = await TestSocket.open(url);
        const id = await generateIdentity();
        const session = new RoomSession(keys, id, 'N', (f) => socket.send(f));
        const nonce = await socket.nonce;
        socket.ws.on('message', (d: Buffer, isBinary) => { if (!isBinary) void session.receive(d.toString()); });
        await session.start(nonce);
        return { socket, session, fp: id.fp };
      };
      const a = await open();
      const b = await open();
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 10; i++) a.socket.ws.send(encodeNote(raw(b.fp), NOTE_OP.CANCEL, fileId()));
      expect(await a.socket.closed).toEqual({ code: 4008, reason: 'too many file notes - slow down' });
    } finally {
      await limited.stop();
    }
  });
});

describe('files through the real relay', () => {
  it('delivers a file byte-identical to two members, one of which stopped reading, without closing anyone; /logs holds sizes, never bytes', async () => {
    const [a, b, c] = (await room(3)).members as [FileMember, FileMember, FileMember];
    const data = new Uint8Array(nodeRandom(3 * 2 ** 20));
    // c stops reading its socket: the relay queues for it at most what it asked for.
    c.socket.ws.pause();
    await a.session.sendFile(bytesSource(data, 'x.bin'));
    await b.until(() => fileOf(b)?.status === 'complete');
    expect(sha(new Uint8Array(await (fileOf(b)?.data as Blob).arrayBuffer()))).toBe(sha(data));
    await new Promise((r) => setTimeout(r, 1500));
    expect(fileOf(c)).toBeUndefined();
    c.socket.ws.resume();
    await c.until(() => fileOf(c)?.status === 'complete');
    expect(sha(new Uint8Array(await (fileOf(c)?.data as Blob).arrayBuffer()))).toBe(sha(data));
    await a.until(() => fileOf(a)?.deliveredCount() === 2);
    for (const m of [a, b, c]) expect(m.socket.ws.readyState).toBe(1);
    expect(server.output()).not.toMatch(/slow_consumer/);

    const { signLogsRequest } = await import('../../client/crypto');
    const url = `${server.origin}${await signLogsRequest(a.session.keys, a.session.identity, Date.now() + 20_000)}`;
    const log = (await (await fetch(url)).json()) as { entries: Record<string, unknown>[] };
    const chunks = log.entries.filter((e) => e.type === 'chunk');
    expect(chunks.length).toBeGreaterThan(0);
    for (const e of chunks) {
      expect(Object.keys(e).sort()).toEqual(['at', 'file', 'sender', 'size', 'to', 'type']);
      expect(e.sender).toBe(a.fp);
      expect([b.fp, c.fp]).toContain(e.to);
      expect(e.file).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(chunks.reduce((n, e) => n + (e.size as number), 0)).toBeGreaterThan(2 * data.length);
  });

  it('sends a file to a room of members on ten addresses under the default per-address limits', async () => {
    const strict = await startServer({ JOIN_BURST: '10', JOINS_PER_MIN: '30', IP_COST_LIMIT: '2000', MAX_CONNS_PER_IP: '50' });
    const previous = server;
    server = strict;
    try {
      const addresses = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`);
      const { members } = await room(10, addresses);
      const [a, ...others] = members as [FileMember, ...FileMember[]];
      const data = new Uint8Array(nodeRandom(8 * 2 ** 20));
      await a.session.sendFile(bytesSource(data, 'x.bin'));
      for (const m of others) await m.until(() => fileOf(m)?.status === 'complete', 60_000);
      await a.until(() => fileOf(a)?.deliveredCount() === 9);
      for (const m of members) expect(m.socket.ws.readyState).toBe(1);
      expect(strict.output()).not.toMatch(/"event":"refused"/);
    } finally {
      server = previous;
      await strict.stop();
    }
  }, 90_000);
});
