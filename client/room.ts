/**
 * The room session: one connection's roster, sending, and the receiver's
 * checks in the order PROTOCOL.md §7 lists them. No DOM, no socket: frames
 * come in as text and go out through `send`, so the whole receive path runs
 * in Node tests. The bookkeeping lives in its own modules: who is in the room
 * and whether everyone agrees (roster.ts), what arrived from each sender
 * (sender-ledger.ts), and what the tab shows (timeline.ts).
 */
import { nanoid } from 'nanoid';
import { MOVE_PREFIX, decodeServerFrame, encodeClientFrame, encodeUpload, moveBody, parseMoveBody, toB64u, type Envelope, type Hello, type RosterConfirm, type RoomStatement } from './protocol';
import {
  openHello,
  isWrapFor,
  openMessage,
  makeHello,
  rosterHash,
  safetyCode,
  sealMessage,
  signDoor,
  signRosterConfirm,
  verifyContinuity,
  verifyEnvelope,
  verifyRosterConfirm,
  randomBytes,
  type Identity,
  type Outgoing,
  type PeerKeys,
  type RoomKeys,
  type Vouching,
} from './crypto';
import { Roster, type Agreement, type Member, type RosterMemory } from './roster';
import { BACK_SOON_MS, MAX_CLOCK_SKEW_MS, REFRESH_MS, ROSTER_AGREE_GRACE_MS, STATEMENT_STALE_MS } from './timing';
import { SenderLedger, type LedgerState } from './sender-ledger';
import { Timeline, type BlockedCounts, type TimelineEntry, type Who } from './timeline';
import { COUNTER_OF, noticeFor, type RejectReason, type Verdict } from './verdicts';
import { emojiCode } from './verify';
import { cleanName } from './names';
import { FileManager, type FileSource } from './files';
import { Membership, signRoomStatement, verifyRoomStatement, type MembershipCarry, type Standing } from './room-state';
import { keepView } from './stable-view';

export type { Member } from './roster';
export { noticeText, type BlockedCounts, type TimelineEntry, type Who } from './timeline';
export type { RejectReason, Verdict } from './verdicts';
export type { Standing } from './room-state';

/** The room's state as this tab sees it (PROTOCOL.md §12). */
export interface MembershipView {
  /** "Ask to join" is on: newcomers wait until a member lets them in. */
  lobby: boolean;
  locked: boolean;
  /** Where I stand. A newcomer that has not heard the room's state yet is waiting too. */
  me: Standing;
  /** May I let in, turn away, remove, switch the lobby or the lock? */
  canDecide: boolean;
}

/** What the room decided about this tab, for the connection to act on. */
export type MembershipEvent =
  /** A member removed someone and moved the others to a new link secret (b64). */
  | { kind: 'move'; secret: string; removed: string; by: string; isMine: boolean }
  | { kind: 'removed'; by: string }
  | { kind: 'turned-away'; by: string };

export interface RoomView {
  members: Member[];
  timeline: TimelineEntry[];
  blocked: BlockedCounts;
  /** Does every member see the member list I see? */
  agreement: Agreement;
  isAllVerified: boolean;
  membership: MembershipView;
}

/**
 * What a tab carries from a lost connection into its next one (with new
 * keys): the timeline and counts it showed, who it knew, what it verified,
 * who left, what it heard from each sender (so old messages stay replays),
 * and its own previous identity, which vouches for the new keys.
 */
export interface Carry extends RosterMemory {
  timeline: TimelineEntry[];
  blocked: BlockedCounts;
  ledger: LedgerState;
  previous: Identity;
  membership: MembershipCarry;
  /** This session starts in the room's new link after a removal, not after a lost connection. */
  isMove?: boolean;
}

export interface RoomSessionOptions {
  now?: () => number;
  onChange?: () => void;
  /** From `carryOver()` of this tab's previous session, when reconnecting. */
  carry?: Carry;
  /** Sends a binary addressed frame (file chunks and their notes, PROTOCOL.md §11); without it, files cannot move. */
  sendBinary?: (frame: Uint8Array<ArrayBuffer>) => void;
  /** The room removed or turned me away, or moved to a new link. */
  onMembership?: (event: MembershipEvent) => void;
  /**
   * After a reload of the tab (no carry): the signing key the tab kept from its
   * last identity, which vouches for this one, and the members it had verified.
   */
  resume?: Resume;
}

/** What a tab keeps across a reload (tab-keys.ts): nothing a message could be read with. */
export interface Resume {
  previous: Vouching;
  verified: readonly string[];
}



