/**
 * Who is let into the room, decided by its members (PROTOCOL.md §12): the
 * room state every member's client keeps and merges from the signed room
 * statements of members it has let in itself. No socket, no DOM: room.ts
 * feeds it checked statements and asks it whom to encrypt for.
 *
 * The state is a join-semilattice, so merging in any order gives the same
 * result in every tab: two last-writer-wins switches (lobby, lock) and three
 * grow-only sets (let in, turned away, removed). Turned away and removed
 * beat let in for the same fingerprint, so a replayed or concurrent "let in"
 * never undoes them.
 */
import { PROTOCOL_VERSION, roomStatementSignedBytes, type RoomStatement, type Switch } from './protocol';
import { ecdsaSign, ecdsaVerify, type Identity, type RoomKeys } from './crypto';

/** Where a member stands in my view. */
export type Standing = 'in' | 'waiting' | 'turned-away' | 'removed';

export const START: Switch = { on: false, ver: 0, by: '' };

/** The winner of two values of a switch: higher version, then higher author fingerprint. */
export const laterSwitch = (a: Switch, b: Switch): Switch => (b.ver > a.ver || (b.ver === a.ver && b.by > a.by) ? b : a);

/** What a tab's next session (after a reconnect or a move) keeps of this one's room state. */
export interface MembershipCarry {
  lobby: Switch;
  lock: Switch;
  admitted: readonly string[];
  turnedAway: readonly string[];
  removed: readonly string[];
  /** The last statement counter accepted from each sender: an older one stays a replay. */
  lastN: ReadonlyMap<string, number>;
  isInformed: boolean;
  /** Members I removed whose removal the room has not followed yet (another removal overtook it). */
  pendingRemovals: readonly string[];
  /** After a move: the previous keys of the members who moved too and have not arrived yet. */
  expected: readonly string[];
}

export class Membership {
  lobby: Switch = START;
  lock: Switch = START;
  private readonly admitted = new Set<string>();
  private readonly turnedAway = new Set<string>();
  private readonly removed = new Set<string>();
  private readonly lastN = new Map<string, number>();
  /** Pending removals of this tab, by the removed fingerprint. */
  readonly pendingRemovals = new Set<string>();
  /** After a move: the previous keys of those who moved too, until their new keys arrive. */
  private readonly expected = new Set<string>();
  /**
   * Has this tab heard the room's state? True for the first member of a room
   * (an empty welcome) and once a statement from a member who is in was
   * merged. Until then a newcomer may not decide anything, and its page says
   * it is waiting.
   */
  isInformed = false;

  constructor(carry?: MembershipCarry) {
    if (carry === undefined) return;
    this.lobby = carry.lobby;
    this.lock = carry.lock;
    for (const fp of carry.admitted) this.admitted.add(fp);
    for (const fp of carry.turnedAway) this.turnedAway.add(fp);
    for (const fp of carry.removed) this.removed.add(fp);
    for (const [fp, n] of carry.lastN) this.lastN.set(fp, n);
    for (const fp of carry.pendingRemovals) this.pendingRemovals.add(fp);
    for (const fp of carry.expected) this.expected.add(fp);
    this.isInformed = carry.isInformed;
  }

  carry(): MembershipCarry {
    return {
      lobby: this.lobby,
      lock: this.lock,
      admitted: [...this.admitted],
      turnedAway: [...this.turnedAway],
      removed: [...this.removed],
      lastN: new Map(this.lastN),
      isInformed: this.isInformed,
      pendingRemovals: [...this.pendingRemovals],
      expected: [...this.expected],
    };
  }

  /** Is the link alone enough to be in? Only while neither Ask to join nor Lock is on. */
  isOpen(): boolean {
    return !this.lobby.on && !this.lock.on;
  }

  standing(fp: string): Standing {
    if (this.removed.has(fp)) return 'removed';
    if (this.turnedAway.has(fp)) return 'turned-away';
    if (this.admitted.has(fp) || this.isOpen()) return 'in';
    return 'waiting';
  }

  isAdmitted(fp: string): boolean {
    return this.admitted.has(fp);
  }

  /** A statement counter from `fp`: false if it is not newer than the last accepted one (a replay). */
  isFresh(fp: string, n: number): boolean {
    return n > (this.lastN.get(fp) ?? 0);
  }

  /** Merges a checked statement from a member who is in (the caller checked who signed it). */
  merge(st: RoomStatement): void {
    this.lastN.set(st.sender, st.n);
    this.lobby = laterSwitch(this.lobby, st.lobby);
    this.lock = laterSwitch(this.lock, st.lock);
    for (const fp of st.admitted) this.admitted.add(fp);
    for (const fp of st.turnedAway) this.turnedAway.add(fp);
    for (const fp of st.removed) this.removed.add(fp);
  }

  /**
   * My own switch: one version past the value I hold, by me. Switching the
   * room from open to closed first lets in everyone who is in now, so the
   * members present stay in (`present`: those whose standing is in).
   */
  flip(which: 'lobby' | 'lock', on: boolean, me: string, present: readonly string[]): void {
    if (this.isOpen() && on) for (const fp of present) this.admitted.add(fp);
    const next = { on, ver: this[which].ver + 1, by: me };
    this[which] = next;
  }

  letIn(fp: string): void {
    this.admitted.add(fp);
  }

  turnAway(fp: string): void {
    this.turnedAway.add(fp);
  }

  remove(fp: string): void {
    this.removed.add(fp);
  }

  /**
   * A reconnecting member's new key, vouched for by its old one, stands where
   * the old one stood: let in stays let in, removed stays removed.
   */
  succeed(prev: string, next: string): void {
    if (this.admitted.has(prev)) this.admitted.add(next);
    if (this.removed.has(prev)) this.removed.add(next);
    if (this.turnedAway.has(prev)) this.turnedAway.add(next);
  }

  /** The members a followed move was encrypted for (their previous keys), awaited in the new room. */
  expect(fps: readonly string[]): void {
    for (const fp of fps) this.expected.add(fp);
  }

  arrived(prev: string): void {
    this.expected.delete(prev);
  }

  /**
   * A present member whose removal by me the room has not followed yet, to
   * be removed again now: once everyone expected has arrived, or `isLate`.
   */
  dueRemoval(present: readonly string[], isLate: boolean): string | undefined {
    if (this.expected.size > 0 && !isLate) return undefined;
    const due = present.find((fp) => this.pendingRemovals.has(fp) && this.removed.has(fp));
    return due;
  }

  /** What my statement says: the switches, and each set limited to the members present (a departed key never returns). */
  statementFacts(present: readonly string[]): Pick<RoomStatement, 'lobby' | 'lock' | 'admitted' | 'turnedAway' | 'removed'> {
    const of = (set: Set<string>) => present.filter((fp) => set.has(fp)).sort();
    return { lobby: this.lobby, lock: this.lock, admitted: of(this.admitted), turnedAway: of(this.turnedAway), removed: of(this.removed) };
  }
}

export async function signRoomStatement(keys: RoomKeys, id: Identity, n: number, facts: Pick<RoomStatement, 'lobby' | 'lock' | 'admitted' | 'turnedAway' | 'removed'>): Promise<RoomStatement> {
  const unsigned = { v: PROTOCOL_VERSION, room: keys.roomId, sender: id.fp, n, ...facts };
  return { ...unsigned, sig: await ecdsaSign(id.sigPriv, roomStatementSignedBytes(unsigned)) };
}

export async function verifyRoomStatement(st: RoomStatement, sigPub: CryptoKey): Promise<boolean> {
  return ecdsaVerify(sigPub, st.sig, roomStatementSignedBytes(st));
}
