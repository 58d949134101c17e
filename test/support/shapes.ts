/**
 * Frames with the right shape and sizes but random bytes: enough for the
 * server, which checks shape and identity, not cryptography. Fast to make in
 * bulk, for load and fuzz tests (the client core makes real ones elsewhere).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import {
  ENC_SPKI_BYTES,
  FP_BYTES,
  IV_BYTES,
  MAC_BYTES,
  NAME_CT_BYTES,
  ROSTER_HASH_BYTES,
  SIG_BYTES,
  SIG_SPKI_BYTES,
  WRAP_BYTES,
  WRAP_HASH_BYTES,
  doorSignedBytes,
  fingerprintWith,
  logsPath,
  logsSignedBytes,
  roomIdWith,
  toB64u,
  type Door,
  type Envelope,
  type Hello,
  type Wraps,
} from '../../client/protocol';

export const rand = (n: number): string => toB64u(randomBytes(n));
const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** What the server can check of a link: its room id and door key, derived as crypto.ts does, with Node's synchronous crypto. */
export interface LinkDoor {
  secret: Uint8Array;
  roomId: string;
  doorPub: string;
  doorKey: KeyObject;
}

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A link's door (a random link unless `secret` is given). */
export function linkDoor(secret: Uint8Array = randomBytes(32)): LinkDoor {
  // The first seed without a leading zero byte, as the client's doorSeedOf (PROTOCOL.md §2).
  let seed = Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), 'v1/door-key', 32));
  for (let k = 1; seed[0] === 0; k++) seed = Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), `v1/door-key|${k}`, 32));
  const doorKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const pub = Buffer.from(createPublicKey(doorKey).export({ format: 'jwk' }).x ?? '', 'base64url');
  return { secret, roomId: roomIdWith(sha256, pub), doorPub: toB64u(pub), doorKey };
}

/** The door signature for one connection's nonce and one identity. */
export const doorOf = (link: LinkDoor, nonce: string, fp: string): Door =>
  ({ pub: link.doorPub, sig: toB64u(sign(null, doorSignedBytes(link.roomId, nonce, fp), link.doorKey)) });

/**
 * A hello the server accepts on the connection that sent `nonce` (its door
 * signed with the link's key; everything else random), and the fingerprint
 * it will register. Without a link (a socket that knows only the room id):
 * a door of random bytes, which the server refuses.
 */
export function shapedHello(link: LinkDoor | string, nonce: string, signer?: KeyObject): { hello: Hello; door: Door; fp: string } {
  const roomId = typeof link === 'string' ? link : link.roomId;
  const sigSpki = signer === undefined ? rand(SIG_SPKI_BYTES) : toB64u(createPublicKey(signer).export({ format: 'der', type: 'spki' }));
  const hello: Hello = { v: 1, roomId, encSpki: rand(ENC_SPKI_BYTES), sigSpki, nameCt: rand(NAME_CT_BYTES), sig: rand(SIG_BYTES), mac: rand(MAC_BYTES) };
  const fp = fingerprintWith(sha256, hello);
  const door = typeof link === 'string' ? { pub: rand(32), sig: rand(64) } : doorOf(link, nonce, fp);
  return { hello, door, fp };
}

/** A real P-256 signing key, for a shaped member that must sign something the server checks (a /logs request). */
export const shapedSigner = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** A low-s ECDSA P-256 signature, as crypto.ts `ecdsaSign` makes; `isHighS` gives its high-s twin instead. */
export function ecdsaSignNode(signer: KeyObject, data: Uint8Array, isHighS = false): string {
  const sig = sign('sha256', data, { key: signer, dsaEncoding: 'ieee-p1363' });
  const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
  const isLow = s <= P256_N / 2n;
  if (isLow === isHighS) Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex').copy(sig, 32);
  return toB64u(sig);
}

/** The path of a /logs request for `fp`, signed by `signer`, expiring at `exp`. */
export const shapedLogsPath = (roomId: string, fp: string, signer: KeyObject, exp = Date.now() + 30_000): string =>
  logsPath(roomId, { fp, exp, sig: ecdsaSignNode(signer, logsSignedBytes(roomId, fp, exp)) });

let msgCounter = 0;
/** A unique 21-character message id. */
export const msgId = (): string => `m${String(++msgCounter).padStart(20, '0')}`;

/** An envelope from `sender` to itself plus `others` random recipients. */
export function shapedEnvelope(room: string, sender: string, seq: number, others = 0, ctBytes = 272): Envelope {
  const recipients = [sender, ...Array.from({ length: others }, () => rand(FP_BYTES))].sort();
  return { v: 1, room, sender, seq, msgId: msgId(), ts: Date.now(), rosterHash: rand(ROSTER_HASH_BYTES), recipients, iv: rand(IV_BYTES), ct: rand(ctBytes), wrapHashes: rand(recipients.length * WRAP_HASH_BYTES), sig: rand(SIG_BYTES) };
}

/** A message upload's parts as a client seals them (`encodeUpload` makes the frame): a shaped envelope (as shapedEnvelope) and a random wrap per recipient. */
export function shapedUpload(room: string, sender: string, seq: number, others = 0, ctBytes = 272): { t: 'msg'; env: Envelope; wraps: Wraps } {
  const env = shapedEnvelope(room, sender, seq, others, ctBytes);
  const wraps: Wraps = {};
  for (const r of env.recipients) wraps[r] = rand(WRAP_BYTES);
  return { t: 'msg', env, wraps };
}

/**
 * A binary message upload framed by hand from PROTOCOL.md §4.3: kind 3, the
 * envelope's JSON length as a big-endian u16, the JSON text as written, the
 * raw wraps. For sending an envelope's JSON exactly as a test writes it
 * (whitespace, numbers JSON.stringify cannot make, no JSON at all), and for
 * checking the layout against the document rather than against encodeUpload.
 * A text longer than 65,535 bytes gets a wrong length (its low 16 bits), as a
 * fuzzer may want.
 */
export function framedUpload(envText: string, wraps: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(envText);
  const out = new Uint8Array(3 + text.length + wraps.length);
  out.set([3, (text.length >> 8) & 0xff, text.length & 0xff]);
  out.set(text, 3);
  out.set(wraps, 3 + text.length);
  return out;
}

/** An upload's envelope JSON exactly as written in it, and its raw wraps (the layout of framedUpload). */
export function uploadParts(upload: Uint8Array): { envText: string; wraps: Uint8Array } {
  const envEnd = 3 + (((upload[1] as number) << 8) | (upload[2] as number));
  return { envText: new TextDecoder().decode(upload.subarray(3, envEnd)), wraps: upload.subarray(envEnd) };
}

/** The same upload with its envelope's JSON re-framed with tabs and newlines between its tokens, as JSON allows. */
export function respacedUpload(upload: Uint8Array): Uint8Array {
  const { envText, wraps } = uploadParts(upload);
  return framedUpload(JSON.stringify(JSON.parse(envText), null, '\t'), wraps);
}
