/**
 * Fuzz (issue #5): 100,000 generated malformed frames at a running server,
 * each on its own connection, while a well-behaved pair keeps talking.
 * Zero crashes, every offender closed with a code (and a reason, unless uWS
 * itself dropped an invalid text frame), memory bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveRoomKeys, randomBytes } from '../../client/crypto';
import { MAX_FRAME_BYTES, encodeClientFrame } from '../../client/protocol';
import { metricOf, startServer, type RunningServer } from '../support/server';
import { joinRoom, type NodeMember } from '../support/node-client';
import { clientFrame, OPCODE, rawSession, type RawClose } from '../support/raw-ws';
import { shapedEnvelope, shapedHello } from '../support/shapes';

const FRAMES = 100_000;
const CONCURRENCY = 64;
const ROOMS = 16;
/** Source addresses to spread connections over, so ephemeral ports never run out. */
const ADDRESSES = Array.from({ length: 16 }, (_, i) => `127.0.1.${i + 1}`);
const SEED = 0x5eed;

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

  return (roomId: string): { frames: Buffer[]; kind: string } => {
    const { hello, fp } = shapedHello(roomId);
    const helloText = encodeClientFrame({ t: 'hello', hello });
    const validMsg = () => encodeClientFrame({ t: 'msg', env: shapedEnvelope(roomId, fp, 1 + int(5)) });
    const withHello = rand() < 0.5;
    // Raw JSON: a roster statement whose signature 'x' is deliberately not base64 of a signature.
    const base = withHello ? (rand() < 0.8 ? validMsg() : JSON.stringify({ t: 'roster', rc: { v: 1, room: roomId, sender: fp, n: 1, seq: 0, members: [fp], sig: 'x' } })) : helloText;
    const r = rand();
    let payload: Buffer;
    let opcode: number = OPCODE.TEXT;
    let kind: string;
    if (r < 0.35) {
      kind = 'mutated-json';
      // Mutate until the result differs from the valid frame.
      let text = base;
      for (let i = 0; i < 4 && text === base; i++) text = JSON.stringify(mutateValue(JSON.parse(base) as Json));
      payload = Buffer.from(text);
    } else if (r < 0.5) {
      kind = 'truncated';
      payload = Buffer.from(base.slice(0, int(base.length)));
    } else if (r < 0.6) {
      kind = 'byte-flip';
      payload = Buffer.from(base);
      for (let i = 0; i < 1 + int(4); i++) payload[int(payload.length)] = int(256);
    } else if (r < 0.68) {
      kind = 'garbage';
      payload = Buffer.from(Array.from({ length: 1 + int(200) }, () => 32 + int(95)));
    } else if (r < 0.74) {
      kind = 'deep-nesting';
      const depth = 1 + int(20_000);
      payload = Buffer.from(`${'['.repeat(depth)}${']'.repeat(rand() < 0.5 ? depth : int(depth))}`);
    } else if (r < 0.78) {
      kind = 'oversized';
      payload = Buffer.alloc(MAX_FRAME_BYTES + 1 + int(MAX_FRAME_BYTES), 0x61);
    } else if (r < 0.83) {
      kind = 'binary';
      opcode = OPCODE.BINARY;
      payload = Buffer.from(base);
    } else if (r < 0.9) {
      kind = 'wrong-identity';
      const other = shapedHello(roomId).fp;
      payload = Buffer.from(withHello ? encodeClientFrame({ t: 'msg', env: shapedEnvelope(roomId, other, 1) }) : validMsg());
    } else if (r < 0.95) {
      kind = 'huge-numbers';
      payload = Buffer.from(base.replace(/"seq":\d+/, `"seq":${pick(['1e400', '-0', '9007199254740993', '1.5', '[1]'])}`).replace(/"v":1/, `"v":${pick(['1e400', '2', '"1"'])}`));
    } else {
      kind = 'second-hello';
      payload = Buffer.from(helloText);
    }
    const frames = withHello || kind === 'second-hello' ? [clientFrame(Buffer.from(helloText))] : [];
    frames.push(clientFrame(payload, opcode));
    // A frame that is certainly refused: if the fuzzed one was accepted after all, this closes the connection.
    frames.push(clientFrame(Buffer.from('{')));
    return { frames, kind };
  };
}

const rssOf = async (server: RunningServer) => metricOf(await server.metrics(), 'process_resident_memory_bytes');

describe('fuzzing the relay', () => {
  let server: RunningServer;
  let alice: NodeMember;
  let bob: NodeMember;
  beforeAll(async () => {
    server = await startServer({ RATE_BURST_FRAMES: '100', LOG_MAX_ENTRIES: '200' });
    const secret = randomBytes(32);
    alice = await joinRoom(server.origin, secret, 'Alice');
    bob = await joinRoom(server.origin, secret, 'Bob');
    await alice.until(() => alice.session.view().members.length === 2);
  });
  afterAll(async () => {
    await server.stop();
  });

  it(`survives ${FRAMES.toLocaleString('en')} malformed frames, closing each offender, while a pair keeps talking`, async () => {
    const rooms = await Promise.all(Array.from({ length: ROOMS }, async () => (await deriveRoomKeys(randomBytes(32))).roomId));
    const next = generator(prng(SEED));
    const outcomes = new Map<string, number>();
    const bad: { kind: string; close: RawClose }[] = [];
    const rss: number[] = [await rssOf(server)];
    let sent = 0;
    let chats = 0;

    // The well-behaved pair: a message every 100 ms, each must arrive.
    const chat = setInterval(() => { void alice.session.post(`ping ${++chats}`); }, 100);
    const sampler = setInterval(() => { void rssOf(server).then((v) => rss.push(v)); }, 2_000);
    const started = performance.now();
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
        while (sent < FRAMES) {
          const i = sent++;
          const { frames, kind } = next(rooms[i % ROOMS] as string);
          const close = await rawSession(server.port, `/ws/${rooms[i % ROOMS]}`, frames, ADDRESSES[(worker + i) % ADDRESSES.length] as string);
          const allowed = [1003, 1008, 1009, 4008].includes(close.code) ? close.reason !== '' : close.code === 1006;
          if (!allowed) bad.push({ kind, close });
          // Group by code and the reason without the field path it names.
          const key = `${close.code} ${close.reason.split(': ').pop()?.replace(/"[^"]*"/g, '"…"') ?? ''}`;
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        }
      }));
    } finally {
      clearInterval(chat);
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;

    await bob.until(() => bob.messages().includes(`Alice: ping ${chats}`), 10_000);
    const received = bob.messages().filter((m) => m.startsWith('Alice: ping ')).length;
    rss.push(await rssOf(server));
    const report = [...outcomes].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, n]) => `${String(n).padStart(6)}  ${k}`).join('\n');
    console.log(`fuzz: ${FRAMES} frames in ${seconds.toFixed(1)} s; pair exchanged ${received}/${chats}; server RSS ${Math.round((rss[0] ?? 0) / 2 ** 20)} → peak ${Math.round(Math.max(...rss) / 2 ** 20)} MiB\n${report}`);

    expect(bad).toEqual([]);
    expect(server.process.exitCode).toBeNull();
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    expect(received).toBe(chats);
    expect(chats).toBeGreaterThan(10);
    expect(Math.max(...rss)).toBeLessThan(256 * 2 ** 20);
  });
});
