/**
 * One person's presence in a room, across connections: it owns the socket,
 * the reconnect policy (connection.ts) and the current RoomSession. Plain
 * TypeScript, no Preact and no DOM beyond an optional `online` event: the page
 * subscribes to it (use-room.ts), and so can a terminal client or a bot with
 * Node's `ws` socket.
 *
 * A tab identity serves one connection only, so every reconnect makes new
 * keys and a new RoomSession under the same name, which carries over what the
 * last one showed and knew (RoomSession `carry`), and whose hello is vouched
 * for by the previous identity's signing key (PROTOCOL.md §6.4).
 */
import { CLOSE, LOGS_URL_LIFETIME_MS, decodeServerFrame, parseSecretFragment } from './protocol';
import { deriveRoomKeys, generateIdentity, signLogsRequest, type Identity, type RoomKeys } from './crypto';
import { RoomSession, type Carry, type MembershipEvent, type Resume, type RoomView } from './room';
import type { FileSource } from './files';
import { KEPT_KEY_REWRITE_MS, KEPT_KEY_WAIT_MS, REFRESH_MS, ROSTER_STATEMENT_MS } from './timing';
import { closeReason, isRetryable, reconnectDelayMs } from './connection';

export type Phase =
  | { kind: 'ready' }
  | { kind: 'joining' }
  | { kind: 'joined' }
  /** The connection was lost; the next attempt is at `retryAt` (epoch ms). */
  | { kind: 'reconnecting'; reason: string; retryAt: number }
  | { kind: 'left' }
  /** A member removed or turned this tab away: final, no reconnect (PROTOCOL.md §12). */
  | { kind: 'ended'; reason: string }
  /** Closed for a reason retrying cannot fix (or before the first join). */
  | { kind: 'closed'; reason: string };

/** What a connection needs of a WebSocket: the browser's and the `ws` package's both fit. */
export interface SocketLike {
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
}

export interface RoomConnectionOptions {
  /** Opens the socket for a room id (`wss://host/ws/<roomId>`). */
  openSocket: (roomId: string) => SocketLike;
  /** Called after every change of phase or view. */
  onChange: () => void;
  /** The room moved to a new link secret (b64) after a removal: the invite and the tab's history follow. */
  onMove?: (secret: string) => void;
  /** Where this tab keeps its signing key across a reload (browsers: tab-keys.ts); without it a reload is a new identity. */
  keep?: TabKeyStore;
}

/** A tab's signing key kept for its next page load, and the room it is for (tab-keys.ts). */
export interface KeptKey extends Resume {
  roomId: string;
}

/** One tab's kept key: taken (and so deleted) once, written while in the room, dropped on leave. */
export interface TabKeyStore {
  take(): Promise<KeptKey | null>;
  put(kept: KeptKey): Promise<void>;
  drop(): Promise<void>;
}


export class RoomConnection {
  phase: Phase = { kind: 'ready' };
  /** Known once the link's keys are derived. */
  roomId: string | null = null;

  /** Keys are made ahead (while a name is typed, or while waiting to reconnect), so joining is quick. */
  private prepared: Promise<[RoomKeys, Identity]>;
  /** The session of the current connection, once the server has welcomed it. */
  private session: RoomSession | null = null;
  private socket: SocketLike | null = null;
  /** What the last connection showed, and what the next one carries over; null before the first join. */
  private past: { view: RoomView; carry: Carry } | null = null;
  private name = '';
  private attempt = 0;
  /** Bumped by every connect and by stop, so a connect still making keys knows it was superseded. */
  private generation = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private readonly retryNow = () => {
    if (this.phase.kind === 'reconnecting') this.rejoin();
  };
  /** The tab is closing: say a signed goodbye while the socket can still send. */
  private readonly sayGoodbye = () => {
    const bye = this.session?.goodbye() ?? null;
    if (bye !== null) this.socket?.send(bye);
  };

