/**
 * Who is in the room, as this tab knows it: members from checked hellos,
 * their safety codes, what this tab has verified, key changes, and what each
 * member says it sees (roster statements). No crypto, no DOM (issue #3).
 */
import type { PeerKeys } from './crypto';
import { diffRosters, displayLabels, isSameRoster, type Emoji, type RosterDiff } from './verify';
import { nameSkeleton } from './names';
import { ACK_STALE_MS, ROSTER_AGREE_GRACE_MS, STATEMENT_STALE_MS } from './timing';
import type { Standing } from './room-state';


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
  /** In the room, waiting to be let in, turned away or removed (room-state.ts). */
  standing?: Standing;
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
  /** The highest seq of mine the signer had received, and my highest statement counter. */
  heardOfMe: { seq: number; n: number };
  isLeaving: boolean;
}

/** The parts of a statement the roster keeps. */
export interface StatementFacts {
  n: number;
  members: string[];
  heard: number[];
  acks: number[];
  isLeaving: boolean;
}

export type AddOutcome = 'joined' | 'rejoined-new-key' | 'continued';

/**
 * What a later connection of this tab remembers of this one: names with the
 * key they had, the keys it verified, identities that left (whose hellos are
 * replays from then on), and every member's public keys (so a member's old
 * key can still vouch for its new one).
 */
export interface RosterMemory {
  known: ReadonlyMap<string, string>;
  verified: readonly string[];
  departed: readonly string[];
  keys: ReadonlyMap<string, PeerKeys>;
}

