/**
 * The page's view of a room: subscribes to a RoomConnection (room-connection.ts),
 * which owns the socket and the session. Components get plain state and
 * callbacks; they never touch WebSocket or crypto.subtle.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { RoomConnection, type Phase, type SocketLike } from './room-connection';
import type { RoomView } from './room';
import { blobSource } from './files';

export type { Phase } from './room-connection';
export { hasWebCrypto, readOrCreateLink, type Link } from './link';
import { replaceLink, tabToken } from './link';
import { browserTabKeys } from './tab-keys';

export interface RoomHandle {
  phase: Phase;
  view: RoomView | null;
  roomId: string | null;
  join: (name: string) => void;
  /** "Reconnect now" while away, "Join again" after a final close: same name, new keys. */
  rejoin: () => void;
  leave: () => void;
  send: (body: string) => Promise<void>;
  /** Encrypts and offers each file; a refusal (too big, offline) becomes a notice. */
  sendFiles: (files: readonly File[]) => void;
  /** A notice only this tab sees (/help and the like). */
  notice: (text: string) => void;
  setVerified: (fp: string, isVerified: boolean) => void;
  /** A fresh signed path to this room's server log, valid for a short while; null when not in the room. */
  logsUrl: () => Promise<string | null>;
  /** The invite link after a move to a new link secret; null while it is the one the page was opened with. */
  movedUrl: string | null;
  setSwitch: (which: 'lobby' | 'lock', on: boolean) => void;
  letIn: (fp: string) => void;
  turnAway: (fp: string) => void;
  remove: (fp: string) => void;
}

/** The page's socket to this server, behind the small interface the connection uses. */
function openBrowserSocket(roomId: string): SocketLike {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/ws/${roomId}`);
  // File chunks arrive as binary frames (PROTOCOL.md §11.3).
  ws.binaryType = 'arraybuffer';
  const socket: SocketLike = {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    onmessage: null,
    onclose: null,
  };
  ws.onmessage = (event: MessageEvent<unknown>) => socket.onmessage?.(event);
  ws.onclose = (event) => socket.onclose?.(event);
  return socket;
}

export function useRoom(secret: Uint8Array): RoomHandle {
  const [, setTick] = useState(0);
  const [movedUrl, setMovedUrl] = useState<string | null>(null);
  const connection = useMemo(() => {
    // What the page shows last: a change that leaves phase, view and room id the same objects (most ticks
    // of the room's clock) renders nothing.
    let shown: [Phase, RoomView | null, string | null] | null = null;
    const next = new RoomConnection(secret, {
      openSocket: openBrowserSocket,
      onChange: () => {
        const now: [Phase, RoomView | null, string | null] = [next.phase, next.view(), next.roomId];
        if (shown !== null && now.every((part, i) => part === shown?.[i])) return;
        shown = now;
        setTick((n) => n + 1);
      },
      onMove: (url) => setMovedUrl(replaceLink(url)),
      // Where IndexedDB is missing or refuses (some private windows), a reload is a new identity, as before.
      ...(globalThis.indexedDB === undefined || tabToken() === '' ? {} : { keep: browserTabKeys(tabToken()) }),
    });
    return next;
  }, [secret]);
  useEffect(() => () => connection.dispose(), [connection]);
  // One set of callbacks per connection, so what the page hands them to can skip rendering by identity.
  const actions = useMemo(() => ({
    join: (name: string) => connection.join(name),
    rejoin: () => connection.rejoin(),
    leave: () => connection.leave(),
    send: (body: string) => connection.send(body),
    sendFiles: (files: readonly File[]) => {
      for (const file of files) {
        connection.sendFile(blobSource(file, file.name)).catch((err: unknown) => connection.notice(`A file was not sent: ${err instanceof Error ? err.message : String(err)}.`));
      }
    },
    notice: (text: string) => connection.notice(text),
    setVerified: (fp: string, isVerified: boolean) => connection.setVerified(fp, isVerified),
    logsUrl: () => connection.logsUrl(),
    setSwitch: (which: 'lobby' | 'lock', on: boolean) => void connection.setSwitch(which, on),
    letIn: (fp: string) => void connection.letIn(fp),
    turnAway: (fp: string) => void connection.turnAway(fp),
    remove: (fp: string) => void connection.removeMember(fp),
  }), [connection]);
  return { ...actions, phase: connection.phase, view: connection.view(), roomId: connection.roomId, movedUrl };
}