  /** Set while moving to a new link, so the next session says so instead of "reconnected". */
  private isMoving = false;

  /** The key this tab kept before a reload (taken at once, so a duplicate tab cannot take it too); used by the first join only. */
  private kept: Promise<KeptKey | null>;

  constructor(private secret: Uint8Array, private readonly options: RoomConnectionOptions) {
    // A store that does not answer must never hold up a join: past KEPT_KEY_WAIT_MS from page load, join without it.
    this.kept = options.keep === undefined ? Promise.resolve(null) : Promise.race([
      options.keep.take().catch(() => null),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), KEPT_KEY_WAIT_MS)),
    ]);
    this.prepared = this.prepare();
    void this.prepared.then(([keys]) => {
      this.roomId = keys.roomId;
      this.options.onChange();
    }, (err: unknown) => this.setPhase({ kind: 'closed', reason: `encryption could not start (${errorText(err)})` }));
    // Back online: retry at once instead of waiting out the backoff (browsers only).
    globalThis.addEventListener?.('online', this.retryNow);
    globalThis.addEventListener?.('pagehide', this.sayGoodbye);
  }

  join(name: string): void {
    this.name = name;
    this.past = null;
    this.attempt = 0;
    this.setPhase({ kind: 'joining' });
    this.connect();
  }

  /** "Reconnect now" while away, "Join again" after a final close: same name, new keys. */
  rejoin(): void {
    if (this.phase.kind !== 'closed' && this.phase.kind !== 'reconnecting') return;
    this.setPhase({ kind: 'reconnecting', reason: this.phase.reason, retryAt: Date.now() });
    this.connect();
  }

  leave(): void {
    this.sayGoodbye();
    this.stop();
    this.dropKept();
    this.setPhase({ kind: 'left' });
  }

  async send(body: string): Promise<void> {
    if (this.session === null) throw new Error('you are offline');
    await this.session.post(body);
  }

  /** Encrypts a file and offers it to the room (PROTOCOL.md §11). */
  async sendFile(source: FileSource): Promise<void> {
    if (this.session === null) throw new Error('you are offline');
    await this.session.sendFile(source);
  }

  /** A notice only this tab sees (/help and the like), also while offline. */
  notice(text: string): void {
    if (this.session !== null) return this.session.notice(text);
    if (this.past === null) return;
    const now = Date.now();
    const entry = { kind: 'notice' as const, key: `local-${now}`, text, tone: 'info' as const, ts: now };
    const { view, carry } = this.past;
    this.past = { view: { ...view, timeline: [...view.timeline, entry] }, carry: { ...carry, timeline: [...carry.timeline, entry] } };
    this.options.onChange();
  }

  setVerified(fp: string, isVerified: boolean): void {
    this.session?.setVerified(fp, isVerified);
    if (this.session !== null) this.keepKey(this.session);
    this.options.onChange();
  }

  /** Room decisions (PROTOCOL.md §12); ignored while offline or when this tab may not decide. */
  setSwitch(which: 'lobby' | 'lock', on: boolean): Promise<void> {
    return this.session?.setSwitch(which, on) ?? Promise.resolve();
  }

  letIn(fp: string): Promise<void> {
    return this.session?.letIn(fp) ?? Promise.resolve();
  }

  turnAway(fp: string): Promise<void> {
    return this.session?.turnAway(fp) ?? Promise.resolve();
  }

  removeMember(fp: string): Promise<void> {
    return this.session?.removeFromRoom(fp) ?? Promise.resolve();
  }

  /**
   * A fresh signed path to this room's server log, readable while this tab is
   * a member (PROTOCOL.md §8.5); null while not in the room.
   */
  async logsUrl(): Promise<string | null> {
    const session = this.session;
    if (session === null) return null;
    return signLogsRequest(session.keys, session.identity, Date.now() + LOGS_URL_LIFETIME_MS);
  }

  view(): RoomView | null {
    return this.session?.view() ?? this.past?.view ?? null;
  }

  /** The page went away: close for good. */
  dispose(): void {
    this.stop();
    globalThis.removeEventListener?.('online', this.retryNow);
    globalThis.removeEventListener?.('pagehide', this.sayGoodbye);
  }

  // -------------------------------------------------------------------------

  private prepare(): Promise<[RoomKeys, Identity]> {
    return Promise.all([deriveRoomKeys(this.secret), generateIdentity()]);
  }

  private setPhase(phase: Phase): void {
    this.phase = phase;
    this.options.onChange();
  }

  private lostReason(): string {
    return this.phase.kind === 'reconnecting' || this.phase.kind === 'closed' ? this.phase.reason : '';
  }

  /** Closes for good: after Leave, or when the page goes away. */
  private stop(): void {
    this.generation += 1;
    clearTimeout(this.retryTimer);
    clearInterval(this.refreshTimer);
    this.socket?.close(CLOSE.NORMAL, 'left');
    this.socket = null;
    this.session?.files.stop();
    this.session = null;
    this.past = null;
  }

  private connect(): void {
    clearTimeout(this.retryTimer);
    const mine = ++this.generation;
    const keysAndIdentity = this.prepared;
    // A tab identity is used for one connection only: the next one gets new keys.
    this.prepared = this.prepare();
    // The key kept before a reload vouches for the first connection only (later ones carry their own).
    const kept = this.past === null ? this.kept : Promise.resolve(null);
    this.kept = Promise.resolve(null);
    void Promise.all([keysAndIdentity, kept]).then(([[keys, identity], resume]) => {
      if (mine === this.generation) this.open(keys, identity, resume?.roomId === keys.roomId ? resume : undefined);
    }, (err: unknown) => {
      if (mine === this.generation) this.setPhase({ kind: 'closed', reason: `encryption could not start (${errorText(err)})` });
    });
  }

  private open(keys: RoomKeys, identity: Identity, resume?: Resume): void {
    const ws = this.options.openSocket(keys.roomId);
    const isReconnect = this.past !== null;
    const isMove = this.isMoving;
    this.isMoving = false;
    const room: RoomSession = new RoomSession(keys, identity, this.name, (frame) => ws.send(frame), {
      onChange: this.options.onChange,
      sendBinary: (frame) => ws.send(frame),
      onMembership: (event) => this.decided(room, event),
      ...(this.past === null ? (resume === undefined ? {} : { resume }) : { carry: { ...this.past.carry, isMove } }),
    });
    this.socket?.close(CLOSE.NORMAL);
    this.socket = ws;
    const fail = (reason: string) => {
      if (this.socket !== ws) return;
      this.socket = null;
      ws.close(CLOSE.NORMAL, 'could not start');
      this.setPhase({ kind: 'closed', reason });
    };
    let isStarted = false;
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') {
        // Binary frames are file chunks and notes (PROTOCOL.md §11.3): they go to the session's files, apart from the chat.
        const bytes = event.data instanceof ArrayBuffer ? new Uint8Array(event.data) : event.data instanceof Uint8Array ? event.data : null;
        if (bytes !== null && this.session === room) void room.receiveBinary(bytes);
        return;
      }
      // The server's first frame is its challenge; the hello answers it (PROTOCOL.md §6.1).
      if (!isStarted) {
        isStarted = true;
        const challenge = decodeServerFrame(event.data);
        if (challenge instanceof Error || challenge.t !== 'challenge') return fail('the server did not open the door (no challenge)');
        room.start(challenge.nonce).catch((err: unknown) => {
          // Not a network failure: retrying would fail the same way, so say what broke.
          fail(`joining failed (${errorText(err)})`);
        });
        return;
      }
      // The server answers a hello it accepts with the welcome; a refusal is a close instead.
      if (this.session !== room && this.socket === ws) {
        this.session = room;
        this.attempt = 0;
        if (isMove) room.notice('You are in the room’s new link now. Each member’s previous key vouches for their new one, so verified marks carry over.');
        else if (isReconnect) room.notice(`Reconnected after the connection was lost (${this.lostReason()}). Your previous key vouched for your new one, so verified marks carry over.`);
        else if (resume !== undefined) room.notice('Back after reloading the page. Your key from before the reload vouched for your new one, so verified marks carry over.');
        this.keepKey(room);
        this.startRefresh(room);
        this.setPhase({ kind: 'joined' });
      }
      void room.receive(event.data);
    };
    ws.onclose = (event) => this.closed(ws, event.code, event.reason);
  }

  /**
   * The room decided about this tab: removed or turned away ends it for good
   * (no reconnect, the old link leads nowhere new); a move takes this tab,
   * its verified marks and its timeline to the new link secret.
   */
  private decided(room: RoomSession, event: MembershipEvent): void {
    if (this.session !== room) return;
    if (event.kind !== 'move') {
      const reason = event.kind === 'removed' ? `${event.by} removed you from the room` : `${event.by} turned you away`;
      this.sayGoodbye();
      this.stop();
      this.dropKept();
      this.setPhase({ kind: 'ended', reason });
      return;
    }
    const secret = parseSecretFragment(event.secret);
    if (secret instanceof Error) return;
    this.past = { view: room.view(), carry: room.carryOver() };
    this.sayGoodbye();
    // The old socket goes quietly: its close is not a lost connection.
    const old = this.socket;
    this.socket = null;
    this.session = null;
    clearInterval(this.refreshTimer);
    old?.close(CLOSE.NORMAL, 'moved');
    this.secret = secret;
    // Keep the identity made ahead (it has no room in it); derive the new link's keys.
    const identity = this.prepared.then(([, id]) => id);
    this.prepared = Promise.all([deriveRoomKeys(secret), identity]);
    void this.prepared.then(([keys]) => {
      this.roomId = keys.roomId;
      this.options.onChange();
    }, () => undefined);
    this.isMoving = true;
    this.attempt = 0;
    this.options.onMove?.(event.secret);
    this.setPhase({ kind: 'reconnecting', reason: 'moving to the room’s new link', retryAt: Date.now() });
    this.connect();
  }

  private closed(ws: SocketLike, code: number, serverReason: string): void {
    if (this.socket !== ws) return;
    this.socket = null;
    clearInterval(this.refreshTimer);
    const reason = closeReason(code, serverReason);
    this.session?.files.stop();
    if (this.session !== null) this.past = { view: this.session.view(), carry: this.session.carryOver() };
    this.session = null;
    if (this.past === null || !isRetryable(code)) return this.setPhase({ kind: 'closed', reason });
    const delay = reconnectDelayMs(this.attempt);
    this.attempt += 1;
    // Keep the first reason while retrying: "server restarting" says more than the refused attempts after it.
    const first = this.phase.kind === 'reconnecting' ? this.phase.reason : reason;
    this.setPhase({ kind: 'reconnecting', reason: first, retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private startRefresh(room: RoomSession): void {
    clearInterval(this.refreshTimer);
    let ticks = 0;
    this.refreshTimer = setInterval(() => {
      ticks += 1;
      room.refresh();
      if (ticks % (ROSTER_STATEMENT_MS / REFRESH_MS) === 0) void room.confirmRoster();
      if (ticks % (KEPT_KEY_REWRITE_MS / REFRESH_MS) === 0) this.keepKey(room);
    }, REFRESH_MS);
  }

  /** Writes this session's key for a reload of the tab (a failure only means the reload is a new identity). */
  private keepKey(room: RoomSession): void {
    this.options.keep?.put({ roomId: room.keys.roomId, ...room.resumeAfterReload() }).catch(() => undefined);
  }

  private dropKept(): void {
    this.options.keep?.drop().catch(() => undefined);
  }
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
