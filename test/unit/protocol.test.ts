import { describe, expect, it } from 'vitest';
import {
  FP_BYTES,
  MAX_CT_BYTES,
  MAX_FRAME_BYTES,
  MAX_MEMBERS_PER_ROOM,
  ROOM_ID_BYTES,
  WRAP_BYTES,
  WRAP_HASH_BYTES,
  checkB64u,
  decParts,
  decodeUpload,
  encodeUpload,
  enc,
  fromB64u,
  parseClientFrame,
  parseEnvelope,
  parseSecretFragment,
  parseServerFrame,
  scanEnvelope,
  toB64u,
  uploadWraps,
  type Envelope,
} from '../../client/protocol';
import { rand, respacedUpload, shapedEnvelope, shapedUpload, uploadParts } from '../support/shapes';

/** A well-formed envelope of random bytes: right shape, no valid crypto. */
const shaped = (members = 3, ctBytes = 272): Envelope => shapedEnvelope(rand(ROOM_ID_BYTES), rand(FP_BYTES), 1, members - 1, ctBytes);
/** A well-formed upload (envelope and wraps) of random bytes for a room of 3. */
const upload = () => shapedUpload(rand(ROOM_ID_BYTES), rand(FP_BYTES), 1, 2);

describe('base64url', () => {
  it.each([0, 1, 2, 3, 4, 31, 32, 33, 384])('round-trips %i bytes', (n) => {
    const bytes = crypto.getRandomValues(new Uint8Array(n));
    expect(fromB64u(toB64u(bytes))).toEqual(bytes);
    expect(toB64u(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
  });

  it.each([
    ['padding', 'AA=='],
    ['standard alphabet', 'a+/b'],
    ['impossible length', 'AAAAA'],
    ['non-zero trailing bits', 'AB'],
    ['whitespace', 'AA AA'],
  ])('rejects %s', (_what, text) => {
    expect(fromB64u(text)).toBeInstanceOf(Error);
  });
});

describe('canonical encoding', () => {
  it('is length-prefixed, so moving a boundary changes the bytes', () => {
    expect(enc('ab', 'c')).not.toEqual(enc('a', 'bc'));
    expect([...enc('ab', 7)]).toEqual([0, 0, 0, 2, 97, 98, 0, 0, 0, 1, 55]);
  });

  it('writes each part as TextEncoder does, whatever it holds: ASCII, other scripts, emoji, lone surrogates, numbers, bytes', () => {
    // The definition: 4-byte big-endian length, then the part's UTF-8 (a number in decimal).
    const reference = (...parts: (string | number | Uint8Array)[]): Uint8Array => {
      const bytes = parts.map((p) => (p instanceof Uint8Array ? p : new TextEncoder().encode(String(p))));
      return new Uint8Array(bytes.flatMap((b) => [b.length >>> 24, (b.length >>> 16) & 255, (b.length >>> 8) & 255, b.length & 255, ...b]));
    };
    const samples: (string | number | Uint8Array)[] = [
      '', 'v1/msg-hdr', 'ABCxyz-_09', 'é', 'aé', 'éa', 'Ωμέγα', '中文 text', '😀', 'a😀b', '\ud83d', 'x\ude00y', '\ud83d\ud83d\ude00', '\u0000\u007f\u0080',
      'x'.repeat(5_000), `${'a'.repeat(300)}😀${'b'.repeat(300)}`, 0, 7, 1_700_000_000_000, 2 ** 53 - 1, -1.5, new Uint8Array(0), new Uint8Array([0, 255, 128]),
    ];
    for (const a of samples) {
      expect(enc(a)).toEqual(reference(a));
      for (const b of samples.slice(0, 14)) expect(enc(a, b, a)).toEqual(reference(a, b, a));
    }
    // The result is exactly its bytes, nothing past them, in a buffer of its own.
    const out = enc('é', 'a😀', 3);
    expect(out.byteLength).toBe(out.buffer.byteLength);
  });

  it('splits parts back off and accepts only zero padding after them', () => {
    const data = new Uint8Array(64);
    data.set(enc('v1/inner', 'x', 3));
    expect(decParts(data, 3)).toEqual([new TextEncoder().encode('v1/inner'), new TextEncoder().encode('x'), new TextEncoder().encode('3')]);
    data[63] = 1;
    expect(decParts(data, 3)).toBeInstanceOf(Error);
    expect(decParts(enc('a'), 2)).toBeInstanceOf(Error);
  });
});

describe('parseEnvelope', () => {
  it('accepts a well-formed envelope and round-trips through JSON', () => {
    const env = shaped();
    expect(parseEnvelope(JSON.parse(JSON.stringify(env)))).toEqual(env);
  });

  type Mutation = [string, (e: Record<string, unknown>) => void, RegExp];
  const mutations: Mutation[] = [
    ['an unknown version', (e) => { e.v = 2; }, /env\.v: expected 1/],
    ['a missing field', (e) => { delete e.sig; }, /env\.sig: missing/],
    ['an unknown field', (e) => { e.extra = 1; }, /unexpected field "extra"/],
    ['a __proto__ field', (e) => { Object.defineProperty(e, '__proto__', { value: {}, enumerable: true }); }, /unexpected field "__proto__"/],
    ['seq of 0', (e) => { e.seq = 0; }, /env\.seq/],
    ['seq of 2^53', (e) => { e.seq = 2 ** 53; }, /env\.seq/],
    ['a fractional seq', (e) => { e.seq = 1.5; }, /env\.seq/],
    ['a string seq', (e) => { e.seq = '1'; }, /env\.seq/],
    ['a negative ts', (e) => { e.ts = -1; }, /env\.ts/],
    ['a bad msgId', (e) => { e.msgId = 'short'; }, /env\.msgId/],
    ['a short iv', (e) => { e.iv = rand(8); }, /env\.iv: wrong length/],
    ['a non-canonical sig', (e) => { e.sig = `${(e.sig as string).slice(0, -1)}B`; }, /env\.sig: not canonical/],
    ['an oversized ct', (e) => { e.ct = rand(MAX_CT_BYTES + 3); }, /env\.ct: wrong length/],
    ['a short sig', (e) => { e.sig = rand(63); }, /env\.sig: wrong length/],
    ['unsorted recipients', (e) => { (e.recipients as string[]).reverse(); }, /not sorted and unique/],
    ['duplicate recipients', (e) => { const r = e.recipients as string[]; r[1] = r[0] as string; }, /not sorted and unique/],
    ['no recipients', (e) => { e.recipients = []; }, /env\.recipients: expected 1 to/],
    ['a sender outside the recipients', (e) => { e.sender = rand(FP_BYTES); }, /must include the sender/],
    ['one hash fewer than recipients', (e) => { e.wrapHashes = rand(2 * WRAP_HASH_BYTES); }, /one hash per recipient/],
    ['one hash more than recipients', (e) => { e.wrapHashes = rand(4 * WRAP_HASH_BYTES); }, /one hash per recipient/],
    ['a hash list a byte long', (e) => { e.wrapHashes = rand(3 * WRAP_HASH_BYTES + 1); }, /one hash per recipient/],
    ['no hashes', (e) => { e.wrapHashes = ''; }, /env\.wrapHashes: wrong length/],
    ['the wraps themselves', (e) => { e.wraps = {}; }, /unexpected field "wraps"/],
  ];

  it.each(mutations)('rejects %s, with a reason', (_what, mutate, reason) => {
    const env = JSON.parse(JSON.stringify(shaped())) as Record<string, unknown>;
    mutate(env);
    const result = parseEnvelope(env);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(reason);
  });

  it.each(mutations)('rejects %s on its fast path too (scanEnvelope)', (_what, mutate) => {
    const env = JSON.parse(JSON.stringify(shaped())) as Record<string, unknown>;
    mutate(env);
    expect(scanEnvelope(JSON.stringify(env))).toBeNull();
  });

  it('fits a full room in one frame, and refuses more recipients than a room holds', () => {
    // The largest numbers an envelope can hold, too.
    const full = encodeUpload(shapedUpload(rand(ROOM_ID_BYTES), rand(FP_BYTES), Number.MAX_SAFE_INTEGER, MAX_MEMBERS_PER_ROOM - 1, MAX_CT_BYTES));
    expect(full.length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(full.length).toBeGreaterThan(MAX_FRAME_BYTES * 0.95);
    expect(decodeUpload(full)).not.toBeInstanceOf(Error);
    const over = shaped(MAX_MEMBERS_PER_ROOM + 1);
    expect(parseEnvelope(over)).toBeInstanceOf(Error);
    expect(scanEnvelope(JSON.stringify(over))).toBeNull();
  });
});

/** What decodeUpload's general path makes of an envelope's JSON text: parseEnvelope of JSON.parse, or an Error. */
const parsedText = (text: string): Envelope | Error => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return new Error('not JSON');
  }
  return parseEnvelope(raw);
};

/** A small deterministic generator (mulberry32), so a failing case can be run again. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('scanEnvelope (decodeUpload reads the envelope as clients write it without JSON.parse)', () => {
  const extremes: [string, Envelope][] = [
    ['a room of 3', shaped()],
    ['a room of one', shaped(1)],
    ['a full room with the longest ciphertext and the largest numbers', { ...shapedEnvelope(rand(ROOM_ID_BYTES), rand(FP_BYTES), Number.MAX_SAFE_INTEGER, MAX_MEMBERS_PER_ROOM - 1, MAX_CT_BYTES), ts: 8.64e15 }],
    ['a ts of 0 and the shortest ciphertext', { ...shaped(2, 272), ts: 0 }],
  ];

  it.each(extremes)('reads %s as written by JSON.stringify, to the value parseEnvelope gives', (_what, env) => {
    const text = JSON.stringify(env);
    const fast = scanEnvelope(text);
    expect(fast).not.toBeNull();
    expect(fast).toEqual(parsedText(text));
    // The same keys in the same order: the value is what the relay checked, field for field.
    expect(JSON.stringify(fast)).toBe(text);
  });

  it('leaves every other spelling of a valid envelope to the general path, which still accepts it', () => {
    const env = shaped();
    const text = JSON.stringify(env);
    const respelled = [
      JSON.stringify(env, null, 1),
      text.replace('"seq":1,', '"seq":1.0,'),
      text.replace('"seq":1,', '"seq":1e0,'),
      text.replace('{"v":1,', '{ "v":1,'),
      // The room's first character as a JSON escape: the same string to JSON.parse.
      text.replace(`"room":"${env.room[0] ?? ''}`, `"room":"\\u${(env.room.charCodeAt(0)).toString(16).padStart(4, '0')}`),
      // The same fields in another order.
      JSON.stringify(Object.fromEntries(Object.entries(env).reverse())),
    ];
    for (const other of respelled) {
      expect(scanEnvelope(other)).toBeNull();
      expect(parsedText(other)).toEqual(env);
    }
  });

  it('accepts no text the general path refuses, nor one that reads differently: 20,000 mutations of real envelopes', () => {
    const random = prng(19);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const pool = [...alphabet, ...alphabet, '"', '\\', ' ', ',', ':', '{', '}', '[', ']', '.', '+', 'e', 'E', '\u00e9', '\u0000', '\u2028'];
    const numbers = ['0', '00', '01', '-1', '-0', '1.0', '1e3', '1E3', '9007199254740991', '9007199254740992', '9007199254740993', '8640000000000000', '8640000000000001', '99999999999999999', ' 1', '1 '];
    const bases = extremes.map(([, env]) => JSON.stringify(env));
    const mutate = (text: string): string => {
      const at = Math.floor(random() * text.length);
      switch (Math.floor(random() * 7)) {
        case 0: return text.slice(0, at) + pick(pool) + text.slice(at + 1);
        case 1: return text.slice(0, at) + text.slice(at + 1);
        case 2: return text.slice(0, at) + pick(pool) + text.slice(at);
        case 3: return text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 60));
        case 4: { const span = text.slice(at, at + 1 + Math.floor(random() * 60)); return text.slice(0, at) + span + text.slice(at); }
        case 5: return text.replace(/"(seq|ts)":[0-9]+/, (_m, key: string) => `"${key}":${pick(numbers)}`);
        default: {
          // Two recipients swapped, or one written twice (of a text that is still JSON with a list of them).
          let env: Envelope;
          try {
            env = JSON.parse(text) as Envelope;
          } catch {
            return text;
          }
          const r = env.recipients;
          if (!Array.isArray(r) || r.length === 0) return text;
          const i = Math.floor(random() * r.length);
          const j = Math.floor(random() * r.length);
          if (random() < 0.5) [r[i], r[j]] = [r[j] as string, r[i] as string];
          else r[i] = r[j] as string;
          return JSON.stringify(env);
        }
      }
    };
    let fastAccepted = 0;
    let generalOnly = 0;
    for (let n = 0; n < 20_000; n++) {
      let text = pick(bases);
      for (let k = 1 + Math.floor(random() * 2); k > 0; k--) text = mutate(text);
      const fast = scanEnvelope(text);
      const general = parsedText(text);
      if (fast === null) {
        if (!(general instanceof Error)) generalOnly += 1;
        continue;
      }
      fastAccepted += 1;
      expect(general, text).toEqual(fast);
      expect(JSON.stringify(fast), text).toBe(text);
    }
    // Neither side of the comparison is empty: many mutants stay valid (a character of ct swapped for another), many do not.
    expect(fastAccepted).toBeGreaterThan(2_000);
    expect(20_000 - fastAccepted - generalOnly).toBeGreaterThan(10_000);
  });

  it('gives decodeUpload the same upload either way', () => {
    const frame = upload();
    const canonical = encodeUpload(frame);
    expect(scanEnvelope(uploadParts(canonical).envText)).not.toBeNull();
    const spaced = respacedUpload(canonical);
    expect(scanEnvelope(uploadParts(spaced).envText)).toBeNull();
    const [viaScan, viaParse] = [decodeUpload(canonical), decodeUpload(spaced)];
    if (viaScan instanceof Error || viaParse instanceof Error) throw viaScan instanceof Error ? viaScan : viaParse;
    expect(viaScan.env).toEqual(frame.env);
    expect(viaParse.env).toEqual(frame.env);
    expect(uploadWraps(viaScan)).toEqual(frame.wraps);
    expect(uploadWraps(viaParse)).toEqual(frame.wraps);
  });
});

describe('frames', () => {
  it.each([
    ['not an object', 'hello'],
    ['an unknown type', { t: 'nope' }],
    ['a hello without fields', { t: 'hello', hello: {} }],
    // A message is uploaded as a binary frame (its checks are in protocol-guards.test.ts): as text, in any shape, it is refused.
    ['a message upload as text, in the shape an upload had before', JSON.parse(JSON.stringify(upload())) as unknown],
    ['a message with one wrap (a delivery, not an upload)', { t: 'msg', env: shaped(), wrap: rand(WRAP_BYTES) }],
  ])('refuses a client frame that is %s', (_what, raw) => {
    expect(parseClientFrame(raw)).toBeInstanceOf(Error);
  });

  it('accepts an upload with one wrap per recipient, and a delivery with one wrap or none', () => {
    const frame = upload();
    const back = decodeUpload(encodeUpload(frame));
    expect(back instanceof Error ? back : { env: back.env, wraps: uploadWraps(back) }).toEqual({ env: frame.env, wraps: frame.wraps });
    const wrap = Object.values(frame.wraps)[0] as string;
    expect(parseServerFrame({ t: 'msg', env: frame.env, wrap })).toEqual({ t: 'msg', env: frame.env, wrap });
    expect(parseServerFrame({ t: 'msg', env: frame.env })).toEqual({ t: 'msg', env: frame.env });
  });

  it.each([
    ['the whole upload', (f: ReturnType<typeof upload>) => f],
    ['a wrap of the wrong size', (f: ReturnType<typeof upload>) => ({ t: 'msg', env: f.env, wrap: rand(256) })],
    ['a null wrap', (f: ReturnType<typeof upload>) => ({ t: 'msg', env: f.env, wrap: null })],
  ])('refuses a delivery that carries %s', (_what, make) => {
    expect(parseServerFrame(JSON.parse(JSON.stringify(make(upload()))))).toBeInstanceOf(Error);
  });

  it('refuses a server frame with a bad leave fingerprint', () => {
    expect(parseServerFrame({ t: 'leave', fp: 'x' })).toBeInstanceOf(Error);
    expect(parseServerFrame({ t: 'leave', fp: rand(FP_BYTES) })).toEqual(expect.objectContaining({ t: 'leave' }));
  });
});

describe('link fragment', () => {
  it('accepts exactly 32 bytes of base64url', () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    expect(parseSecretFragment(`#${toB64u(secret)}`)).toEqual(secret);
  });

  it.each(['', '#', '#abc', `#${'A'.repeat(42)}`, `#${'A'.repeat(44)}`, `#${'A'.repeat(42)}=`, `#${'A'.repeat(42)}B`])(
    'rejects the damaged link fragment %j',
    (hash) => {
      expect(parseSecretFragment(hash)).toBeInstanceOf(Error);
    },
  );
});

describe('checkB64u (validation without decoding)', () => {
  it('agrees with decoding on every length and on every last character', () => {
    for (let n = 0; n < 40; n++) {
      const text = toB64u(crypto.getRandomValues(new Uint8Array(n)));
      expect(checkB64u(text)).toBeNull();
      for (const c of 'ABCQgw_-9') {
        const variant = text.slice(0, -1) + c;
        expect(checkB64u(variant) === null).toBe(!(fromB64u(variant) instanceof Error));
      }
    }
    expect(checkB64u('AA==')).toBeInstanceOf(Error);
    expect(checkB64u('AAAAA')).toBeInstanceOf(Error);
  });
});
