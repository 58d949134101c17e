/**
 * What a tab shows: messages and notices in arrival order, and the counts of
 * what the receiver's checks blocked (the Security panel). No crypto, no DOM.
 */
import { nanoid } from 'nanoid';

import { MAX_TIMELINE_ENTRIES, NOTICE_COALESCE_MS } from './timing';
import type { FileTransfer } from './files';

export type TimelineEntry =
  | { kind: 'message'; key: string; senderFp: string; senderName: string; body: string; ts: number; isOwn: boolean; isPending: boolean; isUnconfirmed?: boolean }
  | { kind: 'file'; key: string; senderFp: string; senderName: string; ts: number; isOwn: boolean; isPending: boolean; transfer: FileTransfer }
  | { kind: 'notice'; key: string; text: string; tone: 'info' | 'warning'; ts: number; who?: Who; canVerify?: boolean; gap?: number; repeat?: number };

/** A member a notice is about. The notice text says `{who}` where the member's current label goes. */
export interface Who {
  fp: string;
  name: string;
}

/**
 * A notice's words, with the member's label as it is now (it may gain a
 * disambiguating suffix later), and how often it happened when more than once.
 */
export function noticeText(entry: { text: string; who?: Who; repeat?: number }, labels: ReadonlyMap<string, string>): string {
  const count = (entry.repeat ?? 1) > 1 ? ` (×${entry.repeat})` : '';
  if (entry.who === undefined) return `${entry.text}${count}`;
  const label = labels.get(entry.who.fp) ?? entry.who.name;
  // A function, not a string: a name is never read as a replacement pattern ($&, $').
  return `${entry.text.replace('{who}', () => label)}${count}`;
}

export interface BlockedCounts {
  forged: number;
  tampered: number;
  replayed: number;
  gaps: number;
  excluded: number;
}

/** What the next connection of this tab shows from the last one. */
export interface TimelineCarry {
  entries: TimelineEntry[];
  blocked: BlockedCounts;
}

export class Timeline {
  private list: TimelineEntry[] = [];
  readonly blocked: BlockedCounts = { forged: 0, tampered: 0, replayed: 0, gaps: 0, excluded: 0 };

  constructor(private readonly now: () => number, carry?: TimelineCarry) {
    if (carry !== undefined) {
      this.list = carry.entries;
      Object.assign(this.blocked, carry.blocked);
    }
  }

  /** The entries, a new array after every change (the view compares by identity). */
  entries(): TimelineEntry[] {
    return this.list;
  }

  /** Own messages never confirmed by the relay are marked so in the next connection. */
  carry(): TimelineCarry {
    return {
      entries: this.list.map((e) => (e.kind === 'message' && e.isPending ? { ...e, isPending: false, isUnconfirmed: true } : e)),
      blocked: { ...this.blocked },
    };
  }

  count(counter: keyof BlockedCounts, by = 1): void {
    this.blocked[counter] = Math.max(0, this.blocked[counter] + by);
  }

  notice(text: string, tone: 'info' | 'warning' = 'info', who?: Who, canVerify = false): void {
    const ts = this.now();
    const same = this.newestNotice((e) => e.text === text && e.tone === tone && e.who?.fp === who?.fp && e.gap === undefined && ts - e.ts < NOTICE_COALESCE_MS);
    const earlier = this.list[same];
    const repeat = earlier?.kind === 'notice' ? (earlier.repeat ?? 1) + 1 : 1;
    // The counted line moves to the end, keeping its key: it is the same notice, seen again.
    if (same >= 0) this.list = this.list.filter((_, i) => i !== same);
    this.push({
      kind: 'notice',
      key: earlier?.key ?? nanoid(),
      text,
      tone,
      ts,
      ...(who === undefined ? {} : { who }),
      ...(canVerify ? { canVerify } : {}),
      ...(repeat > 1 ? { repeat } : {}),
    });
  }

  /**
   * Takes back the newest notice about `fp` if it is one of `texts` and at
   * most `withinMs` old; returns the text taken back, or null.
   */
  takeBackNotice(fp: string, texts: readonly string[], withinMs: number): string | null {
    const i = this.newestNotice((e) => e.who?.fp === fp);
    const entry = this.list[i];
    if (entry?.kind !== 'notice' || !texts.includes(entry.text) || this.now() - entry.ts > withinMs) return null;
    this.list = this.list.filter((_, j) => j !== i);
    return entry.text;
  }

  /** Messages from `who` that never arrived; a later `takeBackGap` revises the same notice. */
  gap(count: number, who: Who): void {
    this.count('gaps', count);
    this.push({ kind: 'notice', key: nanoid(), text: gapText(count), tone: 'warning', ts: this.now(), who, gap: count });
  }

  /** One message counted missing from `fp` arrived after all: its gap notice counts one fewer, or goes. */
  takeBackGap(fp: string): void {
    this.count('gaps', -1);
    const i = this.newestNotice((e) => e.who?.fp === fp && (e.gap ?? 0) > 0);
    const entry = this.list[i];
    if (entry === undefined || entry.kind !== 'notice' || entry.gap === undefined) return;
    const left = entry.gap - 1;
    this.list = left === 0
      ? this.list.filter((_, j) => j !== i)
      : this.list.map((e, j) => (j === i ? { ...entry, gap: left, text: gapText(left) } : e));
  }

  /** My messages that nobody acknowledged in time. */
  markUnconfirmed(keys: readonly string[]): void {
    if (keys.length === 0) return;
    const set = new Set(keys);
    this.list = this.list.map((e) => (e.kind === 'message' && set.has(e.key) ? { ...e, isUnconfirmed: true } : e));
  }

  /** A message to show; an own message replaces its pending copy. */
  message(entry: Extract<TimelineEntry, { kind: 'message' }>): void {
    if (entry.isOwn && !entry.isPending) this.list = this.list.filter((e) => e.key !== entry.key);
    this.push(entry);
  }

  /** A file offer to show (its card follows the transfer); an own one replaces its pending copy. */
  file(entry: Extract<TimelineEntry, { kind: 'file' }>): void {
    if (entry.isOwn && !entry.isPending) this.list = this.list.filter((e) => e.key !== entry.key);
    this.push(entry);
  }

  /** The index of the newest notice that `matches`, or -1. */
  private newestNotice(matches: (e: Extract<TimelineEntry, { kind: 'notice' }>) => boolean): number {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const e = this.list[i];
      if (e?.kind === 'notice' && matches(e)) return i;
    }
    return -1;
  }

  private push(entry: TimelineEntry): void {
    this.list = [...this.list, entry].slice(-MAX_TIMELINE_ENTRIES);
  }
}

const gapText = (count: number): string =>
  `${count === 1 ? '1 message' : `${count} messages`} from {who} ${count === 1 ? 'was' : 'were'} not delivered to you.`;