export class RoomSession {
  private readonly roster: Roster;
  private readonly ledger: SenderLedger;
  private readonly timeline: Timeline;
  private readonly previous: Vouching | undefined;
  private readonly membership: Membership;
  private readonly onMembership: (event: MembershipEvent) => void;
  private readonly isMove: boolean;
  private isStateDirty = false;
  private roomStatementCount = 0;
  /** Removed, turned away or moved on: frames after that are not this session's business. */
  private hasEnded = false;
  /** My move is on its way: one per session, the room follows the first in relay order anyway. */
  private isMoveSent = false;
  private lastStateAt = -Infinity;
  /** Names of everyone admitted to my roster, gone ones too: a removal is told by name after its goodbye. */
  private readonly namesSeen = new Map<string, string>();
  /** A signed "I am leaving" statement kept ready, so closing a tab can send it without waiting for WebCrypto. */
  private bye: string | null = null;
  /** My messages not yet acknowledged by anyone's statement: key, seq, when sent. */
  private unacknowledged: { key: string; seq: number; at: number }[] = [];
  /**
   * The K of each message I sent whose echo has not come back, by msgId: the echo is
   * opened with it (check 10) rather than by unwrapping my own wrap, which costs a
   * private-key operation and proves nothing more (check 5 already matched my wrap to
   * the hash I signed). At most MAX_SENT_KEYS, the oldest forgotten first: an echo
   * that comes back later than that is unwrapped as before.
   */
  private readonly sentKeys = new Map<string, Uint8Array<ArrayBuffer>>();
  private hasWelcome = false;
  private isAnnounced = false;
  private isRosterDirty = false;
  private statementCount = 0;
  private readonly statementRejections = new Set<string>();
  private joinedAt = 0;
  private myRosterHash = '';
  private nextSeq = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private snapshot: RoomView | null = null;
  /** hashOfRecipients's last list (fingerprints joined by spaces) and its hash. */
  private lastRecipients = { key: '', hash: '' };
  /** The view last handed out: its unchanged parts are handed out again as the same objects (stable-view.ts). */
  private lastView: RoomView | null = null;
  private readonly now: () => number;
  private readonly onChange: () => void;
  /** Files sent and received on this connection (PROTOCOL.md §11). */
  readonly files: FileManager;

  constructor(
    readonly keys: RoomKeys,
    readonly identity: Identity,
    private readonly name: string,
    /** Text frames, and message uploads as binary frames (PROTOCOL.md §4.3). */
    private readonly send: (frame: string | Uint8Array<ArrayBuffer>) => void,
    options: RoomSessionOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.onChange = options.onChange ?? (() => {});
    this.roster = new Roster(this.now);
    const carry = options.carry;
    this.ledger = new SenderLedger(carry?.ledger);
    this.timeline = new Timeline(this.now, carry === undefined ? undefined : { entries: carry.timeline, blocked: carry.blocked });
    const resume = carry === undefined ? options.resume : undefined;
    this.previous = carry?.previous ?? resume?.previous;
    if (carry !== undefined) this.roster.remember(carry);
    if (resume !== undefined) this.roster.remember({ known: new Map(), verified: resume.verified, departed: [], keys: new Map() });
    this.files = new FileManager({
      keys,
      selfFp: identity.fp,
      sendBinary: options.sendBinary ?? (() => {}),
      now: this.now,
      onTamper: (fp) => this.reject('undecryptable', 'file chunk failed its check', this.whoIs(fp)),
    });
    this.membership = new Membership(carry?.membership);
    this.onMembership = options.onMembership ?? (() => {});
    this.isMove = carry?.isMove === true;
    // My new key stands where my previous one stood (the others check the same vouching).
    if (this.previous !== undefined) this.membership.succeed(this.previous.fp, identity.fp);
  }

  /** What the next connection of this tab takes over; own messages never confirmed are marked so. */
  carryOver(): Carry {
    const { entries, blocked } = this.timeline.carry();
    return { timeline: entries, blocked, ...this.roster.memory(), ledger: this.ledger.state(), previous: this.identity, membership: this.membership.carry() };
  }

  /** What a reload of this tab takes over (tab-keys.ts): my signing key, to vouch for the next one, and whom I verified. */
  resumeAfterReload(): Resume {
    return { previous: { fp: this.identity.fp, sigPriv: this.identity.sigPriv }, verified: this.roster.memory().verified };
  }

  /**
   * Puts this tab in its own roster and announces it (after a reconnect,
   * vouched for by its previous key). `nonce`: the server's challenge, which
   * the link's door key signs (PROTOCOL.md §4.3); without one (tests with no
   * server) the hello carries no door.
   */
  async start(nonce?: string): Promise<void> {
    const hello = await makeHello(this.keys, this.identity, this.name, this.previous);
    const self = await openHello(this.keys, hello);
    if (self instanceof Error) throw self;
    await this.addMember(self, self.name, true);
    this.joinedAt = this.now();
    const door = nonce === undefined ? undefined : await signDoor(this.keys, nonce, this.identity.fp);
    this.send(encodeClientFrame({ t: 'hello', hello, ...(door === undefined ? {} : { door }) }));
    this.isAnnounced = true;
    await this.flushRosterStatement();
  }

  // ---- membership decisions (PROTOCOL.md §12) ------------------------------

  /** Switches "Ask to join" or "Lock room". */
  setSwitch(which: 'lobby' | 'lock', on: boolean): Promise<void> {
    return this.decide(() => {
      if (this.membership[which].on === on) return;
      this.membership.flip(which, on, this.identity.fp, this.presentIn());
      this.notice(which === 'lobby'
        ? (on ? 'You turned on Ask to join: newcomers wait until someone in the room lets them in.' : 'You turned off Ask to join: anyone with the link can join.')
        : (on ? 'You locked the room: nobody new can join.' : 'You unlocked the room.'));
    });
  }

  /** Lets a waiting newcomer in: from now on everyone encrypts for them. */
  letIn(fp: string): Promise<void> {
    return this.decide(() => {
      if (this.membership.standing(fp) !== 'waiting') return;
      this.membership.letIn(fp);
      this.notice('You let {who} in.', 'info', this.whoIs(fp));
    });
  }

