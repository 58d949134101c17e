/**
 * The room session: one connection's roster, sending, and the receiver's
 * checks in the order PROTOCOL.md §7 lists them. No DOM, no socket: frames
 * come in as text and go out through `send`, so the whole receive path runs
 * in Node tests. The bookkeeping lives in its own modules: who is in the room
 * and whether everyone agrees (roster.ts), what arrived from each sender
 * (sender-ledger.ts), and what the tab shows (timeline.ts).
 */
import { nanoid } from 'nanoid';
import { decodeServerFrame, encodeClientFrame, type Envelope, type Hello, type RosterConfirm } from './protocol';
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
  type Identity,
  type PeerKeys,
  type RoomKeys,
} from './crypto';
import { Roster, type Agreement, type Member, type RosterMemory } from './roster';
import { MAX_CLOCK_SKEW_MS, ROSTER_AGREE_GRACE_MS, STATEMENT_STALE_MS } from './timing';
import { SenderLedger, type LedgerState } from './sender-ledger';
import { Timeline, type BlockedCounts, type TimelineEntry, type Who } from './timeline';
import { COUNTER_OF, noticeFor, type RejectReason, type Verdict } from './verdicts';
import { emojiCode } from './verify';
import { cleanName } from './names';
import { FileManager, type FileSource } from './files';

export type { Member } from './roster';
export { noticeText, type BlockedCounts, type TimelineEntry, type Who } from './timeline';
export type { RejectReason, Verdict } from './verdicts';

export interface RoomView {
  members: Member[];
  timeline: TimelineEntry[];
  blocked: BlockedCounts;
  /** Does every member see the member list I see? */
  agreement: Agreement;
  isAllVerified: boolean;
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
}

export interface RoomSessionOptions {
  now?: () => number;
  onChange?: () => void;
  /** From `carryOver()` of this tab's previous session, when reconnecting. */
  carry?: Carry;
  /** Sends a binary addressed frame (file chunks and their notes, PROTOCOL.md §11); without it, files cannot move. */
  sendBinary?: (frame: Uint8Array<ArrayBuffer>) => void;
}



export class RoomSession {
  private readonly roster: Roster;
  private readonly ledger: SenderLedger;
  private readonly timeline: Timeline;
  private readonly previous: Identity | undefined;
  /** A signed "I am leaving" statement kept ready, so closing a tab can send it without waiting for WebCrypto. */
  private bye: string | null = null;
  /** My messages not yet acknowledged by anyone's statement: key, seq, when sent. */
  private unacknowledged: { key: string; seq: number; at: number }[] = [];
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
  private readonly now: () => number;
  private readonly onChange: () => void;
  /** Files sent and received on this connection (PROTOCOL.md §11). */
  readonly files: FileManager;

  constructor(
    readonly keys: RoomKeys,
    readonly identity: Identity,
    private readonly name: string,
    private readonly send: (frame: string) => void,
    options: RoomSessionOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.onChange = options.onChange ?? (() => {});
    this.roster = new Roster(this.now);
    const carry = options.carry;
    this.ledger = new SenderLedger(carry?.ledger);
    this.timeline = new Timeline(this.now, carry === undefined ? undefined : { entries: carry.timeline, blocked: carry.blocked });
    this.previous = carry?.previous;
    if (carry !== undefined) this.roster.remember(carry);
    this.files = new FileManager({
      keys,
      selfFp: identity.fp,
      sendBinary: options.sendBinary ?? (() => {}),
      now: this.now,
      onTamper: (fp) => this.reject('undecryptable', 'file chunk failed its check', this.whoIs(fp)),
    });
  }

