/**
 * The wire: one definition of every frame, limit and signed encoding.
 * The server and the client both import this file, so they cannot disagree.
 * Protocol: PROTOCOL.md §4 (frames and limits), §5 (encodings), §9 (close codes).
 */

// ---------------------------------------------------------------------------
// Limits and sizes. Byte counts are of the decoded value; *_B64_LEN is its
// unpadded base64url length.
// ---------------------------------------------------------------------------

export const PROTOCOL_VERSION = 1;

export const SECRET_BYTES = 32;
export const ROOM_ID_BYTES = 16;
export const FP_BYTES = 32;
export const ROSTER_HASH_BYTES = 32;
export const IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;
export const MAC_BYTES = 32;
/** ECDSA P-256 signature in WebCrypto's IEEE P1363 form: r ‖ s. */
export const SIG_BYTES = 64;
/** RSA-OAEP-3072 ciphertext. */
export const WRAP_BYTES = 384;
/** SHA-256 of one recipient's wrap: the envelope signs these, one per recipient (PROTOCOL.md §5.3). */
export const WRAP_HASH_BYTES = 32;
/** DER SubjectPublicKeyInfo of an RSA-3072 key with e = 65537. */
export const ENC_SPKI_BYTES = 422;
/** DER SubjectPublicKeyInfo of an uncompressed P-256 key. */
export const SIG_SPKI_BYTES = 91;
/** The link's Ed25519 door key (raw public key) and its signatures (PROTOCOL.md §2, §4.3). */
export const DOOR_PUB_BYTES = 32;
export const DOOR_SIG_BYTES = 64;
/** The server's per-connection challenge. */
export const NONCE_BYTES = 32;
/** How far ahead a signed /logs URL may expire: it is for one look, not to hand around. */
export const MAX_LOGS_URL_LIFETIME_MS = 60_000;
/** What a client asks for: half the maximum, so a clock up to 30 s off either way still gets an answer. */
export const LOGS_URL_LIFETIME_MS = MAX_LOGS_URL_LIFETIME_MS / 2;

/** Members per room. Frame size below is derived from it. */
export const MAX_MEMBERS_PER_ROOM = 50;
export const MAX_NAME_BYTES = 64;
/** Names are padded to a fixed size (1 length byte + MAX_NAME_BYTES) so ciphertexts don't leak their length. */
export const NAME_PT_BYTES = 1 + MAX_NAME_BYTES;
export const NAME_CT_BYTES = IV_BYTES + NAME_PT_BYTES + GCM_TAG_BYTES;
export const MAX_BODY_BYTES = 4000;
/** Plaintexts are padded to a multiple of this, so sizes leak only a bucket. */
export const PAD_BUCKET_BYTES = 256;
/** Upper bound of the inner encoding's fields other than the body (labels, ids, seq, length prefixes). */
const INNER_OVERHEAD_BYTES = 128;
export const MAX_PT_BYTES =
  Math.ceil((MAX_BODY_BYTES + INNER_OVERHEAD_BYTES) / PAD_BUCKET_BYTES) * PAD_BUCKET_BYTES;
export const MAX_CT_BYTES = MAX_PT_BYTES + GCM_TAG_BYTES;
/** The last millisecond a JavaScript Date can hold (±8.64e15): a later `ts` could not be shown. */
export const MAX_DATE_MS = 8.64e15;
/** nanoid's default length: message ids are nanoid() strings. */
export const MSG_ID_LEN = 21;

export const b64Len = (bytes: number): number => Math.ceil((bytes * 4) / 3);
export const FP_B64_LEN = b64Len(FP_BYTES);
export const ROOM_ID_B64_LEN = b64Len(ROOM_ID_BYTES);
export const SECRET_B64_LEN = b64Len(SECRET_BYTES);

/**
 * Largest client frame: a message upload to a full room (§4.3). Every field
 * at its maximum (the ciphertext, the wrap hashes as one field), plus per
 * recipient its fingerprint in `recipients` (with quotes and comma) and its
 * raw wrap, the upload's 3-byte header, and a fixed allowance for the
 * envelope's keys and small numbers. Text frames (hellos, statements) are
 * far smaller.
 */
export const MAX_FRAME_BYTES =
  1024 +
  b64Len(MAX_CT_BYTES) +
  b64Len(MAX_MEMBERS_PER_ROOM * WRAP_HASH_BYTES) +
  MAX_MEMBERS_PER_ROOM * (FP_B64_LEN + 3 + WRAP_BYTES) +
  3;

// ---------------------------------------------------------------------------
// base64url, unpadded and canonical: exactly one spelling per byte string,
// so signatures over the text and over the bytes can never disagree.
// ---------------------------------------------------------------------------

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_PATTERN = /^[A-Za-z0-9_-]*$/;
/** Per character code below 128: its base64url value + 1; 0 for any other character. */
const B64_VALUE_PLUS_1 = new Uint8Array(128);
for (let i = 0; i < B64_ALPHABET.length; i++) B64_VALUE_PLUS_1[B64_ALPHABET.charCodeAt(i)] = i + 1;

