/**
 * Owns the socket and the room session for the UI. Components get plain
 * state and callbacks; they never touch WebSocket or crypto.subtle.
 *
 * A lost connection is retried with backoff (connection.ts). A tab identity
 * serves one connection only, so every reconnect makes new keys and a new
 * RoomSession under the same name, which carries over what the last one
 * showed and knew (RoomSession `carry`): a member back under a known name
 * with another key is "rejoined with a new key" (after a server restart,
 * everyone is).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { CLOSE, parseSecretFragment, toB64u } from './protocol';
import { deriveRoomKeys, generateIdentity, newRoomSecret } from './crypto';
import { RoomSession, type Carry, type RoomView, type TimelineEntry } from './room';
import { closeReason, isRetryable, reconnectDelayMs } from './connection';

export type Phase =
  | { kind: 'ready' }
  | { kind: 'joining' }
  | { kind: 'joined' }
  /** The connection was lost; the next attempt is at `retryAt` (epoch ms). */
  | { kind: 'reconnecting'; reason: string; retryAt: number }
  | { kind: 'left' }
  /** Closed for a reason retrying cannot fix (or before the first join). */
  | { kind: 'closed'; reason: string };

/** The link: the secret from the fragment, or a fresh one for a new room. */
export interface Link {
  secret: Uint8Array;
  url: string;
}

/** Where a reload finds the room once the fragment has left the address bar: this tab's history entry. */
const STATE_KEY = 'hushRoom';

function secretInHistory(): string | null {
  const state: unknown = history.state;
  return typeof state === 'object' && state !== null && STATE_KEY in state && typeof state[STATE_KEY] === 'string' ? state[STATE_KEY] : null;
}

/**
 * Reads the secret from the fragment (after a reload, from this tab's history
 * entry), then takes it out of the address bar, so it stays out of browser
 * history, synced tabs and screen shares; the invite still gives the full
 * link. With neither, makes a new room.
 */
export function readOrCreateLink(): Link | Error {
  const fragment = location.hash.length > 1 ? location.hash : `#${secretInHistory() ?? newRoomSecret()}`;
  const secret = parseSecretFragment(fragment);
  if (secret instanceof Error) return secret;
  const text = toB64u(secret);
  history.replaceState({ [STATE_KEY]: text }, '', location.pathname + location.search);
  return { secret, url: `${location.origin}/#${text}` };
}

export const hasWebCrypto = (): boolean => globalThis.isSecureContext && globalThis.crypto?.subtle !== undefined;


export interface RoomHandle {
  phase: Phase;
  view: RoomView | null;
  roomId: string | null;
  join: (name: string) => void;
  /** "Reconnect now" while away, "Join again" after a final close: same name, new keys. */
  rejoin: () => void;
  leave: () => void;
  send: (body: string) => Promise<void>;
  /** A notice only this tab sees (/help and the like). */
  notice: (text: string) => void;
  setVerified: (fp: string, isVerified: boolean) => void;
}

/** Grace periods are judged against the clock, so the view is re-read this often. */
const REFRESH_MS = 1_000;
/** Besides every roster change, each tab restates its roster this often. */
const ROSTER_STATEMENT_MS = 10_000;
interface Connection extends Omit<RoomHandle, 'view'> {
  view: () => RoomView | null;
  dispose: () => void;
}

