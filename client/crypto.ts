/**
 * Hush's cryptography: WebCrypto only (globalThis.crypto), no DOM, so the
 * same code runs in the browser, in Node and in vitest.
 * Protocol: PROTOCOL.md §2 (link and room keys), §3 (identity), §5 (every signed, MAC'd and
 * hashed encoding).
 */
import {
  GCM_TAG_BYTES,
  IV_BYTES,
  WRAP_HASH_BYTES,
  MAX_BODY_BYTES,
  MAX_NAME_BYTES,
  NAME_PT_BYTES,
  PAD_BUCKET_BYTES,
  P256_N,
  PROTOCOL_VERSION,
  DOOR_PUB_BYTES,
  bigIntOf,
  isLowS,
  ROOM_ID_BYTES,
  continuitySignedBytes,
  doorSignedBytes,
  logsPath,
  logsSignedBytes,
  roomIdInput,
  SECRET_BYTES,
  decParts,
  enc,
  envelopeHeader,
  envelopeSignedBytes,
  fingerprintInput,
  fromB64u,
  helloMacBytes,
  helloSignedBytes,
  rosterConfirmSignedBytes,
  rosterInput,
  toB64u,
  wrapHashInput,
  wrapHashOf,
  wrapLabel,
  type Continuity,
  type Door,
  type Envelope,
  type Hello,
  type RosterConfirm,
  type Wraps,
} from './protocol';

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

const RSA_PARAMS = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;
const RSA_MODULUS_BITS = 3072;
const RSA_EXPONENT = new Uint8Array([1, 0, 1]);
const EC_PARAMS = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** libsignal's iteration count for displayable fingerprints. */
export const SAFETY_CODE_ITERATIONS = 5200;

/** The decoder used on data that a parser already checked; a failure here is a bug, not input. */
function b64(text: string): Uint8Array<ArrayBuffer> {
  const bytes = fromB64u(text);
  if (bytes instanceof Error) throw bytes;
  return bytes as Uint8Array<ArrayBuffer>;
}

const bytesOf = (buf: ArrayBuffer): Uint8Array<ArrayBuffer> => new Uint8Array(buf);
const u8 = (b: Uint8Array): Uint8Array<ArrayBuffer> => b as Uint8Array<ArrayBuffer>;

/** SHA-256 of `data`. */
export async function sha256(data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return bytesOf(await subtle.digest('SHA-256', u8(data)));
}

/** `count` fresh random bytes. */
export function randomBytes(count: number): Uint8Array<ArrayBuffer> {
  return globalThis.crypto.getRandomValues(new Uint8Array(count));
}

// ---------------------------------------------------------------------------
// Signatures: ECDSA is malleable ((r, s) and (r, n − s) both verify), so Hush
// signs with the low s and accepts only that one: one signature per message.
// ---------------------------------------------------------------------------

function toBytes32(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31, v = x; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** Signs `data`; returns the low-s signature, base64url. */
export async function ecdsaSign(priv: CryptoKey, data: Uint8Array): Promise<string> {
  const sig = bytesOf(await subtle.sign(ECDSA_SIGN, priv, u8(data)));
  if (!isLowS(sig)) sig.set(toBytes32(P256_N - bigIntOf(sig.subarray(32))), 32);
  return toB64u(sig);
}

/** Verifies a signature made by ecdsaSign; a high-s twin is refused. */
export async function ecdsaVerify(pub: CryptoKey, sigB64: string, data: Uint8Array): Promise<boolean> {
  const sig = b64(sigB64);
  if (!isLowS(sig)) return false;
  return subtle.verify(ECDSA_SIGN, pub, sig, u8(data));
}

// ---------------------------------------------------------------------------
// Room keys from the link secret
// ---------------------------------------------------------------------------

/** A fresh link secret, base64url: what goes after the `#`. */
export const newRoomSecret = (): string => toB64u(randomBytes(SECRET_BYTES));

/** HKDF-SHA256(ikm, salt, info) → `length` bytes. */
export async function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const key = await subtle.importKey('raw', u8(ikm), 'HKDF', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: u8(salt), info: utf8.encode(info) }, key, length * 8);
  return bytesOf(bits);
}