export function toB64u(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 4) / 3));
    for (let j = 0; j < chars; j++) out += B64_ALPHABET[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/**
 * Checks that `text` is canonical unpadded base64url without decoding it: the
 * alphabet, a possible length, and zero bits past the last byte. Validation
 * runs on every relayed frame, so it allocates nothing.
 */
export function checkB64u(text: string): Error | null {
  if (!B64_PATTERN.test(text) || text.length % 4 === 1) return new Error('not base64url');
  const spareBits = (text.length * 6) % 8;
  // The pattern passed: the last character, if any, is in the alphabet.
  const last = text.length === 0 ? 0 : (B64_VALUE_PLUS_1[text.charCodeAt(text.length - 1)] as number) - 1;
  return (last & ((1 << spareBits) - 1)) === 0 ? null : new Error('not canonical base64url');
}

/** Decodes canonical unpadded base64url; anything else is an Error. */
export function fromB64u(text: string): Uint8Array<ArrayBuffer> | Error {
  if (!B64_PATTERN.test(text) || text.length % 4 === 1) return new Error('not base64url');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    // The pattern passed: every character is in the alphabet.
    acc = (acc << 6) | ((B64_VALUE_PLUS_1[text.charCodeAt(i)] as number) - 1);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero, or two spellings would decode to the same bytes.
  if ((acc & ((1 << bits) - 1)) !== 0) return new Error('not canonical base64url');
  return out;
}

// ---------------------------------------------------------------------------
// Canonical encoding for everything signed, MAC'd or hashed: each part is a
// 4-byte big-endian length and its bytes. Numbers are written in decimal.
// Never JSON.stringify: key order and escaping are not canonical.
// ---------------------------------------------------------------------------

export type Part = string | number | Uint8Array;
const utf8 = new TextEncoder();

export function enc(...parts: Part[]): Uint8Array<ArrayBuffer> {
  // Room for the longest encoding (3 bytes per UTF-16 unit), written in one
  // pass: every received message takes a few of these, most of them ASCII.
  const texts = parts.map((p) => (p instanceof Uint8Array ? p : String(p)));
  let capacity = 0;
  for (const t of texts) capacity += 4 + (typeof t === 'string' ? 3 * t.length : t.length);
  const out = new Uint8Array(capacity);
  const view = new DataView(out.buffer);
  let o = 0;
  for (const t of texts) {
    let n = 0;
    if (typeof t !== 'string') {
      out.set(t, o + 4);
      n = t.length;
    } else {
      for (; n < t.length; n++) {
        const c = t.charCodeAt(n);
        if (c >= 0x80) break;
        out[o + 4 + n] = c;
      }
      // Past ASCII: the encoder writes the rest (a lone surrogate as U+FFFD, as encode() does).
      if (n < t.length) n += utf8.encodeInto(t.slice(n), out.subarray(o + 4 + n)).written;
    }
    view.setUint32(o, n);
    o += 4 + n;
  }
  return o === capacity ? out : out.slice(0, o);
}

/**
 * Splits `count` length-prefixed parts off the front of `data`; the rest must
 * be zero padding. Used for the padded inner plaintext.
 */
export function decParts(data: Uint8Array, count: number): Uint8Array[] | Error {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const parts: Uint8Array[] = [];
  let o = 0;
  for (let i = 0; i < count; i++) {
    if (o + 4 > data.length) return new Error('truncated encoding');
    const len = view.getUint32(o);
    if (o + 4 + len > data.length) return new Error('truncated encoding');
    parts.push(data.subarray(o + 4, o + 4 + len));
    o += 4 + len;
  }
  for (; o < data.length; o++) if (data[o] !== 0) return new Error('non-zero padding');
  return parts;
}

/** Order of the P-256 group. */
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** A big-endian unsigned integer from its bytes. */
export const bigIntOf = (b: Uint8Array): bigint => b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);

/**
 * ECDSA is malleable: (r, s) and (r, n − s) both verify. Hush signs with the
 * low s and accepts only that one (client and server alike), so every
 * message has exactly one valid signature. `sig` is P1363 r ‖ s.
 */
export const isLowS = (sig: Uint8Array): boolean => bigIntOf(sig.subarray(SIG_BYTES / 2)) <= P256_N / 2n;

/** The bytes a fingerprint hashes: both public keys, so neither can be swapped alone. */
export const fingerprintInput = (encSpki: string, sigSpki: string): Uint8Array<ArrayBuffer> =>
  enc('v1/fp', encSpki, sigSpki);

/**
 * A member's fingerprint with a synchronous SHA-256 (Node's `createHash`):
 * for the server and Node tools. The page uses crypto.ts `fingerprint`, which
 * is the same function over WebCrypto.
 */
export const fingerprintWith = (sha256: (data: Uint8Array) => Uint8Array, keys: { encSpki: string; sigSpki: string }): string =>
  toB64u(sha256(fingerprintInput(keys.encSpki, keys.sigSpki)));

/**
 * The room id commits to the link's door key: SHA-256(enc("v1/room-id", doorPub)),
 * first 16 bytes. So the server can check a door signature against the id alone,
 * and nobody can pick a key for someone else's room.
 */
export const roomIdInput = (doorPub: Uint8Array): Uint8Array<ArrayBuffer> => enc('v1/room-id', doorPub);

/** The room id of a door key with a synchronous SHA-256 (Node's `createHash`): for the server. */
export const roomIdWith = (sha256: (data: Uint8Array) => Uint8Array, doorPub: Uint8Array): string =>
  toB64u(sha256(roomIdInput(doorPub)).subarray(0, ROOM_ID_BYTES));

/** What the door key signs to open one connection: the room, the server's nonce, the joining identity. */
export const doorSignedBytes = (roomId: string, nonce: string, fp: string): Uint8Array<ArrayBuffer> => enc('v1/door', roomId, nonce, fp);

/** What a member signs to read the room's /logs until `exp` (epoch ms). */
export const logsSignedBytes = (roomId: string, fp: string, exp: number): Uint8Array<ArrayBuffer> => enc('v1/logs', roomId, fp, exp);

/** The bytes a roster hash hashes: the sorted member fingerprints. */
export const rosterInput = (sortedFps: readonly string[]): Uint8Array<ArrayBuffer> =>
  enc('v1/roster', sortedFps.length, ...sortedFps);

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/**
 * A tab's previous identity vouching for its new keys after a reconnect:
 * `sig` is the previous signing key's signature over continuitySignedBytes.
 */
export interface Continuity {
  fp: string;
  sig: string;
}

/** A join announcement. `nameCt` is the name under the link-derived key. */
export interface Hello {
  v: number;
  roomId: string;
  encSpki: string;
  sigSpki: string;
  nameCt: string;
  /** Present when this tab was in the room a moment ago under another key (PROTOCOL.md §6.4). */
  prev?: Continuity;
  sig: string;
  mac: string;
}

/**
 * What every member receives of a message, and what its signature covers:
 * the wraps only by their hashes, so each member can be sent its own wrap
 * alone (PROTOCOL.md §5.3).
 */
export interface Envelope {
  v: number;
  room: string;
  sender: string;
  seq: number;
  msgId: string;
  ts: number;
  rosterHash: string;
  recipients: string[];
  iv: string;
  ct: string;
  /** wrapHash of each recipient's wrap, in recipient order, concatenated: 32 bytes per recipient. */
  wrapHashes: string;
  sig: string;
}

/** Each recipient's wrapped message key, by fingerprint: uploaded with the envelope, delivered one by one. */
export type Wraps = Record<string, string>;

/**
 * A member's signed statement of the roster it sees (sorted fingerprints).
 * Sent on every roster change and periodically, so a relay that shows
 * different members different rosters is exposed (issue #3).
 */
