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
  NONCE_BYTES,
  UPLOAD_HEADER_BYTES,
  UPLOAD_KIND,
  WRAP_BYTES,
  WRAP_HASH_BYTES,
  checkB64u,
  continuitySignedBytes,
  decParts,
  decodeClientFrame,
  decodeServerFrame,
  decodeUpload,
  encodeUpload,
  enc,
  fromB64u,
  envelopeHeader,
  envelopeSignedBytes,
  helloMacBytes,
  helloSignedBytes,
  MOVE_PREFIX,
  moveBody,
  parseClientFrame,
  packHello,
  parseEnvelope,
  parseHello,
  parseMoveBody,
  parseRoomStatement,
  parseRosterConfirm,
  parseServerFrame,
  roomStatementSignedBytes,
  rosterConfirmSignedBytes,
  toB64u,
  unpackHello,
  uploadWraps,
  wrapHashInput,
  wrapHashOf,
  wrapLabel,
  type Envelope,
  type Hello,
  type RoomStatement,
  type RosterConfirm,
} from '../../client/protocol';
import { framedUpload, rand, shapedEnvelope, shapedHello, shapedUpload } from '../support/shapes';

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

/** An upload of `env`'s JSON (or of `json` as it is), framed by hand from PROTOCOL.md §4.3 (see framedUpload). */
const upload = (env: unknown, wraps: Uint8Array, json = JSON.stringify(env)): Uint8Array => framedUpload(json, wraps);
const rawWraps = (n: number) => crypto.getRandomValues(new Uint8Array(n * WRAP_BYTES));

describe('frames that are not plain objects fail wherever they are nested', () => {
  const env = () => shapedEnvelope(room, fpA, 1);

  it.each<[string, unknown]>([
    ['an array', []],
    ['null', null],
    ['a number', 7],
    ['an object with a prototype other than Object', Object.assign(Object.create({ inherited: true }) as object, { t: 'roster', rc: statement() })],
  ])('refuses %s as a text frame', (_, frame) => {
    expect(parseClientFrame(frame)).toBeInstanceOf(Error);
  });

  it.each<[string, unknown]>([
    ['an envelope that is an array', []],
    ['an envelope that is null', null],
    ['an envelope that is a string', 'env'],
  ])('refuses an upload with %s', (_, value) => {
    expect(decodeUpload(upload(value, rawWraps(1)))).toBeInstanceOf(Error);
  });

  it('accepts the upload and the statement themselves, so the refusals above are about their one change', () => {
    expect(parseClientFrame({ t: 'roster', rc: statement() })).not.toBeInstanceOf(Error);
    const e = env();
    const wraps = rawWraps(1);
    expect(decodeUpload(upload(e, wraps))).toEqual({ env: e, wraps });
  });
});