/** What the link secret yields. Keys are non-extractable, each for one usage. */
export interface RoomKeys {
  /** The only room identifier the server ever sees: it commits to `doorPub`. */
  roomId: string;
  /** The link's Ed25519 door key, raw public key, base64url: shown to the server at every hello. */
  doorPub: string;
  /** Its private half, which signs the server's challenge (`signDoor`). */
  doorKey: CryptoKey;
  kHello: CryptoKey;
  kName: CryptoKey;
  msgSalt: Uint8Array;
}

export const ROOM_LABELS = {
  doorSeed: 'v1/door-key',
  kHello: 'v1/hello-mac',
  kName: 'v1/name',
  msgSalt: 'v1/msg-salt',
} as const;

/** RFC 8410's PKCS#8 wrapping of a 32-byte Ed25519 seed: WebCrypto imports private keys only in a container. */
const ED25519_PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/**
 * The door key from its seed: imported once extractable, only to read the
 * public key (WebCrypto derives no public key from a private one otherwise),
 * then again non-extractable, for signing only.
 */
async function doorKeyOf(seed: Uint8Array): Promise<{ doorPub: Uint8Array<ArrayBuffer>; doorKey: CryptoKey }> {
  const pkcs8 = new Uint8Array(ED25519_PKCS8_PREFIX.length + seed.length);
  pkcs8.set(ED25519_PKCS8_PREFIX);
  pkcs8.set(seed, ED25519_PKCS8_PREFIX.length);
  const readable = await subtle.importKey('pkcs8', pkcs8, 'Ed25519', true, ['sign']);
  const doorPub = fromB64u((await subtle.exportKey('jwk', readable)).x ?? '');
  if (doorPub instanceof Error || doorPub.length !== DOOR_PUB_BYTES) throw new Error('this browser cannot make Ed25519 keys');
  return { doorPub, doorKey: await subtle.importKey('pkcs8', pkcs8, 'Ed25519', false, ['sign']) };
}

/** How many door seeds are tried before giving up: each is refused with probability 1/256, so 32 never all are. */
const DOOR_SEED_TRIES = 32;

/**
 * The door key's seed: the first of HKDF(S, "v1/door-key"), HKDF(S, "v1/door-key|1"), … whose
 * first byte is not zero. WebKitGTK's WebCrypto refuses (DataError) a PKCS#8 Ed25519 seed that
 * starts with a zero byte, so one link in 256 could not be opened there; every client skips
 * such a seed, so the room id is the same in every engine.
 */
export async function doorSeedOf(secret: Uint8Array): Promise<Uint8Array> {
  const none = new Uint8Array(0);
  for (let k = 0; k < DOOR_SEED_TRIES; k++) {
    const seed = await hkdf(secret, none, k === 0 ? ROOM_LABELS.doorSeed : `${ROOM_LABELS.doorSeed}|${k}`, 32);
    if (seed[0] !== 0) return seed;
  }
  throw new Error('no door seed without a leading zero');
}

