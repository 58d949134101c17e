/**
 * Who is in the room, as this tab knows it: members from checked hellos,
 * their safety codes, what this tab has verified, key changes, and what each
 * member says it sees (roster statements). No crypto, no DOM (issue #3).
 */
import type { PeerKeys } from './crypto';
import { diffRosters, displayLabels, isSameRoster, type Emoji, type RosterDiff } from './verify';

/**
 * A roster difference may last this long (a join or leave in flight) before
 * it is reported, whether it shows in a statement or in a message's roster
 * hash; a newcomer left out of a message sealed this soon after its join is
 * told calmly, not warned.
 */
export const ROSTER_AGREE_GRACE_MS = 5_000;
/** Besides every roster change, each tab restates its roster this often. */
export const ROSTER_STATEMENT_MS = 10_000;
/**
 * A member not heard from for this long is named, so a relay that silently
 * drops all of a member's traffic shows up: three statement intervals plus
 * a margin for a slow tab.
 */
export const STATEMENT_STALE_MS = 3 * ROSTER_STATEMENT_MS + 5_000;

export type Trust = 'unverified' | 'verified' | 'changed';

export interface SafetyCodeView {
  digits: string;
  emoji: Emoji[];
}

export interface Member {
  fp: string;
  name: string;
  /** The name, disambiguated when two members share it. Show this, never the bare name. */
  label: string;
  keys: PeerKeys;
  /** Null while the code is being computed. */
  code: SafetyCodeView | null;
  isSelf: boolean;
  trust: Trust;
}

export type Agreement =
  | { kind: 'same'; count: number }
  | { kind: 'checking' }
  | { kind: 'different'; who: { label: string; plus: string[]; minus: string[] }[] }
  | { kind: 'silent'; who: string[] };

interface Record_ {
  fp: string;
  name: string;
  keys: PeerKeys;
  code: SafetyCodeView | null;
  isSelf: boolean;
  joinedAt: number;
}

interface Statement {
  n: number;
  at: number;
  members: string[];
  differsSince: number | null;
}

export type AddOutcome = 'joined' | 'rejoined-new-key';

export class Roster {
  private readonly records = new Map<string, Record_>();
  private readonly verified = new Set<string>();
  private readonly changedKeys = new Set<string>();
  /** A tab's keys serve one visit: a departed identity never comes back. */
  private readonly departed = new Set<string>();
  /** Names that left (or were seen by this tab's earlier connection), with the key they had. */
  private readonly departedNames = new Map<string, string>();
  private readonly statements = new Map<string, Statement>();
  /** Since when a member's messages carry a roster hash other than mine, and whether that was said. */
  private readonly hashMismatch = new Map<string, { since: number; isReported: boolean }>();

  constructor(private readonly now: () => number) {}

  /**
   * Seeds what this tab's earlier connection knew: members by name with the
   * key they had, and the keys it had verified. A name back with another key
   * is a key change; one back with the same key keeps its verified mark.
   */
  remember(known: ReadonlyMap<string, string>, verified: Iterable<string>): void {
    for (const [name, fp] of known) this.departedNames.set(name, fp);
    for (const fp of verified) this.verified.add(fp);
  }

  /** What a later connection of this tab should remember (see `remember`). */
  memory(): { known: Map<string, string>; verified: string[] } {
    const known = new Map(this.departedNames);
    for (const r of this.records.values()) if (!r.isSelf) known.set(r.name, r.fp);
    return { known, verified: [...this.verified] };
  }

  has(fp: string): boolean {
    return this.records.has(fp);
  }

  keysOf(fp: string): PeerKeys | undefined {
    return this.records.get(fp)?.keys;
  }

  isDeparted(fp: string): boolean {
    return this.departed.has(fp);
  }

  /** Sorted fingerprints of everyone in the roster, me included. */
  fps(): string[] {
    return [...this.records.keys()].sort();
  }

  allKeys(): PeerKeys[] {
    return [...this.records.values()].map((r) => r.keys);
  }

  /** Adds a checked member. A name that left and came back has a new key by construction. */
  add(keys: PeerKeys, name: string, isSelf: boolean): AddOutcome {
    this.records.set(keys.fp, { fp: keys.fp, name, keys, code: null, isSelf, joinedAt: this.now() });
    this.recompute();
    const before = isSelf ? undefined : this.departedNames.get(name);
    if (before === undefined) return 'joined';
    this.departedNames.delete(name);
    if (before === keys.fp) return 'joined';
    this.changedKeys.add(keys.fp);
    return 'rejoined-new-key';
  }