  /** What the next connection of this tab takes over; own messages never confirmed are marked so. */
  carryOver(): Carry {
    const { entries, blocked } = this.timeline.carry();
    return { timeline: entries, blocked, ...this.roster.memory(), ledger: this.ledger.state(), previous: this.identity };
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

  /** Signs and sends the roster this tab sees. Called on every change and periodically. */
  confirmRoster(): Promise<void> {
    this.isRosterDirty = true;
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
      const msgId = nanoid();
      const ts = this.now();
      const recipients = this.roster.allKeys();
      const seq = this.nextSeq;
      const { env, wraps } = await sealMessage(this.keys, this.identity, { msgId, seq, ts, body }, recipients);
      this.nextSeq += 1;
      const key = entryKey(this.identity.fp, msgId);
      this.timeline.message({ kind: 'message', key, senderFp: this.identity.fp, senderName: this.name, body, ts, isOwn: true, isPending: true });
      this.unacknowledged.push({ key, seq, at: ts });
      this.changed();
      this.send(encodeClientFrame({ t: 'msg', env, wraps }));
      await this.prepareGoodbye();
    });
  }

  /**
   * Encrypts a file (outside the queue: a big one takes a moment), then
   * offers it to everyone in the roster in a signed message (PROTOCOL.md §11.1).
   */
  async sendFile(source: FileSource): Promise<void> {
    const prepared = await this.files.prepare(source);
    return this.enqueue(async () => {
      const msgId = nanoid();
      const ts = this.now();
      const recipients = this.roster.allKeys();
      const seq = this.nextSeq;
      const { env, wraps } = await sealMessage(this.keys, this.identity, { msgId, seq, ts, body: prepared.text, kind: 'file' }, recipients);
      this.nextSeq += 1;
      const key = entryKey(this.identity.fp, msgId);
      const transfer = this.files.attach(prepared, recipients.map((r) => r.fp));
      this.timeline.file({ kind: 'file', key, senderFp: this.identity.fp, senderName: this.name, ts, isOwn: true, isPending: true, transfer });
      this.unacknowledged.push({ key, seq, at: ts });
      this.changed();
      this.send(encodeClientFrame({ t: 'msg', env, wraps }));
      await this.prepareGoodbye();
    });
  }

  /** A binary frame from the relay: file chunks and notes, on their own queue so chat never waits for them. */
  receiveBinary(frame: Uint8Array): Promise<void> {
    return this.files.receive(frame);
  }

  view(): RoomView {
    this.snapshot ??= {
      members: this.roster.members(),
      timeline: this.timeline.entries(),
      blocked: { ...this.timeline.blocked },
      agreement: this.roster.agreement(),
      isAllVerified: this.roster.isAllVerified(),
    };
    return this.snapshot;
  }

  /**
   * Re-evaluates time-based states (grace periods, staleness): called every
   * second. My messages that no other member acknowledged in time are marked
   * "not confirmed", whatever the relay echoed back to me.
   */
  refresh(): void {
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
    const outcome = await this.addMember(keys, name, false, continues);
    const who = { fp: peer.fp, name };
    if (outcome === 'continued') this.notice('{who} reconnected (their previous key vouched for the new one).', 'info', who);
    else if (outcome === 'rejoined-new-key') this.notice('{who} rejoined with a new key — verify again.', 'warning', who, true);
    else if (isNew) this.notice('{who} joined. Compare safety codes to know it is really them.', 'info', who, true);
    return { ok: true };
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
    this.notice(gone.hasSaidBye ? '{who} left.' : '{who} lost connection.', 'info', { fp, name: gone.removedLabel });
    if (gone.successor !== null) {
      this.notice('{who} rejoined with a new key — verify again.', 'warning', { fp: gone.successor, name: gone.removed.name }, true);
    }
    await this.rosterChanged();
  }

  private async rosterChanged(): Promise<void> {
    this.myRosterHash = await rosterHash(this.roster.fps());
    this.isRosterDirty = true;
    this.changed();
  }

  private async flushRosterStatement(): Promise<void> {
    if (!this.isAnnounced || !this.isRosterDirty) return;
    this.isRosterDirty = false;
    this.statementCount += 1;
    const n = this.statementCount;
    const rc = await signRosterConfirm(this.keys, this.identity, n, this.nextSeq - 1, this.roster.fps(), {
      ts: this.now(),
      heard: this.heardFrom,
    });
    this.roster.sentStatement(n);
    this.send(encodeClientFrame({ t: 'roster', rc }));
    await this.prepareGoodbye();
  }

  /** What my statements acknowledge of a member: the last seq and statement counter I received from it. */
  private readonly heardFrom = (fp: string) => ({ seq: this.ledger.heard(fp), n: this.roster.statementCountOf(fp) });

  /** Re-signs the goodbye after every statement and message, so it always says my latest seq. */
  private async prepareGoodbye(): Promise<void> {
    const rc = await signRosterConfirm(this.keys, this.identity, this.statementCount + 1, this.nextSeq - 1, this.roster.fps(), {
      ts: this.now(),
      isLeaving: true,
      heard: this.heardFrom,
    });
    this.bye = encodeClientFrame({ t: 'roster', rc });
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
   * The receiver's message checks, in the order PROTOCOL.md §7.2 numbers
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
    const [hash, isMyWrap, isSigned] = await Promise.all([rosterHash(env.recipients), wrap === undefined || isWrapFor(env, this.identity.fp, wrap), verifyEnvelope(env, keys.sigPub)]);
    // 4. recipients (sorted/unique/hash count were checked by the parser); rosterHash recomputes
    if (hash !== env.rosterHash) return this.reject('bad-recipients', 'rosterHash does not match recipients', sender);
    // 5. my wrap is the one the signed list holds for me, and the signature by the sender's own key covers everything
    if (!isMyWrap) return this.reject('bad-signature', 'wrap does not match its signed hash', sender);
    if (!isSigned) return this.reject('bad-signature', 'signature invalid', sender);
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
      if (this.now() - this.joinedAt < ROSTER_AGREE_GRACE_MS) {
        this.notice('{who} sent a message just before you joined; it was not encrypted for you.', 'info', sender);
        return { ok: false, reason: 'excluded', detail: 'sent before my join reached the sender' };
      }
      return this.reject('excluded', 'not a recipient', sender);
    }
    // 10. unwrap, decrypt, and the inner header must repeat the outer one
    const inner = await openMessage(this.keys, this.identity, env, wrap);
    if (inner instanceof Error) return this.reject('undecryptable', inner.message, sender);
    if (inner.sender !== env.sender || inner.room !== env.room || inner.seq !== env.seq) {
      return this.reject('inner-mismatch', 'inner header differs', sender);
    }
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

/** Timeline keys: message ids are unique per sender only, so the sender is part of the key. */
const entryKey = (senderFp: string, msgId: string): string => `${senderFp}/${msgId}`;