export interface RosterConfirm {
  v: number;
  room: string;
  sender: string;
  /** Counts up per sender: an older statement can't be replayed over a newer one. */
  n: number;
  /** The seq of the sender's last message: a receiver sees at once if messages were withheld. */
  seq: number;
  /** The signer's clock (ms): informational; freshness comes from `acks`. */
  ts: number;
  /** The sender is leaving for good: its later disappearance reads "left", not "lost connection". */
  isLeaving: boolean;
  members: string[];
  /** Per member (same order as `members`): the highest seq the signer has received from them. */
  heard: number[];
  /**
   * Per member: the highest statement counter `n` the signer has received
   * from them. A relay cannot make a banked statement acknowledge a newer
   * one, so a member whose latest acknowledgement of me is old is cut off.
   */
  acks: number[];
  sig: string;
}

/**
 * Proof that a hello's sender holds the link: the link's door key (`pub`)
 * signing the server's nonce for this connection and the hello's fingerprint.
 */
export interface Door {
  pub: string;
  sig: string;
}

/** `door` is optional in the shape (in-memory tests have no server); the server refuses a hello without it. */
export type ClientFrame = { t: 'hello'; hello: Hello; door?: Door } | { t: 'roster'; rc: RosterConfirm } | { t: 'state'; st: RoomStatement };

export type ServerFrame =
  | { t: 'challenge'; nonce: string }
  | { t: 'welcome'; members: Hello[] }
  | { t: 'join'; hello: Hello }
  | { t: 'leave'; fp: string }
  /** `wrap`: the receiving member's own wrap, absent for a member the sender left out. */
  | { t: 'msg'; env: Envelope; wrap?: string }
  | { t: 'roster'; rc: RosterConfirm }
  | { t: 'state'; st: RoomStatement };

/** The text of a frame a client sends. Every client frame is built here, never by a JSON literal elsewhere. */
export const encodeClientFrame = (frame: ClientFrame): string => JSON.stringify(frame);

/** The text of a frame the server sends. */
export const encodeServerFrame = (frame: ServerFrame): string => JSON.stringify(frame);

export const helloSignedBytes = (h: Omit<Hello, 'sig' | 'mac'>): Uint8Array<ArrayBuffer> =>
  enc('v1/hello', h.v, h.roomId, h.encSpki, h.sigSpki, h.nameCt, h.prev?.fp ?? '', h.prev?.sig ?? '');

/** What a previous identity signs to vouch for the new one: the room, both fingerprints. */
export const continuitySignedBytes = (roomId: string, prevFp: string, nextFp: string): Uint8Array<ArrayBuffer> =>
  enc('v1/continue', roomId, prevFp, nextFp);

export const helloMacBytes = (h: Omit<Hello, 'mac'>): Uint8Array<ArrayBuffer> =>
  enc('v1/hello-mac', helloSignedBytes(h), h.sig);

export const envelopeHeader = (e: Omit<Envelope, 'iv' | 'ct' | 'wrapHashes' | 'sig'>): Uint8Array<ArrayBuffer> =>
  enc('v1/msg-hdr', e.v, e.room, e.sender, e.seq, e.msgId, e.ts, e.rosterHash, e.recipients.length, ...e.recipients);

export const envelopeSignedBytes = (e: Omit<Envelope, 'sig'>): Uint8Array<ArrayBuffer> =>
  enc('v1/msg', envelopeHeader(e), e.iv, e.ct, e.wrapHashes);

/** What a wrap hash hashes: the wrap with the room, message and recipient it is for, so a hash fits one slot only. */
export const wrapHashInput = (room: string, msgId: string, fp: string, wrap: string): Uint8Array<ArrayBuffer> =>
  enc('v1/wrap-hash', room, msgId, fp, wrap);

/** Recipient `fp`'s entry in `env.wrapHashes` (its 32 bytes, base64url), or null when it is not a recipient. */
export function wrapHashOf(env: Envelope, fp: string): Uint8Array | null {
  const i = env.recipients.indexOf(fp);
  const all = fromB64u(env.wrapHashes);
  if (i < 0 || all instanceof Error) return null;
  return all.subarray(i * WRAP_HASH_BYTES, (i + 1) * WRAP_HASH_BYTES);
}

export const rosterConfirmSignedBytes = (c: Omit<RosterConfirm, 'sig'>): Uint8Array<ArrayBuffer> =>
  enc('v1/roster-confirm', c.v, c.room, c.sender, c.n, c.seq, c.ts, c.isLeaving ? 1 : 0, c.members.length, ...c.members, ...c.heard, ...c.acks);

export const wrapLabel = (room: string, msgId: string, fp: string): Uint8Array<ArrayBuffer> => enc('v1/wrap', room, msgId, fp);

// ---------------------------------------------------------------------------
// Validation at the boundary: parseX(raw: unknown): X | Error.
// Objects must have exactly the listed keys (no extras, no `__proto__`).
// ---------------------------------------------------------------------------

type Check<T> = (value: unknown, path: string) => T | Error;
/** A field that may be absent (never null): its check is wrapped so `object` can tell. */
interface Optional<T> {
  optional: Check<T>;
}
type Shape = Record<string, Check<unknown> | Optional<unknown>>;
type Checked<C> = C extends Optional<infer T> ? T : C extends Check<infer T> ? Exclude<T, Error> : never;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends Optional<unknown> ? K : never }[keyof S];
type FromShape<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Checked<S[K]> } & { [K in OptionalKeys<S>]?: Checked<S[K]> };

const optional = <T>(check: Check<T>): Optional<T> => ({ optional: check });

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

function object<S extends Shape>(shape: S): Check<FromShape<S>> {
  const wanted = Object.keys(shape);
  return (value, path) => {
    if (!isPlainObject(value)) return new Error(`${path}: expected an object`);
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(shape, key)) return new Error(`${path}: unexpected field "${key.slice(0, 32)}"`);
    }
    const out: Record<string, unknown> = {};
    for (const key of wanted) {
      const spec = shape[key] as Check<unknown> | Optional<unknown>;
      const isOptional = typeof spec !== 'function';
      if (!Object.hasOwn(value, key)) {
        if (isOptional) continue;
        return new Error(`${path}.${key}: missing`);
      }
      const field = (isOptional ? spec.optional : spec)(value[key], `${path}.${key}`);
      if (field instanceof Error) return field;
      out[key] = field;
    }
    return out as FromShape<S>;
  };
}

const b64 = (minBytes: number, maxBytes = minBytes): Check<string> => (value, path) => {
  if (typeof value !== 'string') return new Error(`${path}: expected a string`);
  if (value.length < b64Len(minBytes) || value.length > b64Len(maxBytes)) {
    return new Error(`${path}: wrong length`);
  }
  const bad = checkB64u(value);
  return bad === null ? value : new Error(`${path}: ${bad.message}`);
};