export async function deriveRoomKeys(secret: Uint8Array): Promise<RoomKeys> {
  if (secret.length !== SECRET_BYTES) throw new Error(`room secret must be ${SECRET_BYTES} bytes`);
  const none = new Uint8Array(0);
  const [doorSeed, kHello, kName, msgSalt] = await Promise.all([
    doorSeedOf(secret),
    hkdf(secret, none, ROOM_LABELS.kHello, 32),
    hkdf(secret, none, ROOM_LABELS.kName, 32),
    hkdf(secret, none, ROOM_LABELS.msgSalt, 32),
  ]);
  const { doorPub, doorKey } = await doorKeyOf(doorSeed);
  return {
    roomId: toB64u((await sha256(roomIdInput(doorPub))).subarray(0, ROOM_ID_BYTES)),
    doorPub: toB64u(doorPub),
    doorKey,
    kHello: await subtle.importKey('raw', kHello, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']),
    kName: await subtle.importKey('raw', kName, 'AES-GCM', false, ['encrypt', 'decrypt']),
    msgSalt,
  };
}

/**
 * Opens the server's door for one connection: the door key signs the room,
 * the server's nonce and the joining fingerprint, so a proof works once, on
 * that connection, for that identity.
 */
export async function signDoor(keys: RoomKeys, nonce: string, fp: string): Promise<Door> {
  const sig = bytesOf(await subtle.sign('Ed25519', keys.doorKey, doorSignedBytes(keys.roomId, nonce, fp)));
  return { pub: keys.doorPub, sig: toB64u(sig) };
}

// ---------------------------------------------------------------------------
// Identity per tab
// ---------------------------------------------------------------------------

/** This tab's keys. Private keys are non-extractable and never stored. */
export interface Identity {
  encPriv: CryptoKey;
  sigPriv: CryptoKey;
  encSpki: string;
  sigSpki: string;
  fp: string;
}

/** What of an earlier identity vouches for the next one (PROTOCOL.md §6.4): its fingerprint and signing key. */
export type Vouching = Pick<Identity, 'fp' | 'sigPriv'>;

/** A checked member's public keys. */
export interface PeerKeys {
  encPub: CryptoKey;
  sigPub: CryptoKey;
  encSpki: string;
  sigSpki: string;
  fp: string;
}

/** fp = SHA-256(enc("v1/fp", encSPKI, sigSPKI)), base64url. */
export async function fingerprint(encSpki: string, sigSpki: string): Promise<string> {
  return toB64u(await sha256(fingerprintInput(encSpki, sigSpki)));
}

export async function generateIdentity(): Promise<Identity> {
  const [encPair, sigPair] = await Promise.all([
    subtle.generateKey({ ...RSA_PARAMS, modulusLength: RSA_MODULUS_BITS, publicExponent: RSA_EXPONENT }, false, ['encrypt', 'decrypt']),
    subtle.generateKey(EC_PARAMS, false, ['sign', 'verify']),
  ]);
  // Public keys are always exportable, even when the pair is not.
  const encSpki = toB64u(bytesOf(await subtle.exportKey('spki', encPair.publicKey)));
  const sigSpki = toB64u(bytesOf(await subtle.exportKey('spki', sigPair.publicKey)));
  return { encPriv: encPair.privateKey, sigPriv: sigPair.privateKey, encSpki, sigSpki, fp: await fingerprint(encSpki, sigSpki) };
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Imports a peer's public keys and checks them against policy
 * (RSA 3072, e = 65537; ECDSA P-256). Weak or odd keys are an Error.
 */
export async function importPeerKeys(encSpki: string, sigSpki: string): Promise<PeerKeys | Error> {
  let encPub: CryptoKey;
  let sigPub: CryptoKey;
  try {
    encPub = await subtle.importKey('spki', b64(encSpki), RSA_PARAMS, true, ['encrypt']);
    sigPub = await subtle.importKey('spki', b64(sigSpki), EC_PARAMS, true, ['verify']);
  } catch {
    return new Error('public key is not a valid RSA-OAEP or P-256 key');
  }
  const rsa = encPub.algorithm as RsaHashedKeyAlgorithm;
  if (rsa.modulusLength !== RSA_MODULUS_BITS || !sameBytes(rsa.publicExponent, RSA_EXPONENT)) {
    return new Error('encryption key is not RSA-3072 with e = 65537');
  }
  // Some broken keys (an even modulus) import fine but fail at encrypt time,
  // which would stop everyone's sending. Find out now, once per member.
  try {
    await subtle.encrypt(RSA_PARAMS, encPub, new Uint8Array(32));
  } catch {
    return new Error('encryption key does not work');
  }
  return { encPub, sigPub, encSpki, sigSpki, fp: await fingerprint(encSpki, sigSpki) };
}

// ---------------------------------------------------------------------------
// Names: encrypted under the link-derived key, bound to the member's keys
// ---------------------------------------------------------------------------

const nameAad = (roomId: string, encSpki: string, sigSpki: string): Uint8Array<ArrayBuffer> =>
  u8(enc('v1/name', roomId, encSpki, sigSpki));

/** iv ‖ AES-GCM(kName, len ‖ name ‖ zero padding), base64url. */
export async function encryptName(keys: RoomKeys, encSpki: string, sigSpki: string, name: string): Promise<string> {
  const nameBytes = utf8.encode(name);
  if (nameBytes.length < 1 || nameBytes.length > MAX_NAME_BYTES) throw new Error(`a name is 1 to ${MAX_NAME_BYTES} bytes`);
  const pt = new Uint8Array(NAME_PT_BYTES);
  pt[0] = nameBytes.length;
  pt.set(nameBytes, 1);
  const iv = randomBytes(IV_BYTES);
  const ct = bytesOf(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: nameAad(keys.roomId, encSpki, sigSpki) }, keys.kName, pt));
  const out = new Uint8Array(IV_BYTES + ct.length);
  out.set(iv);
  out.set(ct, IV_BYTES);
  return toB64u(out);
}