describe('a message upload is the binary frame of PROTOCOL.md §4.3', () => {
  const env = () => shapedEnvelope(room, fpA, 1, 2);

  it('is written by encodeUpload byte for byte as the document lays it out, with the wraps in recipient order', () => {
    const e = env();
    const raw = e.recipients.map(() => rawWraps(1));
    const wraps = Object.fromEntries(e.recipients.map((r, i) => [r, toB64u(raw[i] as Uint8Array)]));
    const frame = encodeUpload({ env: e, wraps });
    expect(frame).toEqual(upload(e, new Uint8Array(raw.flatMap((w) => [...w]))));
    const back = decodeUpload(frame);
    expect(back instanceof Error ? back : uploadWraps(back)).toEqual(wraps);
    expect(UPLOAD_KIND).toBe(3);
    expect(UPLOAD_HEADER_BYTES).toBe(3);
  });

  it('will not write an upload missing a recipient\'s wrap', () => {
    const e = env();
    const wraps = Object.fromEntries(e.recipients.slice(1).map((r) => [r, rand(WRAP_BYTES)]));
    expect(() => encodeUpload({ env: e, wraps })).toThrow('every recipient needs its wrap');
  });

  it.each<[string, () => Uint8Array, RegExp]>([
    ['empty', () => new Uint8Array(0), /^upload: not a message upload$/],
    ['of another kind', () => { const f = upload(env(), rawWraps(3)); f[0] = 2; return f; }, /^upload: not a message upload$/],
    ['cut inside its header', () => upload(env(), rawWraps(3)).subarray(0, 2), /^upload: not a message upload$/],
    ['with an envelope length past its end', () => { const f = upload(env(), rawWraps(3)); f[1] = 0xff; f[2] = 0xff; return f; }, /^upload: the envelope runs past the end of the frame$/],
    ['with an envelope that is not UTF-8', () => upload(null, rawWraps(3), '\u0000').map((x, i) => (i === 3 ? 0xff : x)), /^upload: the envelope is not UTF-8$/],
    ['with an envelope that is not JSON', () => upload(null, rawWraps(3), '{"v":'), /^upload: the envelope is not valid JSON$/],
    ['with a string seq', () => upload({ ...env(), seq: '1' }, rawWraps(3)), /^upload\.env\.seq: expected an integer/],
    ['whose sig is a number', () => upload({ ...env(), sig: 1 }, rawWraps(3)), /^upload\.env\.sig: expected a string$/],
    ['whose msgId is a number of 21 digits', () => upload({ ...env(), msgId: 123456789012345678901 }, rawWraps(3)), /^upload\.env\.msgId: not a message id$/],
    ['whose msgId is a list of one id', () => upload({ ...env(), msgId: ['m'.repeat(21)] }, rawWraps(3)), /^upload\.env\.msgId: not a message id$/],
    ['missing a wrap', () => upload(env(), rawWraps(2)), /^upload: must hold exactly one wrap per recipient$/],
    ['with a wrap too many', () => upload(env(), rawWraps(4)), /^upload: must hold exactly one wrap per recipient$/],
    ['with its last wrap a byte short', () => upload(env(), rawWraps(3).subarray(1)), /^upload: must hold exactly one wrap per recipient$/],
    ['with a byte after its last wrap', () => upload(env(), new Uint8Array([...rawWraps(3), 0])), /^upload: must hold exactly one wrap per recipient$/],
  ])('refuses an upload %s, and says why', (_, frame, reason) => {
    const parsed = decodeUpload(frame());
    expect(parsed).toBeInstanceOf(Error);
    expect((parsed as Error).message).toMatch(reason);
  });

  it('names only the start of an unexpected envelope field, however long', () => {
    const f = upload({ ...env(), [`${'k'.repeat(40)}`]: 1 }, rawWraps(3));
    expect((decodeUpload(f) as Error).message).toBe(`upload.env: unexpected field "${'k'.repeat(32)}"`);
  });

  it('refuses a message sent as a text frame, in the shape an upload had before', () => {
    const text = JSON.parse(JSON.stringify(shapedUpload(room, fpA, 1, 2))) as unknown;
    expect((parseClientFrame(text) as Error).message).toBe('frame.t: a message is uploaded as a binary frame');
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

describe('room statements: the shape (PROTOCOL.md §4.2), the signed layout (§5.7)', () => {
  const OFF = { on: false, ver: 0, by: '' };
  function roomStatement(over: Record<string, unknown> = {}): Record<string, unknown> {
    return { v: 1, room, sender: fpA, n: 1, lobby: { on: true, ver: 2, by: fpB }, lock: OFF, admitted: [fpA, fpB], turnedAway: [fpC], removed: [], sig: rand(64), ...over };
  }

  it('accepts a well-formed statement, alone and in a frame either way, and keeps every field', () => {
    const st = roomStatement();
    expect(parseRoomStatement(JSON.parse(JSON.stringify(st)))).toEqual(st);
    expect(parseClientFrame({ t: 'state', st })).toEqual({ t: 'state', st });
    expect(parseServerFrame({ t: 'state', st })).toEqual({ t: 'state', st });
    const full = Array.from({ length: MAX_MEMBERS_PER_ROOM }, () => rand(32)).sort();
    expect(parseRoomStatement(roomStatement({ admitted: full, turnedAway: full, removed: full }))).not.toBeInstanceOf(Error);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['version 2', { v: 2 }, /st\.v: expected 1/],
    ['n of 0', { n: 0 }, /st\.n: expected an integer/],
    ['a room id a byte short', { room: rand(15) }, /st\.room: wrong length/],
    ['a sender that is not a fingerprint', { sender: rand(31) }, /st\.sender: wrong length/],
    ['a missing lock', { lock: undefined }, /st\.lock: missing/],
    ['a lobby as a boolean', { lobby: true }, /st\.lobby: expected an object/],
    ['a switch with an extra key', { lobby: { on: true, ver: 2, by: fpB, at: 1 } }, /st\.lobby: unexpected field "at"/],
    ['a switch without its author', { lobby: { on: true, ver: 2 } }, /st\.lobby\.by: missing/],
    ['a switch whose on is a number', { lobby: { on: 1, ver: 2, by: fpB } }, /st\.lobby\.on: expected true or false/],
    ['a switch of a negative version', { lock: { on: false, ver: -1, by: fpB } }, /st\.lock\.ver: expected an integer/],
    ['a switch whose author is not a fingerprint', { lock: { on: true, ver: 1, by: 'x' } }, /st\.lock\.by: wrong length/],
    ['a later version by nobody', { lock: { on: true, ver: 1, by: '' } }, /st\.lock: version 0 is off and by nobody/],
    ['version 0 with an author', { lock: { on: false, ver: 0, by: fpB } }, /st\.lock: version 0 is off and by nobody/],
    ['version 0 switched on', { lobby: { on: true, ver: 0, by: '' } }, /st\.lobby: version 0 is off and by nobody/],
    ['admitted out of order', { admitted: [fpB, fpA] }, /st\.admitted: not sorted and unique/],
    ['a fingerprint turned away twice', { turnedAway: [fpC, fpC] }, /st\.turnedAway: not sorted and unique/],
    ['a removed entry that is not a fingerprint', { removed: ['x'] }, /st\.removed\[0\]: wrong length/],
    ['removed as an object', { removed: {} }, /st\.removed: expected 1 to 50 fingerprints/],
    ['more admitted than a room holds', { admitted: Array.from({ length: MAX_MEMBERS_PER_ROOM + 1 }, () => rand(32)).sort() }, /st\.admitted: expected 1 to 50/],
    ['an extra field', { at: 1 }, /st: unexpected field "at"/],
  ])('refuses %s, saying where', (_, over, message) => {
    const raw = roomStatement(over);
    for (const [k, v] of Object.entries(raw)) if (v === undefined) delete raw[k];
    const parsed = parseRoomStatement(raw);
    expect(parsed).toBeInstanceOf(Error);
    expect(String(parsed)).toMatch(message);
    expect(parseClientFrame({ t: 'state', st: raw })).toBeInstanceOf(Error);
  });

  it('accepts a switch at version 0 off and by nobody, and at a later version either way', () => {
    for (const sw of [OFF, { on: false, ver: 3, by: fpC }, { on: true, ver: 1, by: fpA }]) {
      expect(parseRoomStatement(roomStatement({ lock: sw }))).not.toBeInstanceOf(Error);
    }
  });

  it('signs enc("v1/room-state", v, room, sender, n, lobby on/ver/by, lock on/ver/by, then each list after its count)', () => {
    const st = roomStatement() as unknown as RoomStatement;
    expect(roomStatementSignedBytes(st)).toEqual(encRef('v1/room-state', 1, room, fpA, 1, 1, 2, fpB, 0, 0, '', 2, fpA, fpB, 1, fpC, 0));
    const locked = { ...st, lock: { on: true, ver: 5, by: fpC }, removed: [fpB] };
    expect(roomStatementSignedBytes(locked)).toEqual(encRef('v1/room-state', 1, room, fpA, 1, 1, 2, fpB, 1, 5, fpC, 2, fpA, fpB, 1, fpC, 1, fpB));
  });

  it('signs different bytes when a fingerprint moves from one list to the next', () => {
    const st = roomStatement() as unknown as RoomStatement;
    const moved = { ...st, turnedAway: [], removed: [fpC] };
    expect(roomStatementSignedBytes(moved)).not.toEqual(roomStatementSignedBytes(st));
  });
});

describe('moves: the body that carries a new link (PROTOCOL.md §5.8)', () => {
  const secret = toB64u(new Uint8Array(32).fill(7));

  it('is U+0000, "v1/move|", the secret, "|", the removed fingerprint, and parses back', () => {
    expect(MOVE_PREFIX).toBe('\u0000v1/move|');
    expect(moveBody(secret, fpB)).toBe(`\u0000v1/move|${secret}|${fpB}`);
    expect(parseMoveBody(moveBody(secret, fpB))).toEqual({ secret, removed: fpB });
  });

  it.each([
    ['a chat message', 'hello', /not a move/],
    ['the prefix without its U+0000', `v1/move|${secret}|${fpB}`, /not a move/],
    ['a third part', `${MOVE_PREFIX}${secret}|${fpB}|x`, /malformed/],
    ['no removed fingerprint', `${MOVE_PREFIX}${secret}`, /malformed/],
    ['an empty removed fingerprint', `${MOVE_PREFIX}${secret}|`, /malformed/],
    ['a secret a character short', `${MOVE_PREFIX}${secret.slice(1)}|${fpB}`, /malformed/],
    ['a removed fingerprint a character short', `${MOVE_PREFIX}${secret}|${fpB.slice(1)}`, /malformed/],
    ['a secret that is not canonical base64url', `${MOVE_PREFIX}${secret.slice(0, -1)}B|${fpB}`, /malformed/],
  ])('refuses %s', (_, body, message) => {
    const parsed = parseMoveBody(body);
    expect(parsed).toBeInstanceOf(Error);
    expect(String(parsed)).toMatch(message);
  });
});

describe('base64url and the inner encoding: the reasons, and the edges', () => {
  it.each([
    ['a character outside the alphabet', 'AA+A', /^not base64url$/],
    ['an impossible length', 'AAAAA', /^not base64url$/],
    ['non-zero bits past the last byte', 'AB', /^not canonical base64url$/],
  ])('refuses %s, and says which', (_, text, reason) => {
    expect(String(checkB64u(text))).toMatch(new RegExp(`Error: ${reason.source.slice(1)}`));
    expect(String(fromB64u(text))).toMatch(new RegExp(`Error: ${reason.source.slice(1)}`));
  });

  it('splits off an empty last part that ends exactly at the end of the data', () => {
    expect(decParts(enc('ab', ''), 2)).toEqual([new TextEncoder().encode('ab'), new Uint8Array(0)]);
    expect(decParts(enc(''), 1)).toEqual([new Uint8Array(0)]);
  });

  it('says why it refuses: truncated, or padding that is not zero', () => {
    expect(String(decParts(enc('ab').subarray(0, 3), 1))).toBe('Error: truncated encoding');
    expect(String(decParts(enc('ab').subarray(0, 5), 1))).toBe('Error: truncated encoding');
    expect(String(decParts(Uint8Array.of(...enc('ab'), 0, 1), 1))).toBe('Error: non-zero padding');
  });

  it('finds a recipient’s wrap hash in the signed list, and none for someone who is not a recipient', () => {
    const env = shapedEnvelope(room, fpA, 1, 2);
    const all = fromB64u(env.wrapHashes) as Uint8Array;
    env.recipients.forEach((r, i) => expect(wrapHashOf(env, r)).toEqual(all.subarray(i * WRAP_HASH_BYTES, (i + 1) * WRAP_HASH_BYTES)));
    expect(wrapHashOf(env, rand(32))).toBeNull();
  });
});

describe('frames: what each refusal says (the server closes with it as the reason)', () => {
  it.each<[string, unknown, RegExp]>([
    ['not an object', 'hello', /^frame: expected an object$/],
    ['null', null, /^frame: expected an object$/],
    ['undefined', undefined, /^frame: expected an object$/],
    ['of an unknown type', { t: 'welcome', members: [] }, /^frame\.t: unknown frame type$/],
    ['a hello without fields', { t: 'hello', hello: {} }, /^frame\.hello\.v: missing$/],
    ['a roster statement without fields', { t: 'roster', rc: {} }, /^frame\.rc\.v: missing$/],
    ['a room statement without fields', { t: 'state', st: {} }, /^frame\.st\.v: missing$/],
  ])('refuses a client frame that is %s', (_, raw, reason) => {
    const parsed = parseClientFrame(raw);
    expect(parsed).toBeInstanceOf(Error);
    expect((parsed as Error).message).toMatch(reason);
  });

  it('accepts a roster statement from a client', () => {
    const rc = statement();
    expect(parseClientFrame({ t: 'roster', rc })).toEqual({ t: 'roster', rc });
  });

  it('turns text that is not JSON into an error, either way, and JSON into a checked frame', () => {
    expect(String(decodeClientFrame('{"t":'))).toBe('Error: not valid JSON');
    expect(String(decodeServerFrame('nope'))).toBe('Error: not valid JSON');
    const rc = statement();
    expect(decodeClientFrame(JSON.stringify({ t: 'roster', rc }))).toEqual({ t: 'roster', rc });
    expect(decodeServerFrame(JSON.stringify({ t: 'roster', rc }))).toEqual({ t: 'roster', rc });
  });
});

describe('server frames: each type, and a welcome’s list of hellos', () => {
  const hellos = (n: number) => Array.from({ length: n }, () => shapedHello(room, '').hello);

  it('accepts a challenge, a welcome, a join and a leave', () => {
    const nonce = rand(NONCE_BYTES);
    expect(parseServerFrame({ t: 'challenge', nonce })).toEqual({ t: 'challenge', nonce });
    const members = hellos(2);
    expect(parseServerFrame({ t: 'welcome', members })).toEqual({ t: 'welcome', members });
    expect(parseServerFrame({ t: 'welcome', members: [] })).toEqual({ t: 'welcome', members: [] });
    expect(parseServerFrame({ t: 'join', hello: members[0] })).toEqual({ t: 'join', hello: members[0] });
    expect(parseServerFrame({ t: 'leave', fp: fpA })).toEqual({ t: 'leave', fp: fpA });
  });

  it('accepts a welcome of a full room, and refuses one of more', () => {
    expect(parseServerFrame({ t: 'welcome', members: hellos(MAX_MEMBERS_PER_ROOM) })).not.toBeInstanceOf(Error);
    expect((parseServerFrame({ t: 'welcome', members: hellos(MAX_MEMBERS_PER_ROOM + 1) }) as Error).message).toBe('frame.members: expected a list of hellos');
  });

  it.each<[string, unknown, RegExp]>([
    ['null', null, /^frame: expected an object$/],
    ['a list', [], /^frame: expected an object$/],
    ['of a type only clients send', { t: 'hello', hello: {} }, /^frame\.t: unknown frame type$/],
    ['a challenge with a short nonce', { t: 'challenge', nonce: rand(16) }, /^frame\.nonce: wrong length$/],
    ['a welcome whose members are an object', { t: 'welcome', members: {} }, /^frame\.members: expected a list of hellos$/],
    ['a welcome whose members are an object with a length', { t: 'welcome', members: { length: 0 } }, /^frame\.members: expected a list of hellos$/],
    ['a welcome with one hello that is not one', { t: 'welcome', members: [shapedHello(room, '').hello, { v: 1 }] }, /^frame\.members\[1\]\.roomId: missing$/],
  ])('refuses a server frame that is %s', (_, raw, reason) => {
    const parsed = parseServerFrame(raw);
    expect(parsed).toBeInstanceOf(Error);
    expect((parsed as Error).message).toMatch(reason);
  });

  it('names a hello parsed on its own “hello”', () => {
    expect((parseHello({}) as Error).message).toBe('hello.v: missing');
  });
});

describe('a hello packed as the relay keeps it (PROTOCOL.md §8.4)', () => {
  const { hello } = shapedHello(room, '');
  const withPrev: Hello = { ...hello, prev: { fp: fpB, sig: rand(64) } };

  it.each([
    ['without prev', hello, 702],
    ['with prev', withPrev, 798],
  ])('packs a hello %s into its fields’ bytes and back into the same JSON', (_, h, size) => {
    const packed = packHello(h);
    expect(packed.length).toBe(size);
    expect(JSON.stringify(unpackHello(room, packed))).toBe(JSON.stringify(parseHello(JSON.parse(JSON.stringify(h)))));
  });

  it('keeps the fields in the order of the hello’s JSON, nothing else', () => {
    const packed = packHello(withPrev);
    const fields = [withPrev.encSpki, withPrev.sigSpki, withPrev.nameCt, fpB, withPrev.prev?.sig ?? '', withPrev.sig, withPrev.mac];
    expect(packed).toEqual(Uint8Array.from(fields.flatMap((f) => [...(fromB64u(f) as Uint8Array)])));
  });
});