  turnAway(fp: string): Promise<void> {
    return this.decide(() => {
      if (this.membership.standing(fp) !== 'waiting') return;
      this.membership.turnAway(fp);
      this.notice('You turned {who} away.', 'info', this.whoIs(fp));
    });
  }

  /**
   * Removes a member: a signed removal everyone sees (the removed member
   * too), then a fresh link secret inside a message encrypted for everyone
   * else. The room moves when that message comes back in relay order.
   */
  removeFromRoom(fp: string): Promise<void> {
    return this.enqueue(async () => {
      if (!this.canDecide() || fp === this.identity.fp || !this.roster.has(fp) || this.membership.standing(fp) !== 'in') return;
      this.membership.remove(fp);
      this.membership.pendingRemovals.add(fp);
      await this.stateChanged();
      await this.sendMove(fp);
    });
  }

  /** Makes a decision and states it; ignored unless I may decide (in, and informed). */
  private decide(change: () => void): Promise<void> {
    return this.enqueue(async () => {
      if (!this.canDecide()) return;
      change();
      await this.stateChanged();
    });
  }

  private canDecide(): boolean {
    return !this.hasEnded && this.membership.isInformed && this.membership.standing(this.identity.fp) === 'in';
  }

  /** Present members who are in: whom I encrypt for. */
  private presentIn(): string[] {
    return this.roster.fps().filter((fp) => this.membership.standing(fp) === 'in');
  }

  /** The keys of everyone I encrypt a message or a file offer for (§12.1); throws while I am not let in myself. */
  private recipientKeys(): PeerKeys[] {
    if (this.membership.standing(this.identity.fp) !== 'in') throw new Error('you are waiting to be let in');
    return this.roster.allKeys().filter((k) => this.membership.standing(k.fp) === 'in');
  }

  private async sendMove(removed: string): Promise<void> {
    this.isMoveSent = true;
    const recipients = this.roster.allKeys().filter((k) => k.fp !== removed && this.membership.standing(k.fp) === 'in');
    await this.sealAndSend({ msgId: nanoid(), ts: this.now(), body: moveBody(toB64u(randomBytes(32)), removed) }, recipients);
  }

  /**
   * Seals a message with my next seq and sends it. The goodbye that says
   * this seq is signed alongside and takes the old one's place in the same
   * task as the send: a tab closing at any moment says a goodbye that counts.
   * `beforeSend` runs just before the frame leaves, with the seq it took.
   */
  private async sealAndSend(out: Omit<Outgoing, 'seq'>, recipients: readonly PeerKeys[], beforeSend: (seq: number) => void = () => undefined): Promise<void> {
    const seq = this.nextSeq;
    const [{ env, wraps, k }, bye] = await Promise.all([sealMessage(this.keys, this.identity, { ...out, seq }, recipients), this.signGoodbye(this.statementCount + 1, seq)]);
    this.nextSeq = seq + 1;
    this.sentKeys.set(env.msgId, k);
    if (this.sentKeys.size > MAX_SENT_KEYS) this.sentKeys.delete(this.sentKeys.keys().next().value as string);
    beforeSend(seq);
    this.bye = bye;
    this.send(encodeUpload({ env, wraps }));
  }

  /** Signs and sends the roster this tab sees. Called on every change and periodically. */
  confirmRoster(): Promise<void> {
    this.isRosterDirty = true;
    this.isStateDirty = true;
    return this.enqueue(() => this.flushRosterStatement());
  }

  /** "I compared this code" (or taking that back), for this tab only. */
  setVerified(fp: string, isVerified: boolean): void {
    this.roster.setVerified(fp, isVerified);
    this.changed();
  }

  /** Handles one frame from the relay. Frames are processed strictly in arrival order. */
  receive(text: string): Promise<Verdict[]> {
    return this.enqueue(async () => {
      const verdicts = await this.process(text);
      await this.flushRosterStatement();
      return verdicts;
    });
  }

  /** Encrypts `body` for everyone in the roster and hands it to the relay. */
  post(body: string): Promise<void> {
    return this.enqueue(async () => {
      const recipients = this.recipientKeys();
      // U+0000 first marks a room change (a move), never a chat message.
      if (body.startsWith('\u0000')) throw new Error('a message cannot start with a NUL character');
      const msgId = nanoid();
      const ts = this.now();
      await this.sealAndSend({ msgId, ts, body }, recipients, (seq) => {
        const key = entryKey(this.identity.fp, msgId);
        this.timeline.message({ kind: 'message', key, senderFp: this.identity.fp, senderName: this.name, body, ts, isOwn: true, isPending: true });
        this.unacknowledged.push({ key, seq, at: ts });
        this.changed();
      });
    });
  }

  /**
   * Encrypts a file (outside the queue: a big one takes a moment), then
   * offers it to everyone let in, as a message is, in a signed message (PROTOCOL.md §11.1).
   */
  async sendFile(source: FileSource): Promise<void> {
    const prepared = await this.files.prepare(source);
    return this.enqueue(async () => {
      const recipients = this.recipientKeys();
      const msgId = nanoid();
      const ts = this.now();
      await this.sealAndSend({ msgId, ts, body: prepared.text, kind: 'file' }, recipients, (seq) => {
        const key = entryKey(this.identity.fp, msgId);
        const transfer = this.files.attach(prepared, recipients.map((r) => r.fp));
        this.timeline.file({ kind: 'file', key, senderFp: this.identity.fp, senderName: this.name, ts, isOwn: true, isPending: true, transfer });
        this.unacknowledged.push({ key, seq, at: ts });
        this.changed();
      });
    });
  }