export async function decryptName(keys: RoomKeys, encSpki: string, sigSpki: string, nameCt: string): Promise<string | Error> {
  const data = b64(nameCt);
  let pt: Uint8Array;
  try {
    pt = bytesOf(await subtle.decrypt(
      { name: 'AES-GCM', iv: data.subarray(0, IV_BYTES), additionalData: nameAad(keys.roomId, encSpki, sigSpki) },
      keys.kName,
      data.subarray(IV_BYTES),
    ));
  } catch {
    return new Error('name does not decrypt with this link');
  }
  const len = pt[0] ?? 0;
  if (len < 1 || len > MAX_NAME_BYTES || pt.subarray(1 + len).some((b) => b !== 0)) return new Error('name is malformed');
  try {
    return utf8Strict.decode(pt.subarray(1, 1 + len));
  } catch {
    return new Error('name is not UTF-8');
  }
}

// ---------------------------------------------------------------------------
// Hello: signed by the member, MAC'd with the link so the relay can't forge one
// ---------------------------------------------------------------------------

/**
 * A join announcement. `previous`: this tab's identity of its last
 * connection, which then vouches for the new keys (PROTOCOL.md §6.4).
 */
export async function makeHello(keys: RoomKeys, id: Identity, name: string, previous?: Vouching): Promise<Hello> {
  const unsigned = {
    v: PROTOCOL_VERSION,
    roomId: keys.roomId,
    encSpki: id.encSpki,
    sigSpki: id.sigSpki,
    nameCt: await encryptName(keys, id.encSpki, id.sigSpki, name),
    ...(previous === undefined ? {} : { prev: { fp: previous.fp, sig: await ecdsaSign(previous.sigPriv, continuitySignedBytes(keys.roomId, previous.fp, id.fp)) } }),
  };
  const sig = await ecdsaSign(id.sigPriv, helloSignedBytes(unsigned));
  const mac = toB64u(bytesOf(await subtle.sign('HMAC', keys.kHello, u8(helloMacBytes({ ...unsigned, sig })))));
  return { ...unsigned, sig, mac };
}

export interface CheckedHello extends PeerKeys {
  name: string;
  /** The previous identity this hello claims to continue; check it with verifyContinuity. */
  prev?: Continuity;
}

/** True when `prev` is the previous identity's signature vouching for `next`. */
export async function verifyContinuity(roomId: string, prev: Continuity, prevSigPub: CryptoKey, nextFp: string): Promise<boolean> {
  return ecdsaVerify(prevSigPub, prev.sig, continuitySignedBytes(roomId, prev.fp, nextFp));
}