const integer = (min: number, max: number): Check<number> => (value, path) =>
  Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max
    ? (value as number)
    : new Error(`${path}: expected an integer in [${min}, ${max}]`);

const literal = <T extends string | number>(want: T): Check<T> => (value, path) =>
  value === want ? want : new Error(`${path}: expected ${JSON.stringify(want)}`);

const MSG_ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${MSG_ID_LEN}}$`);
const msgId: Check<string> = (value, path) =>
  typeof value === 'string' && MSG_ID_PATTERN.test(value) ? value : new Error(`${path}: not a message id`);

const fp = b64(FP_BYTES);
const version = literal(PROTOCOL_VERSION);

const checkHello = object({
  v: version,
  roomId: b64(ROOM_ID_BYTES),
  encSpki: b64(ENC_SPKI_BYTES),
  sigSpki: b64(SIG_SPKI_BYTES),
  nameCt: b64(NAME_CT_BYTES),
  prev: optional(object({ fp, sig: b64(SIG_BYTES) })),
  sig: b64(SIG_BYTES),
  mac: b64(MAC_BYTES),
});

const recipients: Check<string[]> = (value, path) => {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_MEMBERS_PER_ROOM) {
    return new Error(`${path}: expected 1 to ${MAX_MEMBERS_PER_ROOM} fingerprints`);
  }
  for (let i = 0; i < value.length; i++) {
    const r = fp(value[i], `${path}[${i}]`);
    if (r instanceof Error) return r;
    // Strictly ascending: sorted and unique, so there is one valid order.
    if (i > 0 && !((value[i - 1] as string) < r)) return new Error(`${path}: not sorted and unique`);
  }
  return value as string[];
};

const checkEnvelopeShape = object({
  v: version,
  room: b64(ROOM_ID_BYTES),
  sender: fp,
  seq: integer(1, Number.MAX_SAFE_INTEGER),
  msgId,
  ts: integer(0, MAX_DATE_MS),
  rosterHash: b64(ROSTER_HASH_BYTES),
  recipients,
  iv: b64(IV_BYTES),
  ct: b64(PAD_BUCKET_BYTES + GCM_TAG_BYTES, MAX_CT_BYTES),
  wrapHashes: b64(WRAP_HASH_BYTES, MAX_MEMBERS_PER_ROOM * WRAP_HASH_BYTES),
  sig: b64(SIG_BYTES),
});

export function parseHello(raw: unknown, path = 'hello'): Hello | Error {
  return checkHello(raw, path);
}

/**
 * A checked hello as the relay keeps it for as long as its member stays (PROTOCOL.md §8.4):
 * the bytes of its base64url fields, decoded, in the order of its JSON (encSpki, sigSpki,
 * nameCt, prev's fp and sig when there is a prev, sig, mac); not `v` (always
 * PROTOCOL_VERSION) nor `roomId` (the room's). 702 bytes, 798 with prev, where the JSON is
 * about 1,000.
 */
const PACKED_HELLO_BYTES = ENC_SPKI_BYTES + SIG_SPKI_BYTES + NAME_CT_BYTES + SIG_BYTES + MAC_BYTES;

export function packHello(hello: Hello): Uint8Array<ArrayBuffer> {
  const fields = [hello.encSpki, hello.sigSpki, hello.nameCt, ...(hello.prev === undefined ? [] : [hello.prev.fp, hello.prev.sig]), hello.sig, hello.mac];
  const packed = new Uint8Array(PACKED_HELLO_BYTES + (hello.prev === undefined ? 0 : FP_BYTES + SIG_BYTES));
  let o = 0;
  for (const field of fields) {
    const bytes = fromB64u(field);
    if (bytes instanceof Error) throw new Error('packHello: the hello was not checked');
    packed.set(bytes, o);
    o += bytes.length;
  }
  return packed;
}

/**
 * The hello `packHello` packed, for room `roomId`: its keys in the order parseHello gives
 * them, so its JSON is the checked hello's (only canonical base64url passes the checks, and it
 * decodes and encodes back to the same text). `encode` is the base64url encoder: the relay
 * passes Node's native one, several times faster for every hello of every welcome.
 */
export function unpackHello(roomId: string, packed: Uint8Array, encode: (bytes: Uint8Array) => string = toB64u): Hello {
  let o = 0;
  const next = (n: number): string => encode(packed.subarray(o, (o += n)));
  const encSpki = next(ENC_SPKI_BYTES);
  const sigSpki = next(SIG_SPKI_BYTES);
  const nameCt = next(NAME_CT_BYTES);
  const prev = packed.length > PACKED_HELLO_BYTES ? { fp: next(FP_BYTES), sig: next(SIG_BYTES) } : undefined;
  return { v: PROTOCOL_VERSION, roomId, encSpki, sigSpki, nameCt, ...(prev === undefined ? {} : { prev }), sig: next(SIG_BYTES), mac: next(MAC_BYTES) };
}

export function parseEnvelope(raw: unknown, path = 'env'): Envelope | Error {
  const env = checkEnvelopeShape(raw, path);
  if (env instanceof Error) return env;
  if (!env.recipients.includes(env.sender)) return new Error(`${path}.recipients: must include the sender`);
  if (env.wrapHashes.length !== b64Len(env.recipients.length * WRAP_HASH_BYTES)) {
    return new Error(`${path}.wrapHashes: must hold one hash per recipient`);
  }
  return env;
}

// ---------------------------------------------------------------------------
// The envelope as its sender's client writes it, read without JSON.parse
// ---------------------------------------------------------------------------

/** Digits of Number.MAX_SAFE_INTEGER, the most an integer field can have. */
const MAX_INTEGER_DIGITS = String(Number.MAX_SAFE_INTEGER).length;
const DIGITS_PATTERN = /^(?:0|[1-9][0-9]*)$/;

const ENVELOPE_KEYS = {
  start: `{"v":${PROTOCOL_VERSION},"room":"`,
  sender: '","sender":"',
  seq: '","seq":',
  msgId: ',"msgId":"',
  ts: '","ts":',
  rosterHash: ',"rosterHash":"',
  recipients: '","recipients":["',
  nextRecipient: '","',
  iv: '"],"iv":"',
  ct: '","ct":"',
  wrapHashes: '","wrapHashes":"',
  sig: '","sig":"',
  end: '"}',
} as const;