  /**
   * Removes a member. Returns it, and the fingerprint of a same-named member
   * who joined after it (a reload whose join overtook its leave), who thereby
   * has a changed key.
   */
  remove(fp: string): { removed: Record_; removedLabel: string; successor: string | null } | null {
    const removed = this.records.get(fp);
    if (removed === undefined || removed.isSelf) return null;
    const removedLabel = this.labels().get(fp) ?? removed.name;
    this.records.delete(fp);
    this.statements.delete(fp);
    this.hashMismatch.delete(fp);
    this.departed.add(fp);
    const successor = [...this.records.values()].find((r) => !r.isSelf && r.name === removed.name && r.joinedAt >= removed.joinedAt);
    if (successor !== undefined) this.changedKeys.add(successor.fp);
    else this.departedNames.set(removed.name, removed.fp);
    this.recompute();
    return { removed, removedLabel, successor: successor?.fp ?? null };
  }

  setCode(fp: string, code: SafetyCodeView): void {
    const r = this.records.get(fp);
    if (r !== undefined) r.code = code;
  }

  /** "I compared this code": bound to the fingerprint, never to the name. */
  setVerified(fp: string, isVerified: boolean): void {
    if (!this.records.has(fp)) return;
    if (isVerified) {
      this.verified.add(fp);
      this.changedKeys.delete(fp);
    } else {
      this.verified.delete(fp);
    }
  }

  /** Records a member's signed statement of the roster it sees; older counters are replays. */
  acceptStatement(fp: string, n: number, members: string[]): 'ok' | 'replay' {
    const prev = this.statements.get(fp);
    if (prev !== undefined && n <= prev.n) return 'replay';
    this.statements.set(fp, { n, at: this.now(), members, differsSince: prev?.differsSince ?? null });
    this.recompute();
    return 'ok';
  }

  /**
   * A member's message carried a roster hash: true once, when it has
   * differed from mine for longer than the grace period (check 11).
   */
  noteRosterHash(fp: string, isSameAsMine: boolean): boolean {
    if (isSameAsMine) {
      this.hashMismatch.delete(fp);
      return false;
    }
    const now = this.now();
    const m = this.hashMismatch.get(fp) ?? { since: now, isReported: false };
    this.hashMismatch.set(fp, m);
    if (m.isReported || now - m.since < ROSTER_AGREE_GRACE_MS) return false;
    m.isReported = true;
    return true;
  }

  /** Re-evaluates, after any change on either side, since when each member's view differs. */
  private recompute(): void {
    const mine = this.fps();
    for (const st of this.statements.values()) {
      const same = isSameRoster(diffRosters(mine, st.members));
      st.differsSince = same ? null : (st.differsSince ?? this.now());
    }
  }

  nameOf(fp: string): string | undefined {
    return this.records.get(fp)?.name;
  }

  private labels(): Map<string, string> {
    return displayLabels([...this.records.values()].map((r) => ({ fp: r.fp, name: r.name, digits: r.code?.digits ?? null })));
  }

  members(): Member[] {
    const labels = this.labels();
    return [...this.records.values()].map((r) => ({
      fp: r.fp,
      name: r.name,
      label: labels.get(r.fp) ?? r.name,
      keys: r.keys,
      code: r.code,
      isSelf: r.isSelf,
      trust: this.verified.has(r.fp) ? 'verified' : this.changedKeys.has(r.fp) ? 'changed' : 'unverified',
    }));
  }

  isAllVerified(): boolean {
    const others = [...this.records.values()].filter((r) => !r.isSelf);
    return others.length > 0 && others.every((r) => this.verified.has(r.fp));
  }

  /** Does everyone see the list I see? Differences count once they outlast the grace period. */
  agreement(): Agreement {
    const now = this.now();
    const labels = this.labels();
    const nameOf = (fp: string) => labels.get(fp) ?? 'someone not in your list';
    const others = [...this.records.values()].filter((r) => !r.isSelf);
    const different: { label: string; plus: string[]; minus: string[] }[] = [];
    const silent: string[] = [];
    let isChecking = false;
    for (const r of others) {
      const st = this.statements.get(r.fp);
      if (st === undefined) {
        if (now - r.joinedAt >= ROSTER_AGREE_GRACE_MS) silent.push(nameOf(r.fp));
        else isChecking = true;
        continue;
      }
      if (now - st.at >= STATEMENT_STALE_MS) {
        silent.push(nameOf(r.fp));
        continue;
      }
      if (st.differsSince === null) continue;
      if (now - st.differsSince < ROSTER_AGREE_GRACE_MS) {
        isChecking = true;
        continue;
      }
      const d: RosterDiff = diffRosters(this.fps(), st.members);
      different.push({ label: nameOf(r.fp), plus: d.plus.map(nameOf), minus: d.minus.map((fp) => (fp === this.selfFp() ? 'you' : nameOf(fp))) });
    }
    if (different.length > 0) return { kind: 'different', who: different };
    if (silent.length > 0) return { kind: 'silent', who: silent };
    if (isChecking) return { kind: 'checking' };
    return { kind: 'same', count: this.records.size };
  }

  private selfFp(): string | undefined {
    return [...this.records.values()].find((r) => r.isSelf)?.fp;
  }
}