/** Checks a hello in order: room, link MAC, key policy, signature, name. */
export async function openHello(keys: RoomKeys, hello: Hello): Promise<CheckedHello | Error> {
  if (hello.roomId !== keys.roomId) return new Error('hello is for another room');
  const macOk = await subtle.verify('HMAC', keys.kHello, b64(hello.mac), u8(helloMacBytes(hello)));
  if (!macOk) return new Error('hello was not made with this room link');
  const peer = await importPeerKeys(hello.encSpki, hello.sigSpki);
  if (peer instanceof Error) return peer;
  const sigOk = await ecdsaVerify(peer.sigPub, hello.sig, helloSignedBytes(hello));
  if (!sigOk) return new Error('hello signature is invalid');
  const name = await decryptName(keys, hello.encSpki, hello.sigSpki, hello.nameCt);
  if (name instanceof Error) return name;
  return { ...peer, name, ...(hello.prev === undefined ? {} : { prev: hello.prev }) };
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/** SHA-256 over the sorted fingerprints, base64url. */
export async function rosterHash(fps: readonly string[]): Promise<string> {
  return toB64u(await sha256(rosterInput([...fps].sort())));
}

/** HKDF-SHA256(K, msgSalt, "v1/msg-key|" ‖ msgId) as an AES-256-GCM key: deriveKey, one step fewer than deriveBits and an import. */
async function messageKey(keys: RoomKeys, k: Uint8Array, msgId: string): Promise<CryptoKey> {
  const ikm = await subtle.importKey('raw', u8(k), 'HKDF', false, ['deriveKey']);
  return subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: u8(keys.msgSalt), info: utf8.encode(`v1/msg-key|${msgId}`) }, ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/** The inner label says what the body is: `v1/inner` a chat message, `v1/inner-file` a file offer (PROTOCOL.md §11.1). */
const INNER_LABELS = { text: 'v1/inner', file: 'v1/inner-file' } as const;
export type InnerKind = keyof typeof INNER_LABELS;

const innerBytes = (kind: InnerKind, sender: string, room: string, seq: number, body: string): Uint8Array => enc(INNER_LABELS[kind], sender, room, seq, body);

function pad(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.max(1, Math.ceil(data.length / PAD_BUCKET_BYTES)) * PAD_BUCKET_BYTES);
  out.set(data);
  return out;
}

export interface Outgoing {
  msgId: string;
  seq: number;
  ts: number;
  body: string;
  /** Absent: a chat message. */
  kind?: InnerKind;
}

/** A sealed message as its sender uploads it: the envelope every member gets, and the wraps the relay hands out one each. */
export interface Sealed {
  env: Envelope;
  wraps: Wraps;
}

/** What sealMessage hands its sender: the upload and K itself, never sent, which opens the sender's own echo instead of its own wrap (PROTOCOL.md §7.3, check 10). */
export interface SealedForSender extends Sealed {
  k: Uint8Array<ArrayBuffer>;
}

/** SHA-256(wrapHashInput): what the envelope signs of recipient `fp`'s wrap. */
export async function wrapHash(room: string, msgId: string, fp: string, wrap: string): Promise<Uint8Array<ArrayBuffer>> {
  return sha256(wrapHashInput(room, msgId, fp, wrap));
}

/** True when `wrap` is the one the envelope's signed hash list holds for recipient `fp`. */
export async function isWrapFor(env: Envelope, fp: string, wrap: string): Promise<boolean> {
  const want = wrapHashOf(env, fp);
  return want !== null && sameBytes(await wrapHash(env.room, env.msgId, fp, wrap), want);
}

/**
 * Encrypts `body` once under a fresh key K, wraps K for each recipient with
 * an OAEP label that binds room, message and recipient, and signs it all:
 * the header, the ciphertext and each wrap through its hash.
 */