  /** A binary frame from the relay: file chunks and notes, on their own queue so chat never waits for them. */
  receiveBinary(frame: Uint8Array): Promise<void> {
    return this.files.receive(frame);
  }

  view(): RoomView {
    const standing = (fp: string) => this.membership.standing(fp);
    const me = !this.membership.isInformed && standing(this.identity.fp) === 'in' ? 'waiting' : standing(this.identity.fp);
    this.snapshot ??= keepView(this.lastView, {
      members: this.roster.members(standing),
      timeline: this.timeline.entries(),
      blocked: { ...this.timeline.blocked },
      agreement: this.roster.agreement(),
      isAllVerified: this.roster.isAllVerified((fp) => standing(fp) === 'in'),
      membership: { lobby: this.membership.lobby.on, locked: this.membership.lock.on, me, canDecide: this.canDecide() },
    });
    this.lastView = this.snapshot;
    return this.snapshot;
  }

  /**
   * Re-evaluates time-based states (grace periods, staleness): called every
   * second. My messages that no other member acknowledged in time are marked
   * "not confirmed", whatever the relay echoed back to me.
   */
  refresh(): void {
    // A removal another one overtook is repeated here once everyone who moved has arrived (or after the grace period).
    const due = this.membership.dueRemoval(this.roster.fps(), this.now() - this.joinedAt >= ROSTER_AGREE_GRACE_MS);
    if (due !== undefined && this.canDecide() && !this.isMoveSent) {
      void this.enqueue(async () => {
        if (!this.hasEnded && this.roster.has(due)) await this.sendMove(due);
      });
    }
    if (this.isStateDirty) void this.enqueue(() => this.flushRoomStatement());
    const confirmed = this.roster.confirmedSeq();
    const now = this.now();
    const stale: string[] = [];
    this.unacknowledged = this.unacknowledged.filter((m) => {
      if (m.seq <= confirmed || !this.roster.hasOthers()) return false;
      if (now - m.at < STATEMENT_STALE_MS) return true;
      stale.push(m.key);
      return false;
    });
    this.timeline.markUnconfirmed(stale);
    this.files.tick();
    this.changed();
  }

  /**
   * The signed "I am leaving" statement to send before closing the socket
   * for good (Leave, tab closed): the others then read "left", not "lost
   * connection". Null until the first statement is signed.
   */
  goodbye(): string | null {
    return this.bye;
  }

  /** Shows a local notice (connection state and the like). */
  notice(text: string, tone: 'info' | 'warning' = 'info', who?: Who, canVerify = false): void {
    this.timeline.notice(text, tone, who, canVerify);
    this.changed();
  }