/** How long this tab remembers when it sent each of its statements (older acknowledgements are stale anyway). */
const MY_STATEMENTS_KEPT = 64;

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
  /** Public keys of everyone this tab has admitted, departed ones included. */
  private readonly everKeys = new Map<string, PeerKeys>();
  /** When I sent each of my statements, by counter. */
  private readonly myStatements = new Map<number, number>();

  constructor(private readonly now: () => number) {}

  /**
   * Seeds what this tab's earlier connection knew (RosterMemory). A name back
   * with another key is a key change unless its old key vouches for it; one
   * back with the same key keeps its verified mark; a departed identity is
   * never admitted again.
   */
  remember(memory: RosterMemory): void {
    for (const [name, fp] of memory.known) this.departedNames.set(name, fp);
    for (const fp of memory.verified) this.verified.add(fp);
    for (const fp of memory.departed) this.departed.add(fp);
    for (const [fp, keys] of memory.keys) this.everKeys.set(fp, keys);
  }

  /** What a later connection of this tab should remember (see `remember`). */
  memory(): RosterMemory {
    const known = new Map(this.departedNames);
    for (const r of this.records.values()) if (!r.isSelf) known.set(r.name, r.fp);
    return { known, verified: [...this.verified], departed: [...this.departed], keys: new Map(this.everKeys) };
  }

  /** Keys of a member present or departed, for checking that its old key vouches for a new one. */
  keysEverSeen(fp: string): PeerKeys | undefined {
    return this.everKeys.get(fp);
  }

  /** Notes that I sent statement `n` now; the others' acknowledgements are measured against it. */
  sentStatement(n: number): void {
    this.myStatements.set(n, this.now());
    for (const old of this.myStatements.keys()) {
      if (this.myStatements.size <= MY_STATEMENTS_KEPT) break;
      this.myStatements.delete(old);
    }
  }

  /** The highest statement counter received from `fp` (0: none), what my statements acknowledge. */
  statementCountOf(fp: string): number {
    return this.statements.get(fp)?.n ?? 0;
  }

  /** The highest seq of mine that any other member's statement says it received. */
  confirmedSeq(): number {
    let best = 0;
    for (const st of this.statements.values()) best = Math.max(best, st.heardOfMe.seq);
    return best;
  }

  /** Are there others who could acknowledge what I send? */
  hasOthers(): boolean {
    return this.records.size > 1;
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

  /**
   * Adds a checked member. A name that left and came back has a new key by
   * construction: a key change, unless `continues` names the identity whose
   * key vouched for this one (the caller checked that signature). Then the
   * verified mark carries over and the old identity, if still listed, goes.
   */
  add(keys: PeerKeys, name: string, isSelf: boolean, continues?: string): AddOutcome {
    this.records.set(keys.fp, { fp: keys.fp, name, keys, code: null, isSelf, joinedAt: this.now() });
    this.everKeys.set(keys.fp, keys);
    if (continues !== undefined && !isSelf) {
      if (this.verified.has(continues)) this.verified.add(keys.fp);
      if (this.changedKeys.has(continues)) this.changedKeys.add(keys.fp);
      this.forgetDepartedName(name);
      this.retire(continues);
      this.recompute();
      return 'continued';
    }
    this.recompute();
    const before = isSelf ? undefined : this.forgetDepartedName(name);
    if (before === undefined) return 'joined';
    if (before === keys.fp) return 'joined';
    this.changedKeys.add(keys.fp);
    return 'rejoined-new-key';
  }

  /**
   * The key of a departed member whose name looks like `name` (same
   * confusable skeleton, not only the same bytes: "Аlice" after Alice left
   * is a key change), forgotten once matched.
   */
  private forgetDepartedName(name: string): string | undefined {
    const skeleton = nameSkeleton(name);
    for (const [departedName, fp] of this.departedNames) {
      if (nameSkeleton(departedName) !== skeleton) continue;
      this.departedNames.delete(departedName);
      return fp;
    }
    return undefined;
  }

  /** An identity that is gone for good, without a notice (its successor is announced instead). */
  private retire(fp: string): void {
    this.records.delete(fp);
    this.statements.delete(fp);
    this.hashMismatch.delete(fp);
    this.departed.add(fp);
  }

  /**
   * Removes a member. Returns it, and the fingerprint of a same-named member
   * who joined after it (a reload whose join overtook its leave), who thereby
   * has a changed key.
   */
  remove(fp: string): { removed: Record_; removedLabel: string; successor: string | null; hasSaidBye: boolean } | null {
    const removed = this.records.get(fp);
    if (removed === undefined || removed.isSelf) return null;
    const removedLabel = this.labels().get(fp) ?? removed.name;
    const hasSaidBye = this.statements.get(fp)?.isLeaving === true;
    this.retire(fp);
    const looksLike = nameSkeleton(removed.name);
    const successor = [...this.records.values()].find((r) => !r.isSelf && nameSkeleton(r.name) === looksLike && r.joinedAt >= removed.joinedAt);
    if (successor !== undefined) this.changedKeys.add(successor.fp);
    else this.departedNames.set(removed.name, removed.fp);
    this.recompute();
    return { removed, removedLabel, successor: successor?.fp ?? null, hasSaidBye };
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
  acceptStatement(fp: string, facts: StatementFacts): 'ok' | 'replay' {
    const prev = this.statements.get(fp);
    if (prev !== undefined && facts.n <= prev.n) return 'replay';
    const me = this.selfFp();
    const i = me === undefined ? -1 : facts.members.indexOf(me);
    const heardOfMe = { seq: facts.heard[i] ?? 0, n: facts.acks[i] ?? 0 };
    this.statements.set(fp, { n: facts.n, at: this.now(), members: facts.members, differsSince: prev?.differsSince ?? null, heardOfMe, isLeaving: facts.isLeaving });
    this.recompute();
    return 'ok';
  }

  /**
   * Has `r` shown, in a statement it signed, that it received one of my
   * recent statements? A relay that cuts me off and feeds me banked
   * statements cannot make them acknowledge what I sent since.
   */
  private isOutOfTouch(r: Record_, st: Statement, now: number): boolean {
    const ackedAt = st.heardOfMe.n === 0 ? 0 : (this.myStatements.get(st.heardOfMe.n) ?? 0);
    // Nobody can acknowledge what I sent before they joined.
    return now - Math.max(ackedAt, r.joinedAt) >= ACK_STALE_MS;
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

  /** The last labels and what they were made from: a confusables skeleton per name costs, and names rarely change. */
  private labelsMade: { from: string; labels: Map<string, string> } | null = null;

  private labels(): Map<string, string> {
    const named = [...this.records.values()].map((r) => ({ fp: r.fp, name: r.name, digits: r.code?.digits ?? null }));
    // Lengths first, so no name can run into the next field.
    const from = named.map((m) => `${m.fp} ${m.name.length} ${m.name} ${m.digits ?? ''}`).join('\n');
    if (this.labelsMade?.from !== from) this.labelsMade = { from, labels: displayLabels(named) };
    return this.labelsMade.labels;
  }

  members(standingOf: (fp: string) => Standing = () => 'in'): Member[] {
    const labels = this.labels();
    return [...this.records.values()].map((r) => ({
      fp: r.fp,
      name: r.name,
      label: labels.get(r.fp) ?? r.name,
      keys: r.keys,
      code: r.code,
      isSelf: r.isSelf,
      trust: this.verified.has(r.fp) ? 'verified' : this.changedKeys.has(r.fp) ? 'changed' : 'unverified',
      standing: standingOf(r.fp),
    }));
  }

  /** Every other member verified, and each one live (a replayed hello of a verified member is silent, never "all verified"). */
  isAllVerified(isIn: (fp: string) => boolean = () => true): boolean {
    const others = [...this.records.values()].filter((r) => !r.isSelf && isIn(r.fp));
    const agreement = this.agreement();
    return others.length > 0 && others.every((r) => this.verified.has(r.fp)) && agreement.kind !== 'silent';
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
      if (now - st.at >= STATEMENT_STALE_MS || this.isOutOfTouch(r, st, now)) {
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
