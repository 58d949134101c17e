/**
 * Fuzz (issue #5): 100,000 generated malformed frames at a running server,
 * each on its own connection, while a well-behaved pair keeps talking.
 * Zero crashes, every offender closed with a code (and a reason, unless uWS
 * itself dropped an invalid text frame), memory bounded. Alongside (issue 14):
 * connections of shape-valid junk, and HTTP abuse (pipelined GETs never read,
 * oversized headers and URLs, slowloris, garbage) while /healthz stays quick.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveRoomKeys, randomBytes } from '../../client/crypto';
import { MAX_FRAME_BYTES, UPLOAD_HEADER_BYTES, WRAP_BYTES, encodeClientFrame, encodeUpload } from '../../client/protocol';
import { metricOf, startServer, type RunningServer } from '../support/server';
import { joinRoom, type NodeMember } from '../support/node-client';
import { clientFrame, OPCODE, rawSession, type RawClose } from '../support/raw-ws';
import { doorOf, framedUpload, linkDoor, shapedUpload, shapedHello, type LinkDoor } from '../support/shapes';
import { noticesOf } from '../support/members';
import { MAX_TIMELINE_ENTRIES } from '../../client/timing';

const FRAMES = 100_000;
const CONCURRENCY = 64;
const ROOMS = 16;
/** Source addresses to spread connections over, so ephemeral ports never run out. */
const ADDRESSES = Array.from({ length: 16 }, (_, i) => `127.0.1.${i + 1}`);
const SEED = 0x5eed;
/** Share of connections that send shape-valid junk instead of one malformed frame. */
const JUNK_SHARE = 0.1;
/** HTTP abusers running alongside, each from its own source address. */
const HTTP_ABUSERS = Array.from({ length: 8 }, (_, i) => `127.0.3.${i + 1}`);
/** uWS closes an HTTP connection that has not finished a request in 10 s; this leaves room for a loaded machine. */
const SLOWLORIS_HOLD_MS = 20_000;

