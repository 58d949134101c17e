import { describe, expect, it } from 'vitest';
import { SenderLedger } from '../../client/sender-ledger';
import { SEQ_WINDOW } from '../../client/timing';

const A = 'alice';
const B = 'bob';

describe('the sender ledger', () => {
  it('takes the first message from a sender as its baseline: earlier seqs predate this tab', () => {
    const ledger = new SenderLedger();
    expect(ledger.record(A, 5, 'm5')).toEqual({ gap: 0, isLate: false, filledGap: false });
    expect(ledger.heard(A)).toBe(5);
    expect(ledger.heard(B)).toBe(0);
  });

  it('counts the seqs skipped by a jump ahead as missing, and takes each back when it turns up', () => {
    const ledger = new SenderLedger();
    ledger.record(A, 1, 'm1');
    expect(ledger.record(A, 4, 'm4')).toEqual({ gap: 2, isLate: false, filledGap: false });
    expect(ledger.record(A, 2, 'm2')).toEqual({ gap: 0, isLate: true, filledGap: true });
    expect(ledger.record(A, 3, 'm3')).toEqual({ gap: 0, isLate: true, filledGap: true });
    expect(ledger.heard(A)).toBe(4);
  });

  it('counts what a statement says was sent as missing until it arrives, even the statement’s own last seq', () => {
    const ledger = new SenderLedger();
    ledger.record(A, 1, 'm1');
    expect(ledger.recordStatementSeq(A, 3)).toBe(2);
    expect(ledger.recordStatementSeq(A, 3)).toBe(0);
    expect(ledger.record(A, 3, 'm3')).toEqual({ gap: 0, isLate: false, filledGap: true });
    expect(ledger.record(A, 2, 'm2')).toEqual({ gap: 0, isLate: true, filledGap: true });
  });

  it('sets a baseline from a first statement, with no gap', () => {
    const ledger = new SenderLedger();
    expect(ledger.recordStatementSeq(A, 7)).toBe(0);
    expect(ledger.heard(A)).toBe(7);
    expect(ledger.record(A, 8, 'm8')).toEqual({ gap: 0, isLate: false, filledGap: false });
  });

  it('refuses a seq or an id seen from the same sender, but not an id another sender used', () => {
    const ledger = new SenderLedger();
    ledger.record(A, 1, 'same-id');
    expect(ledger.check(A, 1, 'other')).toEqual({ kind: 'replay' });
    expect(ledger.check(A, 2, 'same-id')).toEqual({ kind: 'replay' });
    expect(ledger.check(B, 1, 'same-id')).toEqual({ kind: 'fresh' });
    expect(ledger.check(A, 2, 'new')).toEqual({ kind: 'fresh' });
  });

  it('refuses seqs further back than the window, and forgets what lies beyond it', () => {
    const ledger = new SenderLedger();
    ledger.record(A, 1, 'm1');
    ledger.record(A, SEQ_WINDOW + 10, 'far');
    expect(ledger.check(A, 9, 'x')).toEqual({ kind: 'out-of-window', maxSeq: SEQ_WINDOW + 10 });
    expect(ledger.check(A, 10, 'y')).toEqual({ kind: 'fresh' });
    // A gap larger than the window counts in full, but only the seqs that can still arrive stay missing.
    expect(ledger.record(A, 3 * SEQ_WINDOW, 'farther').gap).toBe(2 * SEQ_WINDOW - 11);
    expect(ledger.record(A, 2 * SEQ_WINDOW + 5, 'late')).toMatchObject({ isLate: true, filledGap: true });
  });

  it('carries its state into a new ledger without sharing it', () => {
    const ledger = new SenderLedger();
    ledger.record(A, 1, 'm1');
    const next = new SenderLedger(ledger.state());
    expect(next.check(A, 1, 'm1')).toEqual({ kind: 'replay' });
    next.record(A, 2, 'm2');
    expect(ledger.check(A, 2, 'm2')).toEqual({ kind: 'fresh' });
  });

  it('never lowers what it knows from a statement that says less than what arrived', () => {
    const ledger = new SenderLedger();
    ledger.record(A, 1, 'm1');
    ledger.record(A, 5, 'm5');
    expect(ledger.recordStatementSeq(A, 3)).toBe(0);
    expect(ledger.record(A, 6, 'm6')).toEqual({ gap: 0, isLate: false, filledGap: false });
  });

  it('counts as missing only seqs after its baseline: earlier ones predate this tab', () => {
    const ledger = new SenderLedger();
    ledger.record(A, 5, 'm5');
    expect(ledger.record(A, 10, 'm10').gap).toBe(4);
    expect(ledger.record(A, 3, 'm3')).toEqual({ gap: 0, isLate: true, filledGap: false });
    expect(ledger.record(A, 7, 'm7')).toEqual({ gap: 0, isLate: true, filledGap: true });
  });

  it('starts empty, and keeps nobody it has not heard from', () => {
    const ledger = new SenderLedger();
    expect(ledger.state().size).toBe(0);
    ledger.check(A, 1, 'm1');
    expect(ledger.state().size).toBe(0);
  });

  it('keeps missing seqs bounded by the window when a sender jumps ahead again and again', () => {
    const ledger = new SenderLedger();
    ledger.record(A, 1, 'm1');
    let gaps = 0;
    for (let k = 1; k <= 8; k++) gaps += ledger.record(A, 2 * k * SEQ_WINDOW, `m${k}`).gap;
    // Every skipped seq counts, but only those that can still arrive are kept.
    expect(gaps).toBe(16 * SEQ_WINDOW - 9);
    expect(ledger.state().get(A)?.missing.size).toBeLessThanOrEqual(SEQ_WINDOW + 1);
  });

  it('keeps its memory per sender bounded by the window, and still refuses the latest ids', () => {
    const ledger = new SenderLedger();
    for (let seq = 1; seq <= 5 * SEQ_WINDOW; seq++) ledger.record(A, seq, `id${seq}`);
    ledger.record(A, 7 * SEQ_WINDOW, 'far');
    const state = ledger.state().get(A);
    expect(state?.seen.size).toBeLessThanOrEqual(SEQ_WINDOW + 1);
    expect(state?.missing.size).toBeLessThanOrEqual(SEQ_WINDOW + 1);
    expect(state?.msgIds.size).toBeLessThanOrEqual(2 * SEQ_WINDOW);
    expect(ledger.check(A, 7 * SEQ_WINDOW + 1, 'far')).toEqual({ kind: 'replay' });
    // It forgets the oldest ids only: every one of the last 2 × SEQ_WINDOW is still a replay.
    for (let seq = 5 * SEQ_WINDOW - 2 * SEQ_WINDOW + 2; seq <= 5 * SEQ_WINDOW; seq++) {
      expect(ledger.check(A, 7 * SEQ_WINDOW + 1, `id${seq}`).kind).toBe('replay');
    }
  });

  it('still refuses a replay at the very edge of the window, and still fills a gap there', () => {
    const ledger = new SenderLedger();
    for (let seq = 1; seq <= SEQ_WINDOW + 5; seq++) ledger.record(A, seq, `id${seq}`);
    expect(ledger.check(A, 5, 'again')).toEqual({ kind: 'replay' });
    expect(ledger.check(A, 4, 'again')).toMatchObject({ kind: 'out-of-window' });
    const gappy = new SenderLedger();
    gappy.record(B, 1, 'first');
    gappy.record(B, SEQ_WINDOW + 10, 'jump');
    expect(gappy.record(B, 10, 'edge')).toMatchObject({ filledGap: true });
  });
});
