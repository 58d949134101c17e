/**
 * Owns the socket and the room session for the UI. Components get plain
 * state and callbacks; they never touch WebSocket or crypto.subtle.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { CLOSE, parseSecretFragment, toB64u } from './protocol';
import { deriveRoomKeys, generateIdentity, newRoomSecret, type Identity, type RoomKeys } from './crypto';
import { RoomSession, type RoomView } from './room';

export type Phase =
  | { kind: 'ready' }
  | { kind: 'joining' }
  | { kind: 'joined' }
  | { kind: 'left' }
  | { kind: 'closed'; reason: string };

/** The link: the secret from the fragment, or a fresh one for a new room. */
export interface Link {
  secret: Uint8Array;
  url: string;
}

/** Reads the secret from the fragment; with no fragment, makes a new room. */
export function readOrCreateLink(): Link | Error {
  if (location.hash === '' || location.hash === '#') {
    history.replaceState(null, '', `#${newRoomSecret()}`);
  }
  const secret = parseSecretFragment(location.hash);
  if (secret instanceof Error) return secret;
  return { secret, url: `${location.origin}/#${toB64u(secret)}` };
}

export const hasWebCrypto = (): boolean => globalThis.isSecureContext && globalThis.crypto?.subtle !== undefined;

function closeReason(code: number, reason: string): string {
  if (reason !== '') return reason;
  if (code === CLOSE.GOING_AWAY) return 'server restarting';
  return 'the connection to the server was lost';
}

export interface RoomHandle {
  phase: Phase;
  view: RoomView | null;
  roomId: string | null;
  join: (name: string) => void;
  leave: () => void;
  send: (body: string) => Promise<void>;
  setVerified: (fp: string, isVerified: boolean) => void;
}

/** Grace periods are judged against the clock, so the view is re-read this often. */
const REFRESH_MS = 1_000;
/** Besides every roster change, each tab restates its roster this often. */
const ROSTER_STATEMENT_MS = 10_000;

export function useRoom(secret: Uint8Array): RoomHandle {
  const [phase, setPhase] = useState<Phase>({ kind: 'ready' });
  const [, setTick] = useState(0);
  const rerender = useCallback(() => setTick((n) => n + 1), []);
  const [roomId, setRoomId] = useState<string | null>(null);
  const session = useRef<RoomSession | null>(null);
  const socket = useRef<WebSocket | null>(null);
  // Keys are made while the person types a name, so Join is quick.
  const prepared = useRef<Promise<[RoomKeys, Identity]> | null>(null);

  useEffect(() => {
    prepared.current = Promise.all([deriveRoomKeys(secret), generateIdentity()]);
    void prepared.current.then(([keys]) => setRoomId(keys.roomId));
    return () => socket.current?.close(CLOSE.NORMAL);
  }, [secret]);

  const join = useCallback((name: string) => {
    const keysAndIdentity = prepared.current ?? Promise.all([deriveRoomKeys(secret), generateIdentity()]);
    // A tab identity is used for one connection only: a rejoin makes a new one.
    prepared.current = null;
    setPhase({ kind: 'joining' });
    void keysAndIdentity.then(([keys, identity]) => {
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      const ws = new WebSocket(`${scheme}://${location.host}/ws/${keys.roomId}`);
      const room = new RoomSession(keys, identity, name, (frame) => ws.send(frame), { onChange: rerender });
      socket.current = ws;
      session.current = room;
      ws.onopen = () => void room.start().then(() => setPhase({ kind: 'joined' }));
      ws.onmessage = (event: MessageEvent<string>) => void room.receive(event.data);
      ws.onclose = (event) => {
        if (socket.current !== ws) return;
        socket.current = null;
        prepared.current = Promise.all([deriveRoomKeys(secret), generateIdentity()]);
        setPhase((p) => (p.kind === 'left' ? p : { kind: 'closed', reason: closeReason(event.code, event.reason) }));
      };
    });
  }, [secret, rerender]);

  const leave = useCallback(() => {
    setPhase({ kind: 'left' });
    socket.current?.close(CLOSE.NORMAL, 'left');
  }, []);

  const send = useCallback(async (body: string) => {
    await session.current?.post(body);
  }, []);

  const setVerified = useCallback((fp: string, isVerified: boolean) => session.current?.setVerified(fp, isVerified), []);

  useEffect(() => {
    if (phase.kind !== 'joined') return;
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
      session.current?.refresh();
      if (ticks % (ROSTER_STATEMENT_MS / REFRESH_MS) === 0) void session.current?.confirmRoster();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [phase.kind]);

  return { phase, view: session.current?.view() ?? null, roomId, join, leave, send, setVerified };
}