/**
 * An envelope in the one form its sender's client writes (JSON.stringify of an
 * Envelope: its fields in their order, no whitespace, no escapes), read with
 * every check parseEnvelope makes but without JSON.parse: each field's place
 * follows from the lengths before it (only `ct` is found by its closing
 * literal), and each value is checked as parseEnvelope checks it. Null for any
 * other text, which decodeUpload then reads with JSON.parse and parseEnvelope.
 * It accepts only what that path accepts, with the same value (a differential
 * test in protocol.test.ts holds it to this), so it changes what a message
 * costs the relay, never what the relay lets through.
 */
export function scanEnvelope(text: string): Envelope | null {
  const K = ENVELOPE_KEYS;
  if (!text.startsWith(K.start)) return null;
  let at = K.start.length;
  // A base64url value of exactly `length` characters at `at`, then the literal `next`.
  const b64At = (length: number, next: string): string | null => {
    const end = at + length;
    if (!text.startsWith(next, end)) return null;
    const value = text.slice(at, end);
    if (checkB64u(value) !== null) return null;
    at = end + next.length;
    return value;
  };
  // An integer in [min, max] written in plain decimal at `at`, then `next` (JSON.parse reads no other spelling as the same value here).
  const integerAt = (min: number, max: number, next: string): number | null => {
    const end = text.indexOf(next, at);
    if (end < 0 || end - at > MAX_INTEGER_DIGITS) return null;
    const digits = text.slice(at, end);
    if (!DIGITS_PATTERN.test(digits)) return null;
    const value = Number(digits);
    if (!Number.isSafeInteger(value) || value < min || value > max) return null;
    at = end + next.length;
    return value;
  };
  const room = b64At(ROOM_ID_B64_LEN, K.sender);
  if (room === null) return null;
  const sender = b64At(FP_B64_LEN, K.seq);
  if (sender === null) return null;
  const seq = integerAt(1, Number.MAX_SAFE_INTEGER, K.msgId);
  if (seq === null) return null;
  const msgId = text.slice(at, at + MSG_ID_LEN);
  if (!MSG_ID_PATTERN.test(msgId) || !text.startsWith(K.ts, at + MSG_ID_LEN)) return null;
  at += MSG_ID_LEN + K.ts.length;
  const ts = integerAt(0, MAX_DATE_MS, K.rosterHash);
  if (ts === null) return null;
  const rosterHash = b64At(b64Len(ROSTER_HASH_BYTES), K.recipients);
  if (rosterHash === null) return null;
  const recipients: string[] = [];
  for (;;) {
    const end = at + FP_B64_LEN;
    const fp = text.slice(at, end);
    // Strictly ascending: sorted and unique, as parseEnvelope's recipients check.
    if (checkB64u(fp) !== null || (recipients.length > 0 && !((recipients[recipients.length - 1] as string) < fp))) return null;
    recipients.push(fp);
    if (recipients.length > MAX_MEMBERS_PER_ROOM) return null;
    if (text.startsWith(K.nextRecipient, end)) at = end + K.nextRecipient.length;
    else if (text.startsWith(K.iv, end)) {
      at = end + K.iv.length;
      break;
    } else return null;
  }
  if (!recipients.includes(sender)) return null;
  const iv = b64At(b64Len(IV_BYTES), K.ct);
  if (iv === null) return null;
  // A base64url value holds no quote, so the first one after `at` ends it.
  const ctEnd = text.indexOf(K.wrapHashes, at);
  if (ctEnd < 0) return null;
  const ctLength = ctEnd - at;
  if (ctLength < b64Len(PAD_BUCKET_BYTES + GCM_TAG_BYTES) || ctLength > b64Len(MAX_CT_BYTES)) return null;
  const ct = b64At(ctLength, K.wrapHashes);
  if (ct === null) return null;
  const wrapHashes = b64At(b64Len(recipients.length * WRAP_HASH_BYTES), K.sig);
  if (wrapHashes === null) return null;
  const sig = b64At(b64Len(SIG_BYTES), K.end);
  if (sig === null || at !== text.length) return null;
  return { v: PROTOCOL_VERSION, room, sender, seq, msgId, ts, rosterHash, recipients, iv, ct, wrapHashes, sig };
}

/** First byte of a binary message upload (PROTOCOL.md §4.3), after the addressed kinds of §11. */
export const UPLOAD_KIND = 3;
/** kind ‖ the envelope's JSON length:u16 */
export const UPLOAD_HEADER_BYTES = 3;

/**
 * A message upload as the relay reads it: the checked envelope, and every
 * recipient's wrap, raw, in the order of `env.recipients` (a view into the
 * frame: WRAP_BYTES each, the i-th recipient's at i × WRAP_BYTES).
 */
