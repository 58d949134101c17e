/**
 * The relay's fast path for the one frame it sees most: a message upload
 * `{"t":"msg","env":{…},"wraps":{…}}` (PROTOCOL.md §5.3) spelled exactly as
 * clients write it (JSON.stringify of the envelope in its field order, wraps
 * in recipient order). It finds the parts the relay needs in the frame's
 * bytes and checks every one of them as client/protocol.ts would, without
 * parsing JSON or making a string of the ciphertext or the wraps.
 *
 * It only ever says yes to a frame that decodeClientFrame accepts too, and
 * then for the same envelope and wraps: anything it is not sure of (another
 * key order, whitespace, an escape, a number spelt another way, a bad value)
 * is null, and the server decides with decodeClientFrame as before, so what
 * the relay refuses, and why, does not change. A frame in this spelling is
 * byte for byte the JSON.stringify of its checked envelope, so the relay can
 * copy the envelope out of it instead of serialising it again.
 */
import {
  FP_B64_LEN,
  GCM_TAG_BYTES,
  IV_BYTES,
  MAX_CT_BYTES,
  MAX_DATE_MS,
  MAX_MEMBERS_PER_ROOM,
  MSG_ID_LEN,
  PAD_BUCKET_BYTES,
  PROTOCOL_VERSION,
  ROOM_ID_B64_LEN,
  ROSTER_HASH_BYTES,
  SIG_BYTES,
  WRAP_BYTES,
  WRAP_HASH_BYTES,
  b64Len,
} from './client/protocol';

/** Where a canonical upload's parts are in its bytes. */
export interface UploadParts {
  /** The envelope's room and sender (short strings: the relay compares them with the connection's). */
  room: string;
  sender: string;
  /** The recipients, strictly ascending, the sender among them. */
  recipients: string[];
  /** The upload's bytes up to here are `{"t":"msg","env":` and the envelope: the head of every delivered frame. */
  envEnd: number;
  /** Where recipient i's wrap (WRAP_B64_LEN base64url characters) starts. */
  wrapAt: number[];
}

export const WRAP_B64_LEN = b64Len(WRAP_BYTES);

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Each byte's base64url value, or -1 for a byte outside the alphabet. */
const B64_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) B64_VALUE[ALPHABET.charCodeAt(i)] = i;

const bytesOf = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const HEAD = bytesOf(`{"t":"msg","env":{"v":${PROTOCOL_VERSION},"room":"`);
const SENDER = bytesOf('","sender":"');
const SEQ = bytesOf('","seq":');
const MSG_ID = bytesOf(',"msgId":"');
const TS = bytesOf('","ts":');
const ROSTER_HASH = bytesOf(',"rosterHash":"');
const RECIPIENTS = bytesOf('","recipients":[');
const IV = bytesOf('],"iv":"');
const CT = bytesOf('","ct":"');
const WRAP_HASHES = bytesOf('","wrapHashes":"');
const SIG = bytesOf('","sig":"');
const WRAPS = bytesOf('"},"wraps":{');
const WRAP_KEY_END = bytesOf('":"');

const QUOTE = 0x22;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;

/** Whether `lit` is at `at` in `b`. */
function isAt(b: Uint8Array, at: number, lit: Uint8Array): boolean {
  if (at + lit.length > b.length) return false;
  for (let i = 0; i < lit.length; i++) if (b[at + i] !== lit[i]) return false;
  return true;
}

/**
 * The length of the canonical unpadded base64url run at `at`, ended by a quote, if it is in
 * [minLen, maxLen]; else -1. Canonical as checkB64u: the alphabet, no length ≡ 1 mod 4, and
 * zero bits past the last byte.
 */
function b64Run(b: Uint8Array, at: number, minLen: number, maxLen: number): number {
  const end = Math.min(b.length, at + maxLen + 1);
  let i = at;
  while (i < end && B64_VALUE[b[i] as number] !== -1) i++;
  const len = i - at;
  if (b[i] !== QUOTE || len < minLen || len > maxLen || len % 4 === 1) return -1;
  const spareBits = (len * 6) % 8;
  const last = len === 0 ? 0 : (B64_VALUE[b[i - 1] as number] as number);
  return (last & ((1 << spareBits) - 1)) === 0 ? len : -1;
}

/** A run of `len` base64url-alphabet characters ended by a quote (a message id: no canonical check). */
function isIdRun(b: Uint8Array, at: number, len: number): boolean {
  if (at + len >= b.length) return false;
  for (let i = at; i < at + len; i++) if (B64_VALUE[b[i] as number] === -1) return false;
  return b[at + len] === QUOTE;
}

/**
 * A JSON number at `at` as JSON.stringify writes an integer in [min, max]: "0", or digits
 * without a leading zero. Returns [value, end] or null.
 */
function integerAt(b: Uint8Array, at: number, min: number, max: number): [number, number] | null {
  let i = at;
  let n = 0;
  // 16 digits hold every value up to MAX_DATE_MS and Number.MAX_SAFE_INTEGER; a 17th is out of range.
  while (i < b.length && i - at <= 16 && (b[i] as number) >= 0x30 && (b[i] as number) <= 0x39) n = n * 10 + ((b[i++] as number) - 0x30);
  const digits = i - at;
  if (digits === 0 || digits > 16 || (digits > 1 && b[at] === 0x30)) return null;
  return Number.isSafeInteger(n) && n >= min && n <= max ? [n, i] : null;
}