export async function sealMessage(keys: RoomKeys, id: Identity, out: Outgoing, recipients: readonly PeerKeys[]): Promise<SealedForSender> {
  if (utf8.encode(out.body).length > MAX_BODY_BYTES) throw new Error(`a message is at most ${MAX_BODY_BYTES} bytes`);
  const sorted = [...recipients].sort((a, b) => (a.fp < b.fp ? -1 : 1));
  const fps = sorted.map((r) => r.fp);
  const hdrFields = {
    v: PROTOCOL_VERSION,
    room: keys.roomId,
    sender: id.fp,
    seq: out.seq,
    msgId: out.msgId,
    ts: out.ts,
    rosterHash: await rosterHash(fps),
    recipients: fps,
  };
  const k = randomBytes(32);
  const iv = randomBytes(IV_BYTES);
  const aad = await sha256(envelopeHeader(hdrFields));
  const ct = bytesOf(await subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: aad },
    await messageKey(keys, k, out.msgId),
    pad(innerBytes(out.kind ?? 'text', id.fp, keys.roomId, out.seq, out.body)),
  ));
  const wrapList = await Promise.all(sorted.map(async (r) =>
    toB64u(bytesOf(await subtle.encrypt({ name: 'RSA-OAEP', label: u8(wrapLabel(keys.roomId, out.msgId, r.fp)) }, r.encPub, k)))));
  const wraps: Wraps = {};
  fps.forEach((fp, i) => (wraps[fp] = wrapList[i] as string));
  const hashes = await Promise.all(fps.map((fp, i) => wrapHash(keys.roomId, out.msgId, fp, wrapList[i] as string)));
  const wrapHashes = new Uint8Array(hashes.length * WRAP_HASH_BYTES);
  hashes.forEach((h, i) => wrapHashes.set(h, i * WRAP_HASH_BYTES));
  const unsigned = { ...hdrFields, iv: toB64u(iv), ct: toB64u(ct), wrapHashes: toB64u(wrapHashes) };
  const sig = await ecdsaSign(id.sigPriv, envelopeSignedBytes(unsigned));
  return { env: { ...unsigned, sig }, wraps, k };
}

/** True when `env.sig` is the sender's signature over the whole envelope (each wrap through its hash: check one with isWrapFor). */
export async function verifyEnvelope(env: Envelope, sigPub: CryptoKey): Promise<boolean> {
  return ecdsaVerify(sigPub, env.sig, envelopeSignedBytes(env));
}

export interface Inner {
  sender: string;
  room: string;
  seq: number;
  body: string;
  kind: InnerKind;
}

/**
 * Unwraps K from this tab's `wrap` with its key, decrypts, and checks the padding.
 * `sentK`: the K this tab made for the message, when it is its own echo; then the
 * RSA unwrap of its own wrap (most of the cost) is skipped, the rest is the same.
 */
export async function openMessage(keys: RoomKeys, id: Identity, env: Envelope, wrap: string | undefined, sentK?: Uint8Array<ArrayBuffer>): Promise<Inner | Error> {
  if (wrap === undefined) return new Error('no key for me');
  let pt: Uint8Array;
  try {
    const ct = b64(env.ct);
    if ((ct.length - GCM_TAG_BYTES) % PAD_BUCKET_BYTES !== 0) return new Error('ciphertext is not padded');
    // Independent: the unwrap and the header hash run side by side.
    const [k, aad] = await Promise.all([
      sentK ?? subtle.decrypt({ name: 'RSA-OAEP', label: u8(wrapLabel(env.room, env.msgId, id.fp)) }, id.encPriv, b64(wrap)),
      sha256(envelopeHeader(env)),
    ]);
    pt = bytesOf(await subtle.decrypt({ name: 'AES-GCM', iv: b64(env.iv), additionalData: aad }, await messageKey(keys, new Uint8Array(k), env.msgId), ct));
  } catch {
    return new Error('message does not decrypt');
  }
  const parts = decParts(pt, 5);
  if (parts instanceof Error) return parts;
  try {
    const [label, sender, room, seq, body] = parts.map((p) => utf8Strict.decode(p));
    const kind = label === INNER_LABELS.file ? 'file' : 'text';
    if (label !== INNER_LABELS[kind] || sender === undefined || room === undefined || seq === undefined || body === undefined || !/^[1-9][0-9]{0,15}$/.test(seq)) {
      return new Error('inner encoding is malformed');
    }
    return { sender, room, seq: Number(seq), body, kind };
  } catch {
    return new Error('inner text is not UTF-8');
  }
}

// ---------------------------------------------------------------------------
// Safety codes: libsignal's displayable fingerprint (fingerprint.rs)
// ---------------------------------------------------------------------------

/**
 * SHA-512 iterated over version ‖ key ‖ id ‖ key, as libsignal's
 * `get_fingerprint`: the first round hashes all four, each later round the
 * previous hash ‖ key.
 */