export interface Upload {
  env: Envelope;
  wraps: Uint8Array;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A message upload's bytes: `kind:3 ‖ length:u16 ‖ the envelope's JSON ‖
 * one raw wrap per recipient, in recipient order`. Binary because the wraps
 * are most of a message: raw, they are a quarter smaller than base64url, and
 * the relay checks them by their length alone (any 384 bytes are a wrap's
 * shape) instead of reading every character.
 */
export function encodeUpload({ env, wraps }: { env: Envelope; wraps: Wraps }): Uint8Array<ArrayBuffer> {
  const json = utf8.encode(JSON.stringify(env));
  const at = UPLOAD_HEADER_BYTES + json.length;
  const out = new Uint8Array(at + env.recipients.length * WRAP_BYTES);
  out[0] = UPLOAD_KIND;
  new DataView(out.buffer).setUint16(1, json.length);
  out.set(json, UPLOAD_HEADER_BYTES);
  env.recipients.forEach((r, i) => {
    const wrap = Object.hasOwn(wraps, r) ? fromB64u(wraps[r] as string) : new Error('missing');
    if (wrap instanceof Error || wrap.length !== WRAP_BYTES) throw new Error('encodeUpload: every recipient needs its wrap');
    out.set(wrap, at + i * WRAP_BYTES);
  });
  return out;
}

/**
 * Reads a binary message upload (PROTOCOL.md §4.3): a known kind, an
 * envelope length inside the frame, the envelope as UTF-8 JSON with the
 * shape of §4.2, and then exactly one wrap per recipient. The relay and the
 * tests use it, so they cannot disagree. An envelope as clients write it is
 * read by scanEnvelope; any other JSON of the same value by JSON.parse.
 */
export function decodeUpload(frame: Uint8Array): Upload | Error {
  if (frame.length < UPLOAD_HEADER_BYTES || frame[0] !== UPLOAD_KIND) return new Error('upload: not a message upload');
  const envEnd = UPLOAD_HEADER_BYTES + (((frame[1] as number) << 8) | (frame[2] as number));
  if (envEnd > frame.length) return new Error('upload: the envelope runs past the end of the frame');
  let text: string;
  try {
    text = strictUtf8.decode(frame.subarray(UPLOAD_HEADER_BYTES, envEnd));
  } catch {
    return new Error('upload: the envelope is not UTF-8');
  }
  let env: Envelope | Error | null = scanEnvelope(text);
  if (env === null) {
    const raw = parseJson(text);
    if (raw instanceof Error) return new Error(`upload: the envelope is ${raw.message}`);
    env = parseEnvelope(raw, 'upload.env');
    if (env instanceof Error) return env;
  }
  if (frame.length - envEnd !== env.recipients.length * WRAP_BYTES) return new Error('upload: must hold exactly one wrap per recipient');
  return { env, wraps: frame.subarray(envEnd) };
}

/** The upload's wraps by recipient, as base64url: what each recipient is sent. */
export function uploadWraps({ env, wraps }: Upload): Wraps {
  const out: Wraps = {};
  env.recipients.forEach((r, i) => (out[r] = toB64u(wraps.subarray(i * WRAP_BYTES, (i + 1) * WRAP_BYTES))));
  return out;
}

const counters: Check<number[]> = (value, path) => {
  if (!Array.isArray(value) || value.length > MAX_MEMBERS_PER_ROOM) return new Error(`${path}: expected a list of counters`);
  const count = integer(0, Number.MAX_SAFE_INTEGER);
  for (let i = 0; i < value.length; i++) {
    const c = count(value[i], `${path}[${i}]`);
    if (c instanceof Error) return c;
  }
  return value as number[];
};

const boolean: Check<boolean> = (value, path) => (typeof value === 'boolean' ? value : new Error(`${path}: expected true or false`));

const checkRosterConfirm = object({
  v: version,
  room: b64(ROOM_ID_BYTES),
  sender: fp,
  n: integer(1, Number.MAX_SAFE_INTEGER),
  seq: integer(0, Number.MAX_SAFE_INTEGER),
  ts: integer(0, MAX_DATE_MS),
  isLeaving: boolean,
  members: recipients,
  heard: counters,
  acks: counters,
  sig: b64(SIG_BYTES),
});

export function parseRosterConfirm(raw: unknown, path = 'rc'): RosterConfirm | Error {
  const rc = checkRosterConfirm(raw, path);
  if (rc instanceof Error) return rc;
  if (!rc.members.includes(rc.sender)) return new Error(`${path}.members: must include the sender`);
  if (rc.heard.length !== rc.members.length || rc.acks.length !== rc.members.length) {
    return new Error(`${path}: heard and acks need one entry per member`);
  }
  return rc;
}


// ---------------------------------------------------------------------------
// Room statements (PROTOCOL.md §4.2, §5.7, §12): who is let in, lobby and lock,
// signed by a member and relayed like roster statements.
// ---------------------------------------------------------------------------

/**
 * A last-writer-wins switch (lobby, lock): the higher `ver` wins, and for one
 * `ver` the higher `by` fingerprint, so two members toggling at once end up
 * with the same value everywhere. `ver` 0 is the room's start: off, `by` "".
 */
export interface Switch {
  on: boolean;
  ver: number;
  by: string;
}

/**
 * A member's signed statement of the room's membership as it sees it:
 * grow-only sets of who is let in, turned away and removed (of the members
 * present), and the two switches. `n` counts up per sender.
 */
export interface RoomStatement {
  v: number;
  room: string;
  sender: string;
  n: number;
  lobby: Switch;
  lock: Switch;
  admitted: string[];
  turnedAway: string[];
  removed: string[];
  sig: string;
}

const fpList: Check<string[]> = (value, path) => {
  if (Array.isArray(value) && value.length === 0) return [];
  return recipients(value, path);
};

const checkSwitchShape = object({ on: boolean, ver: integer(0, Number.MAX_SAFE_INTEGER), by: (value, path) => (value === '' ? '' : fp(value, path)) });
const checkSwitch: Check<Switch> = (value, path) => {
  const sw = checkSwitchShape(value, path);
  if (sw instanceof Error) return sw;
  // One spelling of the start (off, version 0, by nobody), and every later value has an author.
  if ((sw.ver === 0) !== (sw.by === '') || (sw.ver === 0 && sw.on)) return new Error(`${path}: version 0 is off and by nobody; later versions name their author`);
  return sw;
};

const checkRoomStatement = object({
  v: version,
  room: b64(ROOM_ID_BYTES),
  sender: fp,
  n: integer(1, Number.MAX_SAFE_INTEGER),
  lobby: checkSwitch,
  lock: checkSwitch,
  admitted: fpList,
  turnedAway: fpList,
  removed: fpList,
  sig: b64(SIG_BYTES),
});

export function parseRoomStatement(raw: unknown, path = 'st'): RoomStatement | Error {
  return checkRoomStatement(raw, path);
}

const switchParts = (s: Switch): Part[] => [s.on ? 1 : 0, s.ver, s.by];

export const roomStatementSignedBytes = (st: Omit<RoomStatement, 'sig'>): Uint8Array<ArrayBuffer> =>
  enc('v1/room-state', st.v, st.room, st.sender, st.n, ...switchParts(st.lobby), ...switchParts(st.lock),
    st.admitted.length, ...st.admitted, st.turnedAway.length, ...st.turnedAway, st.removed.length, ...st.removed);

/**
 * The inner body of a message that moves the room to a new link after a
 * removal (PROTOCOL.md §12.4). It starts with U+0000, which no chat message
 * does, so a receiver never shows it as text.
 */
export const MOVE_PREFIX = '\u0000v1/move|';

export const moveBody = (secret: string, removed: string): string => `${MOVE_PREFIX}${secret}|${removed}`;

/** The new link secret and the removed fingerprint of a move body, or an Error. */
export function parseMoveBody(body: string): { secret: string; removed: string } | Error {
  if (!body.startsWith(MOVE_PREFIX)) return new Error('not a move');
  const [secret = '', removed = '', ...rest] = body.slice(MOVE_PREFIX.length).split('|');
  if (rest.length > 0 || parseSecretFragment(secret) instanceof Error || fp(removed, 'removed') instanceof Error) return new Error('move is malformed');
  return { secret, removed };
}

const checkClientState = object({ t: literal('state'), st: parseRoomStatement });
const checkClientHello = object({ t: literal('hello'), hello: parseHello, door: optional(object({ pub: b64(DOOR_PUB_BYTES), sig: b64(DOOR_SIG_BYTES) })) });
const checkDelivery = object({ t: literal('msg'), env: parseEnvelope, wrap: optional(b64(WRAP_BYTES)) });
const checkClientRoster = object({ t: literal('roster'), rc: parseRosterConfirm });

export function parseClientFrame(raw: unknown): ClientFrame | Error {
  if (!isPlainObject(raw)) return new Error('frame: expected an object');
  if (raw.t === 'hello') return checkClientHello(raw, 'frame');
  if (raw.t === 'msg') return new Error('frame.t: a message is uploaded as a binary frame');
  if (raw.t === 'roster') return checkClientRoster(raw, 'frame');
  if (raw.t === 'state') return checkClientState(raw, 'frame');
  return new Error('frame.t: unknown frame type');
}

const hellos: Check<Hello[]> = (value, path) => {
  if (!Array.isArray(value) || value.length > MAX_MEMBERS_PER_ROOM) return new Error(`${path}: expected a list of hellos`);
  const out: Hello[] = [];
  for (let i = 0; i < value.length; i++) {
    const h = parseHello(value[i], `${path}[${i}]`);
    if (h instanceof Error) return h;
    out.push(h);
  }
  return out;
};

const serverChecks = {
  challenge: object({ t: literal('challenge'), nonce: b64(NONCE_BYTES) }),
  welcome: object({ t: literal('welcome'), members: hellos }),
  join: object({ t: literal('join'), hello: parseHello }),
  leave: object({ t: literal('leave'), fp }),
  msg: checkDelivery,
  roster: checkClientRoster,
  state: checkClientState,
} as const;

export function parseServerFrame(raw: unknown): ServerFrame | Error {
  if (!isPlainObject(raw)) return new Error('frame: expected an object');
  const t = raw.t;
  if (t !== 'challenge' && t !== 'welcome' && t !== 'join' && t !== 'leave' && t !== 'msg' && t !== 'roster' && t !== 'state') return new Error('frame.t: unknown frame type');
  return serverChecks[t](raw, 'frame') as ServerFrame | Error;
}

/** Parses JSON text, turning a syntax error into a value. */
export function parseJson(text: string): unknown | Error {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return new Error('not valid JSON');
  }
}

/** A client frame from its text: JSON first, then shape. */
export function decodeClientFrame(text: string): ClientFrame | Error {
  const raw = parseJson(text);
  return raw instanceof Error ? raw : parseClientFrame(raw);
}

/** A server frame from its text: JSON first, then shape. */
export function decodeServerFrame(text: string): ServerFrame | Error {
  const raw = parseJson(text);
  return raw instanceof Error ? raw : parseServerFrame(raw);
}

// ---------------------------------------------------------------------------
// Link and ids
// ---------------------------------------------------------------------------

const SECRET_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${SECRET_B64_LEN}}$`);
const ROOM_ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${ROOM_ID_B64_LEN}}$`);

/**
 * The link secret lives in the URL fragment because browsers never send the
 * fragment to the server (and Referrer-Policy: no-referrer keeps it out of
 * referrers). Strict pattern and length: a mangled link fails loudly.
 */
export function parseSecretFragment(hash: string): Uint8Array<ArrayBuffer> | Error {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  if (!SECRET_PATTERN.test(text)) return new Error('this link is incomplete or damaged');
  const bytes = fromB64u(text);
  return bytes instanceof Error ? new Error('this link is incomplete or damaged') : bytes;
}

/** A member's signed request to read its room's log (PROTOCOL.md §8.5). */
export interface LogsRequest {
  fp: string;
  exp: number;
  sig: string;
}

/** The path of a signed /logs request. */
export const logsPath = (roomId: string, r: LogsRequest): string => `/logs/${roomId}?fp=${r.fp}&exp=${r.exp}&sig=${r.sig}`;

const EXP_PATTERN = /^[1-9][0-9]{0,15}$/;

/** The query of a /logs request, as the server reads it: exact sizes, canonical base64url, a plain decimal `exp`. */
export function parseLogsRequest(query: { fp: string; exp: string; sig: string }): LogsRequest | Error {
  const fpOk = fp(query.fp, 'fp');
  if (fpOk instanceof Error) return fpOk;
  const sigOk = b64(SIG_BYTES)(query.sig, 'sig');
  if (sigOk instanceof Error) return sigOk;
  if (!EXP_PATTERN.test(query.exp) || !Number.isSafeInteger(Number(query.exp))) return new Error('exp: expected a time in ms');
  return { fp: fpOk, exp: Number(query.exp), sig: sigOk };
}

export const isRoomId = (text: string): boolean => ROOM_ID_PATTERN.test(text) && !(fromB64u(text) instanceof Error);

// ---------------------------------------------------------------------------
// Close codes the server uses and the client explains.
// ---------------------------------------------------------------------------

export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED: 1003,
  BAD_DATA: 1007,
  POLICY: 1008,
  TOO_BIG: 1009,
  ROOM_FULL: 4001,
  SERVER_FULL: 4002,
  RATE_LIMITED: 4008,
} as const;

// ---------------------------------------------------------------------------
// Files (PROTOCOL.md §11): the offer is inside a signed message; the chunks
// travel point to point in binary `to`/`from` frames, pulled by the receiver.
// ---------------------------------------------------------------------------

/** The largest file a client sends or accepts. */
export const MAX_FILE_BYTES = 100 * 2 ** 20;
/** Every chunk but the last holds exactly this much plaintext. */
export const FILE_CHUNK_BYTES = 64 * 1024;
export const MAX_FILE_CHUNKS = Math.ceil(MAX_FILE_BYTES / FILE_CHUNK_BYTES);
export const FILE_ID_BYTES = 16;
export const FILE_KEY_BYTES = 32;
export const FILE_COMMIT_BYTES = 32;
export const MAX_FILE_NAME_BYTES = 255;
export const MAX_FILE_TYPE_CHARS = 127;
/**
 * The most chunk frames a member may have asked one other member for and
 * not yet received (the relay enforces it): 2 MiB, half of the server's
 * default MAX_BACKPRESSURE_BYTES, so a receiver that stops reading holds at
 * most this much in the relay and is never closed for it.
 */
export const MAX_PULL_CREDIT = 32;

/** First byte of a binary addressed frame. */
export const ADDRESSED_KIND = { NOTE: 1, CHUNK: 2 } as const;
/** What a note asks or says (its byte 35). */
export const NOTE_OP = { WANT: 1, CANCEL: 2, DONE: 3 } as const;
/** kind ‖ fp: the fp is the recipient from a client, the sender from the server. */
export const ADDRESSED_HEADER_BYTES = 1 + FP_BYTES;
/** kind ‖ fp ‖ grant:u16 ‖ op:u8 ‖ fileId ‖ first:u32 */
export const NOTE_FRAME_BYTES = ADDRESSED_HEADER_BYTES + 2 + 1 + FILE_ID_BYTES + 4;
/** kind ‖ fp ‖ fileId ‖ index:u32, then the chunk's ciphertext ‖ tag */
export const CHUNK_HEADER_BYTES = ADDRESSED_HEADER_BYTES + FILE_ID_BYTES + 4;
export const MAX_CHUNK_FRAME_BYTES = CHUNK_HEADER_BYTES + FILE_CHUNK_BYTES + GCM_TAG_BYTES;

/** A binary addressed frame, parsed. `peer` is the raw fp; byte fields are views into the frame. */
export type Addressed =
  | { kind: 'note'; peer: Uint8Array; grant: number; op: number; fileId: Uint8Array; first: number }
  | { kind: 'chunk'; peer: Uint8Array; fileId: Uint8Array; index: number; ct: Uint8Array };

/**
 * Reads a binary `to` (client → server) or `from` (server → client) frame:
 * exact sizes, a known kind and op, a grant only on a want and at most
 * MAX_PULL_CREDIT. Both sides use it, so they cannot disagree.
 */
export function parseAddressed(frame: Uint8Array): Addressed | Error {
  if (frame.length < ADDRESSED_HEADER_BYTES) return new Error('binary frame: too short');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const peer = frame.subarray(1, ADDRESSED_HEADER_BYTES);
  if (frame[0] === ADDRESSED_KIND.NOTE) {
    if (frame.length !== NOTE_FRAME_BYTES) return new Error('note: wrong size');
    const grant = view.getUint16(ADDRESSED_HEADER_BYTES);
    const op = frame[ADDRESSED_HEADER_BYTES + 2] ?? 0;
    if (op !== NOTE_OP.WANT && op !== NOTE_OP.CANCEL && op !== NOTE_OP.DONE) return new Error('note: unknown op');
    if (op === NOTE_OP.WANT ? grant < 1 || grant > MAX_PULL_CREDIT : grant !== 0) return new Error('note: bad grant');
    const at = ADDRESSED_HEADER_BYTES + 3;
    return { kind: 'note', peer, grant, op, fileId: frame.subarray(at, at + FILE_ID_BYTES), first: view.getUint32(at + FILE_ID_BYTES) };
  }
  if (frame[0] === ADDRESSED_KIND.CHUNK) {
    if (frame.length < CHUNK_HEADER_BYTES + GCM_TAG_BYTES || frame.length > MAX_CHUNK_FRAME_BYTES) return new Error('chunk: wrong size');
    const at = ADDRESSED_HEADER_BYTES;
    return { kind: 'chunk', peer, fileId: frame.subarray(at, at + FILE_ID_BYTES), index: view.getUint32(at + FILE_ID_BYTES), ct: frame.subarray(CHUNK_HEADER_BYTES) };
  }
  return new Error('binary frame: unknown kind');
}

/** A note to `peer` (raw fp): a want grants `grant` chunk frames starting at chunk `first`. */
export function encodeNote(peer: Uint8Array, op: number, fileId: Uint8Array, first = 0, grant = 0): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(NOTE_FRAME_BYTES);
  const view = new DataView(out.buffer);
  out[0] = ADDRESSED_KIND.NOTE;
  out.set(peer, 1);
  view.setUint16(ADDRESSED_HEADER_BYTES, grant);
  out[ADDRESSED_HEADER_BYTES + 2] = op;
  out.set(fileId, ADDRESSED_HEADER_BYTES + 3);
  view.setUint32(ADDRESSED_HEADER_BYTES + 3 + FILE_ID_BYTES, first);
  return out;
}

/** A chunk frame to `peer` (raw fp). */
export function encodeChunk(peer: Uint8Array, fileId: Uint8Array, index: number, ct: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(CHUNK_HEADER_BYTES + ct.length);
  out[0] = ADDRESSED_KIND.CHUNK;
  out.set(peer, 1);
  out.set(fileId, ADDRESSED_HEADER_BYTES);
  new DataView(out.buffer).setUint32(ADDRESSED_HEADER_BYTES + FILE_ID_BYTES, index);
  out.set(ct, CHUNK_HEADER_BYTES);
  return out;
}

/** What a file offer says (the text of a `v1/inner-file` message, PROTOCOL.md §11.1). */
export interface FileOffer {
  id: string;
  name: string;
  size: number;
  type: string;
  chunkBytes: number;
  chunks: number;
  key: string;
  commit: string;
}

const FILE_TYPE_PATTERN = /^[\x21-\x7e]*$/;
const fileName: Check<string> = (value, path) => {
  if (typeof value !== 'string') return new Error(`${path}: expected a string`);
  const bytes = utf8.encode(value).length;
  return bytes >= 1 && bytes <= MAX_FILE_NAME_BYTES ? value : new Error(`${path}: expected 1 to ${MAX_FILE_NAME_BYTES} bytes`);
};
const fileType: Check<string> = (value, path) =>
  typeof value === 'string' && value.length <= MAX_FILE_TYPE_CHARS && FILE_TYPE_PATTERN.test(value) ? value : new Error(`${path}: not a media type`);

const checkFileOffer = object({
  id: b64(FILE_ID_BYTES),
  name: fileName,
  size: integer(0, MAX_FILE_BYTES),
  type: fileType,
  chunkBytes: literal(FILE_CHUNK_BYTES),
  chunks: integer(1, MAX_FILE_CHUNKS),
  key: b64(FILE_KEY_BYTES),
  commit: b64(FILE_COMMIT_BYTES),
});

/** The chunk count of a file of `size` bytes: an empty file is one empty chunk. */
export const chunkCountOf = (size: number): number => Math.max(1, Math.ceil(size / FILE_CHUNK_BYTES));

/** An offer from its JSON text: exact keys, sizes, and a chunk count that matches the size. */
export function parseFileOffer(text: string): FileOffer | Error {
  const raw = parseJson(text);
  if (raw instanceof Error) return raw;
  const offer = checkFileOffer(raw, 'offer');
  if (offer instanceof Error) return offer;
  if (offer.chunks !== chunkCountOf(offer.size)) return new Error('offer.chunks: does not match the size');
  return offer;
}

/** The text of an offer: its fields in one fixed order. */
export const encodeFileOffer = (o: FileOffer): string =>
  JSON.stringify({ id: o.id, name: o.name, size: o.size, type: o.type, chunkBytes: o.chunkBytes, chunks: o.chunks, key: o.key, commit: o.commit });