/** mulberry32: a small, seeded PRNG, so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Builds one connection's worth of frames: maybe a valid hello, then one malformed frame. */
function generator(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const int = (n: number) => Math.floor(rand() * n);
  const weird: Json[] = [null, true, false, 0, -1, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 0.5, '', 'x'.repeat(300), '__proto__', [], {}, [[[]]], { __proto__: 1 }, '\u0000', '\ud800'];

  function mutateValue(v: Json, depth = 0): Json {
    if (depth > 3 || v === null || typeof v !== 'object') return pick(weird);
    if (Array.isArray(v)) {
      const copy = [...v];
      const r = rand();
      if (r < 0.3 && copy.length > 0) copy.splice(int(copy.length), 1);
      else if (r < 0.6) copy.push(pick(weird));
      else if (copy.length > 0) { const i = int(copy.length); copy[i] = mutateValue(copy[i] as Json, depth + 1); }
      return copy;
    }
    const copy: { [k: string]: Json } = { ...v };
    const keys = Object.keys(copy);
    const r = rand();
    if (r < 0.2 && keys.length > 0) delete copy[pick(keys)];
    else if (r < 0.35) copy[pick(['__proto__', 'constructor', 'prototype', 'extra', 't', 'admin'])] = pick(weird);
    else if (keys.length > 0) { const k = pick(keys); copy[k] = mutateValue(copy[k] as Json, depth + 1); }
    return copy;
  }

  /**
   * One connection to `link`'s room; or, with the share JUNK_SHARE, to the
   * honest pair's room (`pairRoomId`) from a socket that knows only that id.
   */
  return (link: LinkDoor, pairRoomId: string): { frames: Buffer[] | ((nonce: string) => Buffer[]); kind: string; roomId: string } => {
    const roomId = link.roomId;
    if (rand() < JUNK_SHARE) {
      // Issue 14's junk: well-shaped frames with made-up keys and signatures
      // (and a made-up door, or none) from a socket that knows only the room
      // id. The door refuses the hello, so nothing after it is relayed; the
      // closing '{' would end a connection that got in anyway.
      const junk = shapedHello(pairRoomId, '');
      const hasDoor = rand() < 0.5;
      const frames = [clientFrame(Buffer.from(encodeClientFrame({ t: 'hello', hello: junk.hello, ...(hasDoor ? { door: junk.door } : {}) })))];
      for (let seq = 1; seq <= 1 + int(4); seq++) frames.push(clientFrame(Buffer.from(encodeUpload(shapedUpload(pairRoomId, junk.fp, seq)))));
      frames.push(clientFrame(Buffer.from('{')));
      return { frames, kind: 'shape-valid-junk', roomId: pairRoomId };
    }
    // The fuzzer holds this room's link: its valid hello opens the door with the connection's nonce.
    const { hello, fp } = shapedHello(link, '');
    const validHelloText = (nonce: string) => encodeClientFrame({ t: 'hello', hello, door: doorOf(link, nonce, fp) });
    // A hello to mutate: its door signs no real nonce, so one that stays well-shaped is refused at the door.
    const helloText = validHelloText('');
    const validMsg = () => Buffer.from(encodeUpload(shapedUpload(roomId, fp, 1 + int(5))));
    const withHello = rand() < 0.5;
    // A message upload is binary (PROTOCOL.md §4.3): its envelope's JSON is what gets mutated, and framed again.
    const upload = withHello && rand() < 0.8 ? validMsg() : null;
    const envEnd = upload === null ? 0 : UPLOAD_HEADER_BYTES + upload.readUInt16BE(1);
    const wraps = upload === null ? Buffer.alloc(0) : upload.subarray(envEnd);
    const framed = (text: string, w: Uint8Array = wraps) => {
      const f = framedUpload(text, w);
      return Buffer.from(f.buffer, f.byteOffset, f.length);
    };
    // Raw JSON: a roster statement whose signature 'x' is deliberately not base64 of a signature.
    const base = upload !== null ? upload.subarray(UPLOAD_HEADER_BYTES, envEnd).toString() : withHello ? JSON.stringify({ t: 'roster', rc: { v: 1, room: roomId, sender: fp, n: 1, seq: 0, members: [fp], sig: 'x' } }) : helloText;
    /** A text as what it stands for: the envelope of an upload, framed; any other frame, itself. */
    const asPayload = (text: string) => (upload === null ? Buffer.from(text) : framed(text));
    const r = rand();
    let payload: Buffer;
    let opcode: number = upload === null ? OPCODE.TEXT : OPCODE.BINARY;
    let kind: string;
    if (r < 0.35) {
      kind = 'mutated-json';
      // Mutate until the result differs from the valid frame.
      let text = base;
      for (let i = 0; i < 4 && text === base; i++) text = JSON.stringify(mutateValue(JSON.parse(base) as Json));
      payload = asPayload(text);
    } else if (r < 0.5) {
      kind = 'truncated';
      const whole = asPayload(base);
      payload = whole.subarray(0, int(whole.length));
    } else if (r < 0.6) {
      kind = 'byte-flip';
      payload = Buffer.from(asPayload(base));
      for (let i = 0; i < 1 + int(4); i++) payload[int(payload.length)] = int(256);
    } else if (r < 0.64 && upload !== null) {
      kind = 'upload-framing';
      // The envelope intact, its framing not: a wrong length, or wraps missing, extra or cut.
      const pick2 = int(4);
      if (pick2 === 0) {
        payload = Buffer.from(upload);
        payload.writeUInt16BE(int(0x10000), 1);
      } else if (pick2 === 1) payload = framed(base, wraps.subarray(0, wraps.length - WRAP_BYTES));
      else if (pick2 === 2) payload = framed(base, Buffer.concat([wraps, randomBytes(WRAP_BYTES)]));
      else payload = framed(base, wraps.subarray(0, 1 + int(wraps.length - 1)));
    } else if (r < 0.68) {
      kind = 'garbage';
      opcode = OPCODE.TEXT;
      payload = Buffer.from(Array.from({ length: 1 + int(200) }, () => 32 + int(95)));
    } else if (r < 0.74) {
      kind = 'deep-nesting';
      opcode = OPCODE.TEXT;
      const depth = 1 + int(20_000);
      payload = Buffer.from(`${'['.repeat(depth)}${']'.repeat(rand() < 0.5 ? depth : int(depth))}`);
    } else if (r < 0.78) {
      kind = 'oversized';
      opcode = OPCODE.TEXT;
      payload = Buffer.alloc(MAX_FRAME_BYTES + 1 + int(MAX_FRAME_BYTES), 0x61);
    } else if (r < 0.83) {
      // The other opcode: a text frame sent as binary, or an upload sent as text.
      kind = 'wrong-opcode';
      opcode = upload === null ? OPCODE.BINARY : OPCODE.TEXT;
      payload = asPayload(base);
    } else if (r < 0.9) {
      kind = 'wrong-identity';
      const other = shapedHello(link, '').fp;
      opcode = OPCODE.BINARY;
      payload = withHello ? Buffer.from(encodeUpload(shapedUpload(roomId, other, 1))) : validMsg();
    } else if (r < 0.95) {
      kind = 'huge-numbers';
      payload = asPayload(base.replace(/"seq":\d+/, `"seq":${pick(['1e400', '-0', '9007199254740993', '1.5', '[1]'])}`).replace(/"v":1/, `"v":${pick(['1e400', '2', '"1"'])}`));
    } else {
      kind = 'second-hello';
      opcode = OPCODE.TEXT;
      payload = Buffer.from(helloText);
    }
    const fuzzed = clientFrame(payload, opcode);
    // A frame that is certainly refused: if the fuzzed one was accepted after all, this closes the connection.
    const end = clientFrame(Buffer.from('{'));
    const frames = withHello || kind === 'second-hello'
      ? (nonce: string) => [clientFrame(Buffer.from(validHelloText(nonce))), fuzzed, end]
      : [fuzzed, end];
    return { frames, kind, roomId };
  };
}

