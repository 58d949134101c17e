/**
 * Frames with the right shape and sizes but random bytes: enough for the
 * server, which checks shape and identity, not cryptography. Fast to make in
 * bulk, for load and fuzz tests (the client core makes real ones elsewhere).
 */
import { createHash, randomBytes } from 'node:crypto';
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
  fingerprintWith,
  toB64u,
  type Envelope,
  type Hello,
} from '../../client/protocol';

export const rand = (n: number): string => toB64u(randomBytes(n));

/** A hello the server accepts, and the fingerprint it will register for it. */
export function shapedHello(roomId: string): { hello: Hello; fp: string } {
  const hello: Hello = { v: 1, roomId, encSpki: rand(ENC_SPKI_BYTES), sigSpki: rand(SIG_SPKI_BYTES), nameCt: rand(NAME_CT_BYTES), sig: rand(SIG_BYTES), mac: rand(MAC_BYTES) };
  return { hello, fp: fingerprintWith((data) => createHash('sha256').update(data).digest(), hello) };
}

let msgCounter = 0;
/** A unique 21-character message id. */
export const msgId = (): string => `m${String(++msgCounter).padStart(20, '0')}`;

/** An envelope from `sender` to itself plus `others` random recipients. */
export function shapedEnvelope(room: string, sender: string, seq: number, others = 0, ctBytes = 272): Envelope {
  const recipients = [sender, ...Array.from({ length: others }, () => rand(FP_BYTES))].sort();
  const wraps: Record<string, string> = {};
  for (const r of recipients) wraps[r] = rand(WRAP_BYTES);
  return { v: 1, room, sender, seq, msgId: msgId(), ts: Date.now(), rosterHash: rand(ROSTER_HASH_BYTES), recipients, iv: rand(IV_BYTES), ct: rand(ctBytes), wraps, sig: rand(SIG_BYTES) };
}