  // -------------------------------------------------------------------------

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const done = this.queue.then(task);
    this.queue = done.catch(() => undefined);
    return done;
  }

  private async process(text: string): Promise<Verdict[]> {
    if (this.hasEnded) return [];
    const frame = decodeServerFrame(text);
    if (frame instanceof Error) return [this.reject('malformed', frame.message)];
    switch (frame.t) {
      case 'challenge':
        // The connection answers the one challenge before the hello; another one is the relay's doing.
        return [this.reject('malformed', 'unexpected challenge')];
      case 'welcome': {
        // The relay sends one welcome; a later one would add members without a "joined" notice.
        if (this.hasWelcome) return [this.reject('malformed', 'second welcome')];
        this.hasWelcome = true;
        // Nobody else here: this tab starts the room (or carries its state), so it knows the state.
        if (frame.members.length === 0) this.membership.isInformed = true;
        const verdicts: Verdict[] = [];
        for (const hello of frame.members) verdicts.push(await this.admit(hello, false));
        return verdicts;
      }
      case 'join':
        return [await this.admit(frame.hello, true)];
      case 'leave':
        await this.removeMember(frame.fp);
        return [{ ok: true }];
      case 'msg':
        return [await this.accept(frame.env, frame.wrap)];
      case 'roster':
        return [await this.acceptStatement(frame.rc)];
      case 'state':
        return [await this.acceptRoomStatement(frame.st)];
    }
  }

  /** Hello checks and admission (PROTOCOL.md §7.1, §7.2): the crypto in openHello, then the roster's rules. */
  private async admit(hello: Hello, isNew: boolean): Promise<Verdict> {
    const peer = await openHello(this.keys, hello);
    if (peer instanceof Error) return this.reject('bad-hello', peer.message);
    if (this.roster.isDeparted(peer.fp)) return this.reject('stale-hello', 'identity already left', { fp: peer.fp, name: peer.name });
    if (this.roster.has(peer.fp)) return { ok: true };
    // Names are shown as cleaned (NFC, no invisible or format characters); one with nothing visible is refused.
    const name = cleanName(peer.name);
    if (name instanceof Error) return this.reject('bad-hello', name.message);
    const { prev, name: _raw, ...keys } = peer;
    const continues = prev === undefined ? undefined : await this.checkContinuity(prev, peer.fp);
    if (continues !== undefined) this.membership.succeed(continues, peer.fp);
    // A key claiming to continue a removed one is not let in, checked or not: the claim can only shut its maker out.
    if (prev !== undefined && this.membership.standing(prev.fp) === 'removed') this.membership.remove(peer.fp);
    const outcome = await this.addMember(keys, name, false, continues);
    const who = { fp: peer.fp, name };
    await this.afterAdmission(peer.fp, prev?.fp);
    if (outcome === 'continued') this.notice(this.isMove ? '{who} is in the new link with you (their previous key vouched for the new one).' : this.backSoon(prev?.fp), 'info', who);
    else if (outcome === 'rejoined-new-key') this.notice('{who} rejoined with a new key — verify again.', 'warning', who, true);
    else if (isNew && this.membership.standing(peer.fp) === 'in') this.notice('{who} joined. Compare safety codes to know it is really them.', 'info', who, true);
    if (this.membership.standing(peer.fp) === 'waiting' && this.membership.standing(this.identity.fp) === 'in') {
      this.notice('{who} is asking to join. Compare their safety code, then let them in or turn them away.', 'warning', who, true);
    }
    return { ok: true };
  }

  /**
   * The notice for a member back under a key its previous one vouched for.
   * Its previous key's departure, moments ago, is the same tab coming back:
   * that notice is taken back, and a signed goodbye then means a reload (or
   * a restored tab), not a leave.
   */
  private backSoon(prevFp: string | undefined): string {
    const gone = prevFp === undefined ? null : this.timeline.takeBackNotice(prevFp, [LEFT, LOST], BACK_SOON_MS);
    return gone === LEFT ? '{who} reloaded the page (their previous key vouched for the new one).' : '{who} reconnected (their previous key vouched for the new one).';
  }

  /**
   * A new member is in my roster: while the room is locked its knock is
   * turned away at once; a successor of a member I removed, whose removal
   * another one overtook, is removed again here.
   */
  private async afterAdmission(fp: string, prev: string | undefined): Promise<void> {
    if (prev !== undefined) this.membership.arrived(prev);
    if (!this.canDecide()) return;
    if (prev !== undefined && this.membership.pendingRemovals.has(prev)) {
      this.membership.pendingRemovals.delete(prev);
      this.membership.pendingRemovals.add(fp);
      this.membership.remove(fp);
      await this.stateChanged();
      return;
    }
    if (this.membership.lock.on && this.membership.standing(fp) === 'waiting') {
      this.membership.turnAway(fp);
      this.notice('The room is locked: {who} was turned away.', 'info', { fp, name: this.roster.nameOf(fp) ?? '' });
      await this.stateChanged();
    }
  }

  /**
   * A hello that says it continues an earlier identity: true only if this
   * tab knew that identity and its key signed the new fingerprint. Unknown
   * or bad claims make a plain join (never a verified one).
   */
  private async checkContinuity(prev: { fp: string; sig: string }, nextFp: string): Promise<string | undefined> {
    const old = this.roster.keysEverSeen(prev.fp);
    if (old === undefined || prev.fp === this.identity.fp) return undefined;
    return (await verifyContinuity(this.keys.roomId, prev, old.sigPub, nextFp)) ? prev.fp : undefined;
  }

  private async addMember(keys: PeerKeys, name: string, isSelf: boolean, continues?: string) {
    const outcome = this.roster.add(keys, name, isSelf, continues);
    this.namesSeen.set(keys.fp, name);
    await this.rosterChanged();
    // The code takes thousands of hashes (WebCrypto runs them off the UI
    // thread): fill it in later, never hold up the roster for it.
    void safetyCode(this.keys.roomId, keys.encSpki, keys.sigSpki).then((code) => {
      this.roster.setCode(keys.fp, { digits: code.digits, emoji: emojiCode(code.hash) });
      this.changed();
    });
    return outcome;
  }

  /**
   * The server says a member's socket closed. Only the member's own signed
   * statement makes that "left"; otherwise it is a lost connection.
   */
  private async removeMember(fp: string): Promise<void> {
    const gone = this.roster.remove(fp);
    if (gone === null) return;
    this.files.memberLeft(fp);
    this.notice(gone.hasSaidBye ? LEFT : LOST, 'info', { fp, name: gone.removedLabel });
    if (gone.successor !== null) {
      this.notice('{who} rejoined with a new key — verify again.', 'warning', { fp: gone.successor, name: gone.removed.name }, true);
    }
    await this.rosterChanged();
  }

  private async rosterChanged(): Promise<void> {
    // Messages carry the hash of whom they were encrypted for: compare with whom I encrypt for.
    this.myRosterHash = await rosterHash(this.presentIn());
    this.isRosterDirty = true;
    this.isStateDirty = true;
    this.changed();
  }

  /** My room state changed (by me or by a merged statement): recipients, notices, and a statement. */
  private async stateChanged(): Promise<void> {
    this.myRosterHash = await rosterHash(this.presentIn());
    this.isStateDirty = true;
    this.changed();
    await this.flushRoomStatement();
  }

  /**
   * Sends my room statement if my state or roster changed. A roster change
   * alone (`isUrgent` false) sends at most one a second, the rest at the next
   * refresh: a burst of joins must not make a burst of statements the
   * relay's rate limit would refuse. Decisions and merged changes go at once.
   */
  private async flushRoomStatement(isUrgent = true): Promise<void> {
    if (!this.isAnnounced || !this.isStateDirty || this.hasEnded) return;
    if (!isUrgent && this.now() - this.lastStateAt < REFRESH_MS) return;
    // Waiting, I have nothing to decide; my statement would only be ignored.
    if (this.membership.isInformed && this.membership.standing(this.identity.fp) !== 'in') return;
    this.isStateDirty = false;
    this.lastStateAt = this.now();
    this.roomStatementCount += 1;
    const st = await signRoomStatement(this.keys, this.identity, this.roomStatementCount, this.membership.statementFacts(this.roster.fps()));
    this.send(encodeClientFrame({ t: 'state', st }));
  }

  /**
   * Room statement checks (PROTOCOL.md §12.3), in order: room, sender in my
   * roster, signature, a newer counter, and a sender who is in. Only then is
   * the state merged; what changed is told, and acted on when it is about me.
   */
  private async acceptRoomStatement(st: RoomStatement): Promise<Verdict> {
    if (st.room !== this.keys.roomId) return this.reject('wrong-room', 'room statement room differs');
    const keys = this.roster.keysOf(st.sender);
    if (keys === undefined) return this.rejectStatement('unknown-sender', 'room statement from outside the roster', st.sender);
    const who = this.whoIs(st.sender);
    if (!(await verifyRoomStatement(st, keys.sigPub))) return this.rejectStatement('bad-signature', 'room statement signature invalid', st.sender, who);
    if (!this.membership.isFresh(st.sender, st.n)) return this.rejectStatement('replay', 'old room statement', st.sender, who);
    const standing = this.membership.standing(st.sender);
    // A newcomer states what it knows before it knows it waits: no decision, and no alarm either.
    if (standing === 'waiting') return { ok: false, reason: 'not-admitted', detail: 'room statement from someone waiting to be let in' };
    if (standing !== 'in') return this.rejectStatement('not-admitted', 'room statement from someone not let in', st.sender, who);
    const before = this.standings();
    const factsBefore = this.factsKey();
    const lobby = this.membership.lobby;
    const lock = this.membership.lock;
    this.membership.merge(st);
    this.membership.isInformed = true;
    this.tellChanges(before, who);
    if (this.membership.lobby !== lobby) this.switchNotice('lobby', this.membership.lobby.on, this.membership.lobby.by);
    if (this.membership.lock !== lock) this.switchNotice('lock', this.membership.lock.on, this.membership.lock.by);
    this.myRosterHash = await rosterHash(this.presentIn());
    this.changed();
    const mine = this.membership.standing(this.identity.fp);
    if (mine === 'removed' || mine === 'turned-away') {
      this.hasEnded = true;
      const by = this.labelOf(st.sender);
      this.notice(mine === 'removed' ? '{who} removed you from the room.' : '{who} turned you away.', 'warning', who);
      this.onMembership({ kind: mine, by });
      return { ok: true };
    }
    // While locked, knocks that were waiting are turned away, by every member who is in.
    if (this.canDecide() && this.membership.lock.on) {
      for (const fp of this.roster.fps()) if (this.membership.standing(fp) === 'waiting') this.membership.turnAway(fp);
    }
    // Restate only what changed my state: statements answering statements would never end.
    if (this.factsKey() !== factsBefore) this.isStateDirty = true;
    await this.flushRoomStatement();
    return { ok: true };
  }

  private factsKey(): string {
    return JSON.stringify(this.membership.statementFacts(this.roster.fps()));
  }

  private standings(): Map<string, Standing> {
    return new Map(this.roster.fps().map((fp) => [fp, this.membership.standing(fp)]));
  }

  /** Notices for what a merged statement changed about the members present. */
  private tellChanges(before: ReadonlyMap<string, Standing>, by: Who): void {
    for (const [fp, was] of before) {
      const now = this.membership.standing(fp);
      if (now === was) continue;
      const isMe = fp === this.identity.fp;
      const subject = isMe ? 'you' : this.labelOf(fp);
      if (now === 'in' && isMe) this.notice('{who} let you in. You can read and write from now on.', 'info', by);
      else if (now === 'in') this.notice(`{who} let ${subject} in.`, 'info', by);
      else if (now === 'waiting') this.notice(isMe ? 'Waiting for someone in the room to let you in.' : `${subject} is waiting for someone to let them in.`, 'info', isMe ? undefined : { fp, name: this.roster.nameOf(fp) ?? '' });
      else if (now === 'turned-away' && !isMe) this.notice(`{who} turned ${subject} away.`, 'info', by);
      else if (now === 'removed' && !isMe) this.notice(`{who} removed ${subject}.`, 'info', by);
    }
  }

  private switchNotice(which: 'lobby' | 'lock', on: boolean, byFp: string): void {
    const who = this.whoIs(byFp);
    const text = which === 'lobby'
      ? (on ? '{who} turned on Ask to join: newcomers wait until someone in the room lets them in.' : '{who} turned off Ask to join: anyone with the link can join.')
      : (on ? '{who} locked the room: nobody new can join.' : '{who} unlocked the room.');
    this.notice(text, 'info', who);
  }

  private labelOf(fp: string): string {
    return this.roster.members().find((m) => m.fp === fp)?.label ?? this.namesSeen.get(fp) ?? 'someone';
  }

  private async flushRosterStatement(): Promise<void> {
    await this.flushRoomStatement(false);
    if (!this.isAnnounced || !this.isRosterDirty) return;
    this.isRosterDirty = false;
    this.statementCount += 1;
    const n = this.statementCount;
    // The goodbye after this statement takes counter n + 1; it replaces the old one (counter n) in the task that sends n.
    const [rc, bye] = await Promise.all([
      signRosterConfirm(this.keys, this.identity, n, this.nextSeq - 1, this.roster.fps(), { ts: this.now(), heard: this.heardFrom }),
      this.signGoodbye(n + 1, this.nextSeq - 1),
    ]);
    this.roster.sentStatement(n);
    this.bye = bye;
    this.send(encodeClientFrame({ t: 'roster', rc }));
  }

  /** What my statements acknowledge of a member: the last seq and statement counter I received from it. */
  private readonly heardFrom = (fp: string) => ({ seq: this.ledger.heard(fp), n: this.roster.statementCountOf(fp) });

  /**
   * A goodbye with statement counter `n` saying `lastSeq` is my latest
   * message: signed before the statement or message it follows is sent, so
   * the goodbye kept ready is never one whose counter was already used.
   */
  private async signGoodbye(n: number, lastSeq: number): Promise<string> {
    const rc = await signRosterConfirm(this.keys, this.identity, n, lastSeq, this.roster.fps(), {
      ts: this.now(),
      isLeaving: true,
      heard: this.heardFrom,
    });
    return encodeClientFrame({ t: 'roster', rc });
  }

  /** Statement checks (PROTOCOL.md §7.3). */
  private async acceptStatement(rc: RosterConfirm): Promise<Verdict> {
    if (rc.room !== this.keys.roomId) return this.reject('wrong-room', 'statement room differs');
    const keys = this.roster.keysOf(rc.sender);
    if (keys === undefined) return this.rejectStatement('unknown-sender', 'statement from outside the roster', rc.sender);
    const who = this.whoIs(rc.sender);
    if (!(await verifyRosterConfirm(rc, keys.sigPub))) return this.rejectStatement('bad-signature', 'roster statement signature invalid', rc.sender, who);
    if (this.roster.acceptStatement(rc.sender, rc) === 'replay') return this.rejectStatement('replay', 'old roster statement', rc.sender, who);
    const gap = this.ledger.recordStatementSeq(rc.sender, rc.seq);
    if (gap > 0) this.reportGap(gap, who);
    // A signed goodbye: gone now, whatever the relay does with the socket's close.
    if (rc.isLeaving) await this.removeMember(rc.sender);
    this.changed();
    return { ok: true };
  }

  /**
   * Roster statements repeat every few seconds, so a bad one usually comes
   * again: count each, but say so once per sender and reason.
   */
  private rejectStatement(reason: RejectReason, detail: string, fp: string, who?: Who): Verdict {
    const key = `${reason}|${fp}`;
    if (!this.statementRejections.has(key)) {
      this.statementRejections.add(key);
      return this.reject(reason, detail, who);
    }
    this.timeline.count(COUNTER_OF[reason]);
    this.changed();
    return { ok: false, reason, detail };
  }

  private whoIs(fp: string): Who {
    return { fp, name: this.roster.nameOf(fp) ?? '' };
  }

  /**
   * The receiver's message checks, in the order PROTOCOL.md §7.3 numbers
   * them (check 1, the schema, was decodeServerFrame).
   */
  private async accept(env: Envelope, wrap: string | undefined): Promise<Verdict> {
    // 1, continued. The relay hands a recipient its own wrap and nobody else one: a wrap missing or extra is a broken frame.
    if ((wrap !== undefined) !== env.recipients.includes(this.identity.fp)) return this.reject('malformed', wrap === undefined ? 'no wrap for a recipient' : 'a wrap for a non-recipient');
    // 2. room
    if (env.room !== this.keys.roomId) return this.reject('wrong-room', 'envelope room differs');
    // 3. sender is a member whose hello checked out
    const keys = this.roster.keysOf(env.sender);
    if (keys === undefined) return this.reject('unknown-sender', 'sender not in roster');
    const sender = this.whoIs(env.sender);
    // Checks 4 and 5 are independent computations: run side by side, judged in order.
    const [hash, isMyWrap, isSigned] = await Promise.all([this.hashOfRecipients(env.recipients), wrap === undefined || isWrapFor(env, this.identity.fp, wrap), verifyEnvelope(env, keys.sigPub)]);
    // 4. recipients (sorted/unique/hash count were checked by the parser); rosterHash recomputes
    if (hash !== env.rosterHash) return this.reject('bad-recipients', 'rosterHash does not match recipients', sender);
    // 5. my wrap is the one the signed list holds for me, and the signature by the sender's own key covers everything
    if (!isMyWrap) return this.reject('bad-signature', 'wrap does not match its signed hash', sender);
    if (!isSigned) return this.reject('bad-signature', 'signature invalid', sender);
    // 5a. the sender is in: a waiting, turned away or removed member's words are never shown (§12.3)
    if (this.membership.standing(env.sender) !== 'in') return this.rejectStatement('not-admitted', 'sender is not let in', env.sender, sender);
    // 6. replay, 7. window
    const seen = this.ledger.check(env.sender, env.seq, env.msgId);
    if (seen.kind === 'replay') return this.reject('replay', 'seen before', sender);
    if (seen.kind === 'out-of-window') return this.reject('out-of-window', `seq ${env.seq} vs ${seen.maxSeq}`, sender);
    // 8. gaps, reported now, whatever checks 9 and 10 say of this message
    const recorded = this.ledger.record(env.sender, env.seq, env.msgId);
    if (recorded.gap > 0) this.reportGap(recorded.gap, sender);
    // A message counted missing (by a later message or statement) turned up: take the gap back.
    if (recorded.filledGap) this.timeline.takeBackGap(sender.fp);
    if (recorded.isLate || recorded.filledGap) this.notice('The next message from {who} arrived late, out of order.', 'warning', sender);
    // 9. am I a recipient? Just after my own join, a sender may not have seen my hello yet.
    if (!env.recipients.includes(this.identity.fp)) {
      // Waiting to be let in: nobody encrypts for me yet, and that is no alarm.
      if (this.membership.standing(this.identity.fp) === 'waiting') return { ok: false, reason: 'excluded', detail: 'waiting to be let in' };
      if (this.now() - this.joinedAt < ROSTER_AGREE_GRACE_MS) {
        this.notice('{who} sent a message just before you joined; it was not encrypted for you.', 'info', sender);
        return { ok: false, reason: 'excluded', detail: 'sent before my join reached the sender' };
      }
      return this.reject('excluded', 'not a recipient', sender);
    }
    // 10. unwrap (my own echo: the K I made), decrypt, and the inner header must repeat the outer one
    const sentK = env.sender === this.identity.fp ? this.sentKeys.get(env.msgId) : undefined;
    // Only my own echo uses it up: another member's message that reuses my id leaves it alone.
    if (sentK !== undefined) this.sentKeys.delete(env.msgId);
    const inner = await openMessage(this.keys, this.identity, env, wrap, sentK);
    if (inner instanceof Error) return this.reject('undecryptable', inner.message, sender);
    if (inner.sender !== env.sender || inner.room !== env.room || inner.seq !== env.seq) {
      return this.reject('inner-mismatch', 'inner header differs', sender);
    }
    if (inner.body.startsWith(MOVE_PREFIX)) return this.followMove(inner.body, sender, env);
    if (inner.body.startsWith('\u0000')) return this.reject('malformed', 'unknown room change', sender);
    const isOwn = sender.fp === this.identity.fp;
    const now = this.now();
    const isClockOff = Math.abs(env.ts - now) > MAX_CLOCK_SKEW_MS;
    if (isClockOff) this.notice('{who}’s clock is more than a day off: their message shows the time it arrived.', 'info', sender);
    if (inner.kind === 'file') {
      const transfer = await this.files.offered(sender.fp, inner.body, isOwn);
      if (transfer instanceof Error) return this.reject('malformed', transfer.message, sender);
      this.timeline.file({ kind: 'file', key: entryKey(sender.fp, env.msgId), senderFp: sender.fp, senderName: sender.name, ts: isClockOff ? now : env.ts, isOwn, isPending: false, transfer });
    } else this.timeline.message({ kind: 'message', key: entryKey(sender.fp, env.msgId), senderFp: sender.fp, senderName: sender.name, body: inner.body, ts: isClockOff ? now : env.ts, isOwn, isPending: false });
    this.changed();
    // 11. does the sender see the roster I see?
    if (this.roster.noteRosterHash(sender.fp, env.rosterHash === this.myRosterHash)) {
      this.notice('{who} sees a different member list.', 'warning', sender);
    }
    return { ok: true };
  }

  /**
   * rosterHash of a message's recipients, remembered for the last list: a room's
   * messages name the same recipients until its roster changes, so most need no hash.
   */
  private async hashOfRecipients(fps: readonly string[]): Promise<string> {
    const key = fps.join(' ');
    if (key !== this.lastRecipients.key) this.lastRecipients = { key, hash: await rosterHash(fps) };
    return this.lastRecipients.hash;
  }

  /**
   * A member removed someone and gave everyone else a new link secret. The
   * first such message in relay order is the one the room follows (the
   * relay sends messages to everyone in one order, the sender's echo too);
   * a remover whose removal was overtaken repeats it in the new room.
   */
  private followMove(body: string, sender: Who, env: Envelope): Verdict {
    const move = parseMoveBody(body);
    if (move instanceof Error || move.removed === sender.fp) return this.reject('malformed', 'move is malformed', sender);
    const isMine = sender.fp === this.identity.fp;
    this.membership.remove(move.removed);
    this.membership.pendingRemovals.delete(move.removed);
    // Whom the new room should see arrive before a removal this one overtook is repeated there.
    this.membership.expect(env.recipients.filter((fp) => fp !== this.identity.fp));
    this.hasEnded = true;
    const removedLabel = move.removed === this.identity.fp ? 'you' : this.labelOf(move.removed);
    this.notice(isMine ? `You removed ${removedLabel}. Moving everyone else to a new link…` : `{who} removed ${removedLabel}. Moving to the room’s new link…`, 'info', isMine ? undefined : sender);
    this.onMembership({ kind: 'move', secret: move.secret, removed: move.removed, by: this.labelOf(sender.fp), isMine });
    return { ok: true };
  }

  private reportGap(gap: number, who: Who): void {
    this.timeline.gap(gap, who);
    this.changed();
  }

  private reject(reason: RejectReason, detail: string, who?: Who): Verdict {
    this.timeline.count(COUNTER_OF[reason]);
    this.notice(noticeFor(reason), 'warning', who);
    return { ok: false, reason, detail };
  }

  private changed(): void {
    this.snapshot = null;
    this.onChange();
  }
}

/** Sent messages whose K is kept for their echo (see Room.sentKeys): far more than are ever in flight. */
const MAX_SENT_KEYS = 256;

const LEFT = '{who} left.';
const LOST = '{who} lost connection.';

/** Timeline keys: message ids are unique per sender only, so the sender is part of the key. */
const entryKey = (senderFp: string, msgId: string): string => `${senderFp}/${msgId}`;