export async function fingerprintHash(key: Uint8Array, id: Uint8Array, iterations = SAFETY_CODE_ITERATIONS): Promise<Uint8Array<ArrayBuffer>> {
  const version = new Uint8Array(2);
  const first = new Uint8Array(2 + key.length + id.length + key.length);
  first.set(version);
  first.set(key, 2);
  first.set(id, 2 + key.length);
  first.set(key, 2 + key.length + id.length);
  let hash = bytesOf(await subtle.digest('SHA-512', first));
  const next = new Uint8Array(hash.length + key.length);
  next.set(key, hash.length);
  for (let i = 1; i < iterations; i++) {
    next.set(hash);
    hash = bytesOf(await subtle.digest('SHA-512', next));
  }
  return hash;
}

/** libsignal's displayable form: six 5-byte big-endian chunks, each mod 100000, as 30 digits. */
export function digitsOf(hash: Uint8Array): string {
  let code = '';
  for (let c = 0; c < 6; c++) {
    // 5 bytes exceed 32 bits, so use arithmetic, not bitwise shifts.
    let x = 0;
    for (let j = 0; j < 5; j++) x = x * 256 + (hash[c * 5 + j] ?? 0);
    code += String(x % 100000).padStart(5, '0');
  }
  return code;
}

/** One party's half of libsignal's displayable fingerprint. */
export async function displayableFingerprint(key: Uint8Array, id: Uint8Array, iterations = SAFETY_CODE_ITERATIONS): Promise<string> {
  return digitsOf(await fingerprintHash(key, id, iterations));
}

export interface SafetyCode {
  /** 30 digits, libsignal's algorithm. */
  digits: string;
  /** The full iterated hash, for compact forms derived from the same fingerprint. */
  hash: Uint8Array;
}

/** A member's safety code: key = encSPKI ‖ sigSPKI, id = the room id. */
export async function safetyCode(roomId: string, encSpki: string, sigSpki: string): Promise<SafetyCode> {
  const e = b64(encSpki);
  const s = b64(sigSpki);
  const key = new Uint8Array(e.length + s.length);
  key.set(e);
  key.set(s, e.length);
  const hash = await fingerprintHash(key, b64(roomId));
  return { digits: digitsOf(hash), hash };
}

// ---------------------------------------------------------------------------
// Roster confirmations
// ---------------------------------------------------------------------------

/** What a statement acknowledges of each member: the last seq and statement counter received from it. */
export interface Heard {
  seq: number;
  n: number;
}

export interface StatementExtras {
  ts?: number;
  isLeaving?: boolean;
  /** What the signer has received from each member; absent members count as 0. */
  heard?: (fp: string) => Heard;
}

/**
 * Signs "this is the roster I see": my fingerprint, a counter, my last seq,
 * the sorted member list, and what I last received from each member.
 */
export async function signRosterConfirm(keys: RoomKeys, id: Identity, n: number, seq: number, fps: readonly string[], extras: StatementExtras = {}): Promise<RosterConfirm> {
  const members = [...fps].sort();
  const heard = members.map((fp) => extras.heard?.(fp) ?? { seq: 0, n: 0 });
  const unsigned = {
    v: PROTOCOL_VERSION,
    room: keys.roomId,
    sender: id.fp,
    n,
    seq,
    ts: extras.ts ?? Date.now(),
    isLeaving: extras.isLeaving ?? false,
    members,
    heard: heard.map((h) => h.seq),
    acks: heard.map((h) => h.n),
  };
  const sig = await ecdsaSign(id.sigPriv, rosterConfirmSignedBytes(unsigned));
  return { ...unsigned, sig };
}

/**
 * A member's signed request to read the room's /logs until `exp` (epoch ms,
 * at most MAX_LOGS_URL_LIFETIME_MS ahead): the server answers only while that
 * member is in the room. Returns the path to fetch.
 */
export async function signLogsRequest(keys: RoomKeys, id: Identity, exp: number): Promise<string> {
  const sig = await ecdsaSign(id.sigPriv, logsSignedBytes(keys.roomId, id.fp, exp));
  return logsPath(keys.roomId, { fp: id.fp, exp, sig });
}

export async function verifyRosterConfirm(rc: RosterConfirm, sigPub: CryptoKey): Promise<boolean> {
  return ecdsaVerify(sigPub, rc.sig, rosterConfirmSignedBytes(rc));
}