const latin1 = (b: Uint8Array, from: number, to: number): string => String.fromCharCode.apply(null, b.subarray(from, to) as unknown as number[]);

/**
 * The parts of `b` if it is a message upload in the canonical spelling and every value in it
 * passes the checks of client/protocol.ts (parseUpload); null otherwise, for the full check.
 */
export function scanUpload(b: Uint8Array): UploadParts | null {
  let at = HEAD.length;
  if (!isAt(b, 0, HEAD)) return null;
  if (b64Run(b, at, ROOM_ID_B64_LEN, ROOM_ID_B64_LEN) < 0) return null;
  const room = latin1(b, at, at + ROOM_ID_B64_LEN);
  at += ROOM_ID_B64_LEN;
  if (!isAt(b, at, SENDER)) return null;
  at += SENDER.length;
  if (b64Run(b, at, FP_B64_LEN, FP_B64_LEN) < 0) return null;
  const sender = latin1(b, at, at + FP_B64_LEN);
  at += FP_B64_LEN;
  if (!isAt(b, at, SEQ)) return null;
  const seq = integerAt(b, at + SEQ.length, 1, Number.MAX_SAFE_INTEGER);
  if (seq === null) return null;
  at = seq[1];
  if (!isAt(b, at, MSG_ID) || !isIdRun(b, at + MSG_ID.length, MSG_ID_LEN)) return null;
  at += MSG_ID.length + MSG_ID_LEN;
  if (!isAt(b, at, TS)) return null;
  const ts = integerAt(b, at + TS.length, 0, MAX_DATE_MS);
  if (ts === null) return null;
  at = ts[1];
  if (!isAt(b, at, ROSTER_HASH)) return null;
  at += ROSTER_HASH.length;
  const hashLen = b64Len(ROSTER_HASH_BYTES);
  if (b64Run(b, at, hashLen, hashLen) < 0) return null;
  at += hashLen;
  if (!isAt(b, at, RECIPIENTS)) return null;
  at += RECIPIENTS.length;
  const recipients: string[] = [];
  const recipientAt: number[] = [];
  for (;;) {
    if (recipients.length === MAX_MEMBERS_PER_ROOM || b[at] !== QUOTE || b64Run(b, at + 1, FP_B64_LEN, FP_B64_LEN) < 0) return null;
    const fp = latin1(b, at + 1, at + 1 + FP_B64_LEN);
    // Strictly ascending: sorted and unique.
    if (recipients.length > 0 && !((recipients[recipients.length - 1] as string) < fp)) return null;
    recipients.push(fp);
    recipientAt.push(at + 1);
    at += FP_B64_LEN + 2;
    if (b[at] !== COMMA) break;
    at += 1;
  }
  if (!recipients.includes(sender)) return null;
  if (!isAt(b, at, IV)) return null;
  at += IV.length;
  const ivLen = b64Len(IV_BYTES);
  if (b64Run(b, at, ivLen, ivLen) < 0) return null;
  at += ivLen;
  if (!isAt(b, at, CT)) return null;
  at += CT.length;
  const ctLen = b64Run(b, at, b64Len(PAD_BUCKET_BYTES + GCM_TAG_BYTES), b64Len(MAX_CT_BYTES));
  if (ctLen < 0) return null;
  at += ctLen;
  if (!isAt(b, at, WRAP_HASHES)) return null;
  at += WRAP_HASHES.length;
  // One hash per recipient (parseEnvelope), which is also within the field's bounds.
  const hashesLen = b64Len(recipients.length * WRAP_HASH_BYTES);
  if (b64Run(b, at, hashesLen, hashesLen) < 0) return null;
  at += hashesLen;
  if (!isAt(b, at, SIG)) return null;
  at += SIG.length;
  const sigLen = b64Len(SIG_BYTES);
  if (b64Run(b, at, sigLen, sigLen) < 0) return null;
  at += sigLen;
  if (!isAt(b, at, WRAPS)) return null;
  // The envelope ends at its "}", after the signature's closing quote.
  const envEnd = at + 2;
  at += WRAPS.length;
  // Exactly one wrap per recipient, keyed by its fingerprint, in recipient order.
  const wrapAt: number[] = [];
  for (let i = 0; i < recipients.length; i++) {
    if (i > 0 && b[at++] !== COMMA) return null;
    const from = recipientAt[i] as number;
    if (b[at] !== QUOTE) return null;
    for (let k = 0; k < FP_B64_LEN; k++) if (b[at + 1 + k] !== b[from + k]) return null;
    at += 1 + FP_B64_LEN;
    if (!isAt(b, at, WRAP_KEY_END)) return null;
    at += WRAP_KEY_END.length;
    if (b64Run(b, at, WRAP_B64_LEN, WRAP_B64_LEN) < 0) return null;
    wrapAt.push(at);
    at += WRAP_B64_LEN + 1;
  }
  if (at + 2 !== b.length || b[at] !== CLOSE_BRACE || b[at + 1] !== CLOSE_BRACE) return null;
  return { room, sender, recipients, envEnd, wrapAt };
}
