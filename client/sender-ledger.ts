/**
 * What this tab has heard from each sender: which seqs arrived (within a
 * window), the highest seq known to exist, and which ones never arrived.
 * Pure bookkeeping behind receiver checks 6 (replay), 7 (window) and
 * 8 (gaps) of PROTOCOL.md §7; no crypto, no clock.
 */

import { SEQ_WINDOW } from './timing';

export type SeqCheck =
  | { kind: 'replay' }
  | { kind: 'out-of-window'; maxSeq: number }
  | { kind: 'fresh' };

/** What recording a message changed: seqs now known to be missing, or a missing one that turned up late. */
export interface Recorded {
  /** Newly missing seqs (the sender's seq jumped ahead). */
  gap: number;
  /** This message arrived after a higher one. */
  isLate: boolean;
  /** It was one of those counted missing: that gap is taken back. */
  filledGap: boolean;
}

interface SenderState {
  /** Highest seq known to exist: from a message, or from a signed statement. */
  maxSeq: number;
  /** Highest seq that really arrived. */
  heardSeq: number;
  seen: Set<number>;
  /** Seqs below maxSeq that never arrived and were reported as gaps (within the window). */
  missing: Set<number>;
  msgIds: Set<string>;
}

/** A ledger's state, carried across this tab's reconnects so old messages stay replays. */
export type LedgerState = ReadonlyMap<string, Readonly<SenderState>>;

export class SenderLedger {
  private readonly senders: Map<string, SenderState>;

  constructor(carried?: LedgerState) {
    this.senders = new Map();
    for (const [fp, s] of carried ?? []) {
      this.senders.set(fp, { ...s, seen: new Set(s.seen), missing: new Set(s.missing), msgIds: new Set(s.msgIds) });
    }
  }

  state(): LedgerState {
    return new Map(this.senders);
  }

  /** Checks 6 and 7: seen before (by seq or by id, per sender), or too far in the past. */
  check(sender: string, seq: number, msgId: string): SeqCheck {
    const s = this.senders.get(sender);
    if (s === undefined) return { kind: 'fresh' };
    if (s.seen.has(seq) || s.msgIds.has(msgId)) return { kind: 'replay' };
    // Only the past is bounded: seq is signed, so a jump ahead is the
    // sender's own count and is a gap, never a lock-out.
    if (seq < s.maxSeq - SEQ_WINDOW) return { kind: 'out-of-window', maxSeq: s.maxSeq };
    return { kind: 'fresh' };
  }

  /** Records an accepted message. The first one heard from a sender sets its baseline (earlier ones predate this tab). */
  record(sender: string, seq: number, msgId: string): Recorded {
    const prior = this.senders.get(sender);
    const s = prior ?? { maxSeq: seq, heardSeq: 0, seen: new Set<number>(), missing: new Set<number>(), msgIds: new Set<string>() };
    this.senders.set(sender, s);
    const gap = prior !== undefined && seq > s.maxSeq + 1 ? this.markMissing(s, s.maxSeq + 1, seq - 1) : 0;
    const isLate = prior !== undefined && seq < s.maxSeq;
    const filledGap = s.missing.delete(seq);
    s.seen.add(seq);
    s.msgIds.add(msgId);
    s.maxSeq = Math.max(s.maxSeq, seq);
    s.heardSeq = Math.max(s.heardSeq, seq);
    this.prune(s);
    return { gap, isLate, filledGap };
  }

  /**
   * A signed statement says the sender's last seq. It follows the sender's
   * messages on the same ordered stream, so a seq beyond what arrived means
   * messages were withheld (or are late: `record` takes them back).
   * Returns how many newly count as missing.
   */
  recordStatementSeq(sender: string, seq: number): number {
    const s = this.senders.get(sender);
    if (s === undefined) {
      this.senders.set(sender, { maxSeq: seq, heardSeq: seq, seen: new Set(), missing: new Set(), msgIds: new Set() });
      return 0;
    }
    if (seq <= s.maxSeq) return 0;
    const gap = this.markMissing(s, s.maxSeq + 1, seq);
    s.maxSeq = seq;
    this.prune(s);
    return gap;
  }

  /** The highest seq that arrived from `sender` (0: none), what a statement acknowledges. */
  heard(sender: string): number {
    return this.senders.get(sender)?.heardSeq ?? 0;
  }

  private markMissing(s: SenderState, from: number, to: number): number {
    // Only seqs within the window can still arrive; older ones are counted, not kept.
    for (let q = Math.max(from, to - SEQ_WINDOW); q <= to; q++) s.missing.add(q);
    return to - from + 1;
  }

  private prune(s: SenderState): void {
    const floor = s.maxSeq - SEQ_WINDOW;
    for (const q of s.seen) if (q < floor) s.seen.delete(q);
    for (const q of s.missing) if (q < floor) s.missing.delete(q);
    // Ids are kept as long as seqs are: ids of the messages still in the window.
    if (s.msgIds.size > 2 * SEQ_WINDOW) {
      const drop = s.msgIds.size - 2 * SEQ_WINDOW;
      let i = 0;
      for (const id of s.msgIds) {
        if (i++ >= drop) break;
        s.msgIds.delete(id);
      }
    }
  }
}
