/**
 * The shape guards and signed layouts of client/protocol.ts, case by case:
 * each test here fails for a mutant that mutation testing (npm run
 * test:mutation) left alive in protocol.ts, and each names the check it holds.
 * The layouts are rebuilt from PROTOCOL.md §1 and §5 with a reference encoder
 * written here, so a changed label, part or order in the code fails them.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_DATE_MS,
  MAX_MEMBERS_PER_ROOM,
  continuitySignedBytes,
  decParts,
  envelopeHeader,
  envelopeSignedBytes,
  helloMacBytes,
  helloSignedBytes,
  parseClientFrame,
  parseEnvelope,
  parseRosterConfirm,
  rosterConfirmSignedBytes,
  toB64u,
  wrapHashInput,
  wrapLabel,
  type Envelope,
  type Hello,
  type RosterConfirm,
} from '../../client/protocol';
import { rand, shapedEnvelope } from '../support/shapes';

/** PROTOCOL.md §1: each part as a 4-byte big-endian length and its bytes; strings and numbers as UTF-8 text. */
function encRef(...parts: (string | number | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((p) => (p instanceof Uint8Array ? p : new TextEncoder().encode(String(p))));
  const out = new Uint8Array(bytes.reduce((n, b) => n + 4 + b.length, 0));
  const view = new DataView(out.buffer);
  let o = 0;
  for (const b of bytes) {
    view.setUint32(o, b.length);
    out.set(b, o + 4);
    o += 4 + b.length;
  }
  return out;
}

const room = rand(16);
const [a, b, c] = [rand(32), rand(32), rand(32)].sort();
const fpA = a ?? '';
const fpB = b ?? '';
const fpC = c ?? '';

function statement(over: Partial<RosterConfirm> = {}): Record<string, unknown> {
  return { v: 1, room, sender: fpA, n: 1, seq: 0, ts: 1, isLeaving: false, members: [fpA, fpB], heard: [0, 3], acks: [0, 1], sig: rand(64), ...over };
}

describe('signed layouts are the ones PROTOCOL.md §5 writes down', () => {
  const hello: Omit<Hello, 'sig' | 'mac'> = { v: 1, roomId: room, encSpki: rand(422), sigSpki: rand(91), nameCt: rand(93) };

  it('signs a hello as enc("v1/hello", v, roomId, encSpki, sigSpki, nameCt, "", "") without prev', () => {
    expect(helloSignedBytes(hello)).toEqual(encRef('v1/hello', 1, room, hello.encSpki, hello.sigSpki, hello.nameCt, '', ''));
  });

  it('signs prev.fp and prev.sig inside the hello, so a relay cannot swap the vouching signature', () => {
    const prev = { fp: fpB, sig: rand(64) };
    expect(helloSignedBytes({ ...hello, prev })).toEqual(encRef('v1/hello', 1, room, hello.encSpki, hello.sigSpki, hello.nameCt, prev.fp, prev.sig));
    expect(helloSignedBytes({ ...hello, prev: { ...prev, sig: rand(64) } })).not.toEqual(helloSignedBytes({ ...hello, prev }));
  });

  it('MACs enc("v1/hello-mac", helloSigned, sig)', () => {
    const sig = rand(64);
    expect(helloMacBytes({ ...hello, sig })).toEqual(encRef('v1/hello-mac', helloSignedBytes(hello), sig));
  });

  it('vouches for a new key with enc("v1/continue", roomId, prevFp, newFp)', () => {
    expect(continuitySignedBytes(room, fpA, fpB)).toEqual(encRef('v1/continue', room, fpA, fpB));
  });

  it('binds a wrap to room, message and recipient in its OAEP label and its hash', () => {
    expect(wrapLabel(room, 'm'.repeat(21), fpB)).toEqual(encRef('v1/wrap', room, 'm'.repeat(21), fpB));
    const wrap = rand(384);
    expect(wrapHashInput(room, 'm'.repeat(21), fpB, wrap)).toEqual(encRef('v1/wrap-hash', room, 'm'.repeat(21), fpB, wrap));
  });

  it('signs an envelope as enc("v1/msg", hdr, iv, ct, wrapHashes) with every header field in order', () => {
    const env: Envelope = shapedEnvelope(room, fpA, 7, 2);
    const hdr = encRef('v1/msg-hdr', 1, room, fpA, 7, env.msgId, env.ts, env.rosterHash, env.recipients.length, ...env.recipients);
    expect(envelopeHeader(env)).toEqual(hdr);
    expect(envelopeSignedBytes(env)).toEqual(encRef('v1/msg', hdr, env.iv, env.ct, env.wrapHashes));
  });

  it('signs a roster statement with members, then every heard, then every ack', () => {
    const rc = statement() as unknown as RosterConfirm;
    expect(rosterConfirmSignedBytes(rc)).toEqual(encRef('v1/roster-confirm', 1, room, fpA, 1, 0, 1, 0, 2, fpA, fpB, 0, 3, 0, 1));
    expect(rosterConfirmSignedBytes({ ...rc, isLeaving: true })).toEqual(encRef('v1/roster-confirm', 1, room, fpA, 1, 0, 1, 1, 2, fpA, fpB, 0, 3, 0, 1));
  });
});

describe('decParts splits the padded inner plaintext', () => {
  const two = encRef('ab', 'c');
  it.each([
    ['a length prefix cut short', two.subarray(0, 2)],
    ['a part longer than what is left', two.subarray(0, two.length - 1)],
    ['a length that points one byte past the end', (() => { const x = new Uint8Array(8); new DataView(x.buffer).setUint32(0, 5); return x; })()],
  ])('refuses %s', (_, data) => {
    expect(decParts(data, 2)).toBeInstanceOf(Error);
  });

  it('accepts parts that end exactly at the end, and parts followed by zero padding only', () => {
    expect(decParts(two, 2)).toEqual([new TextEncoder().encode('ab'), new TextEncoder().encode('c')]);
    const padded = new Uint8Array(two.length + 5);
    padded.set(two);
    expect(decParts(padded, 2)).not.toBeInstanceOf(Error);
    padded[padded.length - 1] = 1;
    expect(decParts(padded, 2)).toBeInstanceOf(Error);
  });
});

describe('roster statements: the shape the server checks and every client checks again (PROTOCOL.md §4.2)', () => {
  it('accepts a well-formed statement', () => {
    expect(parseRosterConfirm(statement())).not.toBeInstanceOf(Error);
  });

  it.each<[string, Partial<RosterConfirm> | Record<string, unknown>, RegExp]>([
    ['members without its sender', { members: [fpB, fpC] }, /must include the sender/],
    ['one heard entry too few', { heard: [0] }, /one entry per member/],
    ['one ack entry too many', { acks: [0, 1, 2] }, /one entry per member/],
    ['a heard entry that is not a counter', { heard: [0, 'x'] }, /rc\.heard\[1\]/],
    ['a negative ack', { acks: [0, -1] }, /rc\.acks\[1\]/],
    ['heard as an object', { heard: { 0: 0, 1: 3 } }, /rc\.heard: expected a list of counters/],
    ['more counters than a room has members', { heard: Array.from({ length: MAX_MEMBERS_PER_ROOM + 1 }, () => 0) }, /rc\.heard: expected a list of counters/],
    ['isLeaving as a number', { isLeaving: 1 }, /rc\.isLeaving: expected true or false/],
    ['isLeaving as a string', { isLeaving: 'false' }, /rc\.isLeaving: expected true or false/],
  ])('refuses %s', (_, over, message) => {
    const parsed = parseRosterConfirm(statement(over as Partial<RosterConfirm>));
    expect(parsed).toBeInstanceOf(Error);
    expect(String(parsed)).toMatch(message);
  });

  it('accepts exactly as many counters as a full room has members', () => {
    const members = Array.from({ length: MAX_MEMBERS_PER_ROOM }, () => rand(32)).sort();
    const full = statement({ sender: members[0] ?? '', members, heard: members.map(() => 0), acks: members.map(() => 0) });
    expect(parseRosterConfirm(full)).not.toBeInstanceOf(Error);
  });
});

describe('envelope fields at their limits', () => {
  const env = (over: Record<string, unknown>) => ({ ...shapedEnvelope(room, fpA, 1), ...over });

  it.each([
    ['ts = MAX_DATE_MS, the last instant a Date holds', { ts: MAX_DATE_MS }, true],
    ['ts one past it', { ts: MAX_DATE_MS + 1 }, false],
    ['seq = 2^53 − 1', { seq: Number.MAX_SAFE_INTEGER }, true],
    ['ct of one bucket and a tag (272 bytes)', { ct: rand(272) }, true],
    ['ct of 256 bytes (a bucket without room for the tag)', { ct: rand(256) }, false],
    ['a msgId one character short', { msgId: 'm'.repeat(20) }, false],
    ['a msgId with a dot', { msgId: `${'m'.repeat(20)}.` }, false],
  ])('%s: accepted = %s', (_, over, isAccepted) => {
    expect(parseEnvelope(env(over)) instanceof Error).toBe(!isAccepted);
  });
});

describe('frames that are not plain objects fail wherever they are nested', () => {
  const upload = () => ({ t: 'msg', env: shapedEnvelope(room, fpA, 1), wraps: { [fpA]: rand(384) } });

  it.each<[string, unknown]>([
    ['an array', []],
    ['null', null],
    ['a number', 7],
    ['an object with a prototype other than Object', Object.assign(Object.create({ inherited: true }) as object, upload())],
    ['an envelope that is an array', { ...upload(), env: [] }],
    ['an envelope that is null', { ...upload(), env: null }],
    ['wraps that are an array', { ...upload(), wraps: [rand(384)] }],
  ])('refuses %s', (_, frame) => {
    expect(parseClientFrame(frame)).toBeInstanceOf(Error);
  });

  it('accepts the upload itself, so the refusals above are about their one change', () => {
    expect(parseClientFrame(upload())).not.toBeInstanceOf(Error);
  });
});

describe('the door in a hello frame has exactly its two fields at their sizes', () => {
  const helloFrame = (door: unknown) => ({
    t: 'hello',
    hello: { v: 1, roomId: room, encSpki: rand(422), sigSpki: rand(91), nameCt: rand(93), sig: rand(64), mac: rand(32) },
    door,
  });

  it('accepts { pub: 32 B, sig: 64 B }', () => {
    expect(parseClientFrame(helloFrame({ pub: rand(32), sig: rand(64) }))).not.toBeInstanceOf(Error);
  });

  it.each<[string, unknown]>([
    ['no sig', { pub: rand(32) }],
    ['a 31-byte key', { pub: rand(31), sig: rand(64) }],
    ['a 63-byte signature', { pub: rand(32), sig: rand(63) }],
    ['an extra field', { pub: rand(32), sig: rand(64), x: 1 }],
  ])('refuses a door with %s', (_, door) => {
    expect(parseClientFrame(helloFrame(door))).toBeInstanceOf(Error);
  });
});

describe('toB64u writes exactly the bytes it is given', () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 30, 32, 33])('writes %i bytes as ⌈4n/3⌉ characters that decode back', (n) => {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
    const text = toB64u(bytes);
    expect(text.length).toBe(Math.ceil((4 * n) / 3));
    expect(new Uint8Array(Buffer.from(text, 'base64url'))).toEqual(bytes);
  });
});