interface HttpAbuse {
  kind: string;
  /** Written one per `everyMs`. */
  chunks: Buffer[];
  everyMs: number;
  /** How long the abuser keeps the connection before cutting it itself. */
  holdMs: number;
}

/** One HTTP abuse: pipelined GETs never read, oversized headers or URLs, slowloris, garbage. */
function httpAbuse(rand: () => number, port: number, roomIds: readonly string[]): HttpAbuse {
  const int = (n: number) => Math.floor(rand() * n);
  const host = `Host: 127.0.0.1:${port}\r\n`;
  const paths = ['/', '/app.js', '/healthz', '/nope', ...roomIds.map((id) => `/logs/${id}`)];
  const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\n${host}${extra}\r\n`;
  const r = rand();
  if (r < 0.35) {
    const text = Array.from({ length: 300 }, () => get(paths[int(paths.length)] ?? '/')).join('');
    return { kind: 'pipelined-unread', chunks: [Buffer.from(text)], everyMs: 0, holdMs: 2_000 };
  }
  if (r < 0.5) return { kind: 'oversized-header', chunks: [Buffer.from(get('/', `X-Fill: ${'a'.repeat(8_000 + int(200_000))}\r\n`))], everyMs: 0, holdMs: 2_000 };
  if (r < 0.6) return { kind: 'many-headers', chunks: [Buffer.from(get('/', Array.from({ length: 500 + int(5_000) }, (_, i) => `X-${i}: y\r\n`).join('')))], everyMs: 0, holdMs: 2_000 };
  if (r < 0.75) return { kind: 'oversized-url', chunks: [Buffer.from(get(`/logs/${'u'.repeat(8_000 + int(200_000))}`))], everyMs: 0, holdMs: 2_000 };
  if (r < 0.9) {
    // Never finished: a byte every 100 ms.
    const text = `GET /logs/${roomIds[0] ?? ''} HTTP/1.1\r\n${host}X-Slow: ${'s'.repeat(400)}`;
    return { kind: 'slowloris', chunks: [...text].map((c) => Buffer.from(c)), everyMs: 100, holdMs: SLOWLORIS_HOLD_MS };
  }
  return { kind: 'garbage', chunks: [Buffer.from(Array.from({ length: 1 + int(4_000) }, () => int(256)))], everyMs: 0, holdMs: 2_000 };
}

/** Runs one abuse from `localAddress`, never reading; resolves whether the server closed the connection first. */
function runHttpAbuse(port: number, localAddress: string, abuse: HttpAbuse): Promise<'closed by server' | 'held'> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    socket.pause();
    let written = 0;
    const writeNext = () => {
      const chunk = abuse.chunks[written++];
      if (chunk !== undefined && !socket.destroyed) socket.write(chunk);
    };
    const timer = abuse.everyMs > 0 ? setInterval(writeNext, abuse.everyMs) : null;
    socket.once('connect', () => {
      if (timer === null) for (let i = 0; i < abuse.chunks.length; i++) writeNext();
    });
    const hold = setTimeout(() => finish('held'), abuse.holdMs);
    function finish(how: 'closed by server' | 'held') {
      if (timer !== null) clearInterval(timer);
      clearTimeout(hold);
      socket.destroy();
      resolve(how);
    }
    // A paused socket still reports the server's close or reset.
    socket.once('close', () => finish('closed by server'));
    socket.once('end', () => finish('closed by server'));
    socket.on('error', () => finish('closed by server'));
  });
}

const rssOf = async (server: RunningServer) => metricOf(await server.metrics(), 'process_resident_memory_bytes');

describe('fuzzing the relay', () => {
  let server: RunningServer;
  let alice: NodeMember;
  let bob: NodeMember;
  let pairRoomId: string;
  beforeAll(async () => {
    server = await startServer({ RATE_BURST_FRAMES: '100', LOG_MAX_ENTRIES: '200' });
    const secret = randomBytes(32);
    pairRoomId = (await deriveRoomKeys(secret)).roomId;
    alice = await joinRoom(server.origin, secret, 'Alice');
    bob = await joinRoom(server.origin, secret, 'Bob');
    await alice.until(() => alice.session.view().members.length === 2);
  });
  afterAll(async () => {
    await server.stop();
  });

  it(`survives ${FRAMES.toLocaleString('en')} malformed frames, closing each offender, while a pair keeps talking`, async () => {
    const links = Array.from({ length: ROOMS }, () => linkDoor());
    const rooms = links.map((l) => l.roomId);
    const doorRefusalsBefore = metricOf(await server.metrics(), 'hush_refusals_total{reason="door"}') || 0;
    const next = generator(prng(SEED));
    const outcomes = new Map<string, number>();
    const bad: { kind: string; close: RawClose }[] = [];
    const rss: number[] = [await rssOf(server)];
    let sent = 0;
    let chats = 0;
    let junkConnections = 0;
    let junkFrames = 0;
    const junkAdmitted: RawClose[] = [];

    // The well-behaved pair: a message every 100 ms, each must arrive.
    // At most what Bob's timeline holds (it keeps the newest MAX_TIMELINE_ENTRIES), so every ping can be counted there.
    const chat = setInterval(() => { if (chats < MAX_TIMELINE_ENTRIES - 50) void alice.session.post(`ping ${++chats}`); }, 100);
    const health: number[] = [];
    const sampler = setInterval(() => {
      void rssOf(server).then((v) => rss.push(v));
      const at = performance.now();
      void fetch(`${server.origin}/healthz`).then((r) => health.push(r.status === 200 ? performance.now() - at : Infinity), () => health.push(Infinity));
    }, 2_000);
    const started = performance.now();
    // HTTP abuse alongside the frames, until they are done.
    const httpOutcomes = new Map<string, number>();
    const abuseRand = prng(SEED + 1);
    let isFuzzing = true;
    const abusers = Promise.all(HTTP_ABUSERS.map(async (address) => {
      while (isFuzzing) {
        const abuse = httpAbuse(abuseRand, server.port, rooms);
        const key = `${abuse.kind}: ${await runHttpAbuse(server.port, address, abuse)}`;
        httpOutcomes.set(key, (httpOutcomes.get(key) ?? 0) + 1);
      }
    }));
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
        while (sent < FRAMES) {
          const i = sent++;
          const { frames, kind, roomId } = next(links[i % ROOMS] as LinkDoor, pairRoomId);
          const close = await rawSession(server.port, `/ws/${roomId}`, frames, ADDRESSES[(worker + i) % ADDRESSES.length] as string);
          const allowed = [1003, 1008, 1009, 4008].includes(close.code) ? close.reason !== '' : close.code === 1006;
          if (!allowed) bad.push({ kind, close });
          if (kind === 'shape-valid-junk' && Array.isArray(frames)) {
            junkConnections += 1;
            junkFrames += frames.length - 1;
            // Refused at the door: it got the challenge and nothing else, so it never was a member.
            if (close.code !== 1008 || close.reason !== 'hello does not prove the link' || close.texts !== 1) junkAdmitted.push(close);
          }
          // Group by code and the reason without the field path it names.
          const key = `${close.code} ${close.reason.split(': ').pop()?.replace(/"[^"]*"/g, '"…"') ?? ''}`;
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        }
      }));
    } finally {
      isFuzzing = false;
      clearInterval(chat);
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    await abusers;

    await bob.until(() => bob.messages().includes(`Alice: ping ${chats}`), 10_000);
    const received = bob.messages().filter((m) => m.startsWith('Alice: ping ')).length;
    const doorRefusals = metricOf(await server.metrics(), 'hush_refusals_total{reason="door"}') - doorRefusalsBefore;
    // Nothing of the junk reached the pair: no stranger in the roster, nothing blocked, no notice.
    const pairSaw = [alice, bob].map((m) => ({ members: m.session.view().members.length, blocked: m.session.view().blocked, notices: noticesOf(m).filter((t) => !t.includes('joined')) }));
    rss.push(await rssOf(server));
    const report = [...outcomes].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, n]) => `${String(n).padStart(6)}  ${k}`).join('\n');
    const httpReport = [...httpOutcomes].sort().map(([k, n]) => `${String(n).padStart(6)}  ${k}`).join('\n');
    console.log(`fuzz: ${FRAMES} frames in ${seconds.toFixed(1)} s; pair exchanged ${received}/${chats}; server RSS ${Math.round((rss[0] ?? 0) / 2 ** 20)} → peak ${Math.round(Math.max(...rss) / 2 ** 20)} MiB; /healthz worst ${Math.max(...health).toFixed(0)} ms of ${health.length}; shape-valid junk: ${junkFrames} frames on ${junkConnections} connections that knew only the pair's room id, ${doorRefusals} hellos refused at the door (all fuzz rooms), none relayed; pair kept ${received} of ${chats} messages\n${report}\nHTTP abuse:\n${httpReport}`);

    expect(bad).toEqual([]);
    expect(junkConnections).toBeGreaterThan(FRAMES * JUNK_SHARE * 0.8);
    expect(junkAdmitted).toEqual([]);
    expect(doorRefusals).toBeGreaterThanOrEqual(junkConnections);
    const untouched = { members: 2, blocked: { forged: 0, tampered: 0, replayed: 0, gaps: 0, excluded: 0 }, notices: [] };
    expect(pairSaw).toEqual([untouched, untouched]);
    expect(server.process.exitCode).toBeNull();
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    expect(received).toBe(chats);
    expect(chats).toBeGreaterThan(10);
    expect(Math.max(...rss)).toBeLessThan(256 * 2 ** 20);
    // Healthy throughout: every probe answered, none stalled behind the abuse.
    expect(Math.max(...health)).toBeLessThan(1_000);
    // uWS ends a request that never completes; nothing else may keep a connection that long.
    expect(httpOutcomes.get('slowloris: held') ?? 0).toBe(0);
    expect([...httpOutcomes.keys()].some((k) => k.startsWith('pipelined-unread'))).toBe(true);
  });
});
