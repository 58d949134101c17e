/**
 * What a refusal means: each reason a receiver check can give (PROTOCOL.md
 * §7), the Security panel counter it adds to, and the words a person reads.
 */
import type { BlockedCounts } from './timeline';

/** Why a frame was refused. Each maps to a counter and to words a person understands. */
export type RejectReason =
  | 'malformed'
  | 'wrong-room'
  | 'unknown-sender'
  | 'bad-recipients'
  | 'bad-signature'
  | 'replay'
  | 'out-of-window'
  | 'excluded'
  | 'undecryptable'
  | 'inner-mismatch'
  | 'bad-hello'
  | 'stale-hello'
  | 'not-admitted';

export const COUNTER_OF: Record<RejectReason, keyof BlockedCounts> = {
  'malformed': 'tampered',
  'wrong-room': 'tampered',
  'unknown-sender': 'forged',
  'bad-recipients': 'tampered',
  'bad-signature': 'forged',
  'replay': 'replayed',
  'out-of-window': 'replayed',
  'excluded': 'excluded',
  'undecryptable': 'tampered',
  'inner-mismatch': 'tampered',
  'bad-hello': 'forged',
  'stale-hello': 'replayed',
  'not-admitted': 'forged',
};

export function noticeFor(reason: RejectReason): string {
  switch (reason) {
    case 'malformed': return 'A message that was not correctly formed was blocked.';
    case 'wrong-room': return 'A message addressed to another room was blocked.';
    case 'unknown-sender': return 'A message from someone who is not in this room was blocked.';
    case 'bad-recipients': return `A message claiming to be from {who} had a damaged recipient list and was blocked.`;
    case 'bad-signature': return `A message claiming to be from {who} failed verification and was blocked.`;
    case 'replay': return `A repeated copy of an earlier message from {who} was blocked.`;
    case 'out-of-window': return `A message from {who} arrived far out of order and was blocked.`;
    case 'excluded': return `{who} sent a message that excluded you.`;
    case 'undecryptable': return `A message from {who} could not be decrypted.`;
    case 'inner-mismatch': return `A message from {who} did not match its envelope and was blocked.`;
    case 'bad-hello': return 'Someone tried to join without a valid key or this room’s link, and was blocked.';
    case 'stale-hello': return `An old join announcement of {who}, who has left, was replayed and blocked.`;
    case 'not-admitted': return `{who} is not let into the room: what they sent was not shown or followed.`;
  }
}

/** The outcome of one received frame, for tests and for the UI's counters. */
export type Verdict = { ok: true } | { ok: false; reason: RejectReason; detail: string };