/** The connection state machine behind useRoom; `onChange` asks for a render. */
function connectRoom(secret: Uint8Array, onChange: () => void): Connection {
  const prepare = () => Promise.all([deriveRoomKeys(secret), generateIdentity()]);
  // Keys are made ahead (while a name is typed, or while waiting to reconnect), so joining is quick.
  let prepared = prepare();
  /** The session of the current connection, once the server has welcomed it. */
  let session: RoomSession | null = null;
  let socket: WebSocket | null = null;
  /** What the last connection showed, and what the next one carries over; null before the first join. */
  let past: { view: RoomView; carry: Carry } | null = null;
  let name = '';
  let attempt = 0;
  /** Bumped by every connect and by stop, so a connect still making keys knows it was superseded. */
  let generation = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let refreshTimer: ReturnType<typeof setInterval> | undefined;

  const self: Connection = {
    phase: { kind: 'ready' },
    roomId: null,
    join(newName) {
      name = newName;
      past = null;
      attempt = 0;
      setPhase({ kind: 'joining' });
      connect();
    },
    rejoin() {
      if (self.phase.kind !== 'closed' && self.phase.kind !== 'reconnecting') return;
      setPhase({ kind: 'reconnecting', reason: self.phase.reason, retryAt: Date.now() });
      connect();
    },
    leave() {
      stop();
      setPhase({ kind: 'left' });
    },
    async send(body) {
      if (session === null) throw new Error('you are offline');
      await session.post(body);
    },
    notice(text) {
      if (session !== null) return session.notice(text);
      if (past === null) return;
      const now = Date.now();
      const entry: TimelineEntry = { kind: 'notice', key: `local-${now}`, text, tone: 'info', ts: now };
      past = { view: { ...past.view, timeline: [...past.view.timeline, entry] }, carry: { ...past.carry, timeline: [...past.carry.timeline, entry] } };
      onChange();
    },
    setVerified(fp, isVerified) {
      session?.setVerified(fp, isVerified);
      onChange();
    },
    view: () => session?.view() ?? past?.view ?? null,
    dispose() {
      stop();
      removeEventListener('online', retryNow);
    },
  };

  void prepared.then(([keys]) => {
    self.roomId = keys.roomId;
    onChange();
  });
  const retryNow = () => {
    if (self.phase.kind === 'reconnecting') self.rejoin();
  };
  addEventListener('online', retryNow);

  const lostReason = (): string => (self.phase.kind === 'reconnecting' || self.phase.kind === 'closed' ? self.phase.reason : '');

  function setPhase(phase: Phase): void {
    self.phase = phase;
    onChange();
  }

  /** Closes for good: after Leave, or when the page goes away. */
  function stop(): void {
    generation += 1;
    clearTimeout(retryTimer);
    clearInterval(refreshTimer);
    socket?.close(CLOSE.NORMAL, 'left');
    socket = null;
    session = null;
    past = null;
  }

  function connect(): void {
    clearTimeout(retryTimer);
    const mine = ++generation;
    const keysAndIdentity = prepared;
    // A tab identity is used for one connection only: the next one gets new keys.
    prepared = prepare();
    void keysAndIdentity.then(([keys, identity]) => {
      if (mine !== generation) return;
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      const ws = new WebSocket(`${scheme}://${location.host}/ws/${keys.roomId}`);
      const isReconnect = past !== null;
      const room: RoomSession = new RoomSession(keys, identity, name, (frame) => ws.send(frame), {
        onChange,
        ...(past === null ? {} : { carry: past.carry }),
      });
      socket?.close(CLOSE.NORMAL);
      socket = ws;
      ws.onopen = () => void room.start().catch(() => ws.close());
      ws.onmessage = (event: MessageEvent<string>) => {
        // The server answers a hello it accepts with the welcome; a refusal is a close instead.
        if (session !== room && socket === ws) {
          session = room;
          attempt = 0;
          if (isReconnect) room.notice(`Reconnected with a new key after the connection was lost (${lostReason()}): the others are asked to verify you again.`);
          startRefresh(room);
          setPhase({ kind: 'joined' });
        }
        void room.receive(event.data);
      };
      ws.onclose = (event) => closed(ws, event.code, event.reason);
    });
  }

  function closed(ws: WebSocket, code: number, serverReason: string): void {
    if (socket !== ws) return;
    socket = null;
    clearInterval(refreshTimer);
    const reason = closeReason(code, serverReason);
    if (session !== null) past = { view: session.view(), carry: session.carryOver() };
    session = null;
    if (past === null || !isRetryable(code)) return setPhase({ kind: 'closed', reason });
    const delay = reconnectDelayMs(attempt);
    attempt += 1;
    // Keep the first reason while retrying: "server restarting" says more than the refused attempts after it.
    const first = self.phase.kind === 'reconnecting' ? self.phase.reason : reason;
    setPhase({ kind: 'reconnecting', reason: first, retryAt: Date.now() + delay });
    retryTimer = setTimeout(connect, delay);
  }

  function startRefresh(room: RoomSession): void {
    clearInterval(refreshTimer);
    let ticks = 0;
    refreshTimer = setInterval(() => {
      ticks += 1;
      room.refresh();
      if (ticks % (ROSTER_STATEMENT_MS / REFRESH_MS) === 0) void room.confirmRoster();
    }, REFRESH_MS);
  }

  return self;
}

export function useRoom(secret: Uint8Array): RoomHandle {
  const [, setTick] = useState(0);
  const connection = useMemo(() => connectRoom(secret, () => setTick((n) => n + 1)), [secret]);
  useEffect(() => () => connection.dispose(), [connection]);
  return { ...connection, view: connection.view() };
}
