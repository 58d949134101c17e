/**
 * An in-memory relay that behaves like server.ts for the frames the client
 * core sends (challenge, welcome, join, leave; msg to everyone, roster and
 * state to everyone but the sender), with a tap a test uses to play a
 * hostile relay: drop, replay or forge frames on their way to one member.
 * People are real RoomConnections, so moves and removals run the page's code.
 */
import { createHash } from 'node:crypto';
import { UPLOAD_KIND, decodeClientFrame, encodeServerFrame, fingerprintWith, toB64u, type Hello } from '../../client/protocol';
import { randomBytes } from '../../client/crypto';
import { RoomConnection, type SocketLike, type TabKeyStore } from '../../client/room-connection';
import { noticeText, type RoomView } from '../../client/room';
import { relayTo, uploadText } from './members';

const sha256 = (d: Uint8Array) => new Uint8Array(createHash('sha256').update(d).digest());

interface Conn {
  roomId: string;
  socket: SocketLike;
  fp: string | null;
  hello: Hello | null;
  isClosed: boolean;
  sent?: number;
}

/** What the tap may do with a frame on its way to a member: pass it (the same or changed text), or drop it (null). */
export type Tap = (frame: string, to: { fp: string | null; roomId: string }) => string | null;

export class MemRelay {
  private readonly rooms = new Map<string, Conn[]>();
  /** Every frame delivered, per recipient fp, for replays. */
  readonly delivered = new Map<string, string[]>();
  tap: Tap = (f) => f;

  openSocket = (roomId: string): SocketLike => {
    const conn: Conn = {
      roomId,
      fp: null,
      hello: null,
      isClosed: false,
      socket: {
        send: (data) => setTimeout(() => this.fromClient(conn, data), 0),
        close: () => setTimeout(() => this.close(conn), 0),
        onmessage: null,
        onclose: null,
      },
    };
    setTimeout(() => this.deliver(conn, encodeServerFrame({ t: 'challenge', nonce: toB64u(randomBytes(32)) })), 0);
    return conn.socket;
  };

  /** Members of a room as the relay sees them (fps). */
  membersOf(roomId: string): string[] {
    return (this.rooms.get(roomId) ?? []).flatMap((c) => (c.fp === null ? [] : [c.fp]));
  }

  /** Sends a frame to one member as if the relay wrote it. */
  inject(fp: string, frame: string): void {
    for (const list of this.rooms.values()) for (const c of list) if (c.fp === fp) this.deliver(c, frame, true);
  }

  /** Closes a member's socket from the relay's side, as a lost connection (1006): its tab reconnects with new keys. */
  drop(fp: string): void {
    for (const list of this.rooms.values()) {
      for (const c of list) {
        if (c.fp !== fp) continue;
        this.close(c);
        setTimeout(() => c.socket.onclose?.({ code: 1006, reason: '' }), 0);
      }
    }
  }

  /** The room id a member is in now (by name's fp), for checking moves. */
  roomOf(fp: string): string | undefined {
    for (const [roomId, list] of this.rooms) if (list.some((c) => c.fp === fp && !c.isClosed)) return roomId;
    return undefined;
  }

  private deliver(conn: Conn, frame: string, isRaw = false): void {
    if (conn.isClosed) return;
    const out = isRaw ? frame : this.tap(frame, { fp: conn.fp, roomId: conn.roomId });
    if (out === null) return;
    if (conn.fp !== null) this.delivered.set(conn.fp, [...(this.delivered.get(conn.fp) ?? []), out]);
    setTimeout(() => { if (!conn.isClosed) conn.socket.onmessage?.({ data: out }); }, 0);
  }

  private fromClient(conn: Conn, data: string | Uint8Array<ArrayBuffer>): void {
    // Binary frames other than message uploads are file transfers (PROTOCOL.md §11), which these tests do not use.
    if (conn.isClosed || (typeof data !== 'string' && data[0] !== UPLOAD_KIND)) return;
    // An upload as the JSON text the tap and `relayTo` read ({t, env, wraps}).
    const isUpload = typeof data !== 'string';
    const text = uploadText(data);
    const frame = isUpload ? null : decodeClientFrame(text);
    if (frame instanceof Error) throw frame;
    // The real relay's rate limit (20 frames/s, burst 60) closes a client that floods: so does this one.
    conn.sent = (conn.sent ?? 0) + 1;
    if (conn.sent > 300) {
      this.close(conn);
      setTimeout(() => conn.socket.onclose?.({ code: 4008, reason: 'too many messages - slow down' }), 0);
      return;
    }
    const room = this.rooms.get(conn.roomId) ?? [];
    this.rooms.set(conn.roomId, room);
    if (frame !== null && frame.t === 'hello') {
      conn.fp = fingerprintWith(sha256, frame.hello);
      conn.hello = frame.hello;
      const members = room.filter((c) => c.fp !== null && !c.isClosed);
      this.deliver(conn, encodeServerFrame({ t: 'welcome', members: members.flatMap((c) => (c.hello === null ? [] : [c.hello])) }));
      for (const c of members) this.deliver(c, encodeServerFrame({ t: 'join', hello: frame.hello }));
      room.push(conn);
      return;
    }
    for (const c of room) {
      if (c.fp === null || c.isClosed) continue;
      if (!isUpload && c === conn) continue;
      // A message upload reaches each member with its own wrap only, as server.ts sends it (§8.4).
      this.deliver(c, isUpload ? relayTo(text, c.fp) : text);
    }
  }

  private close(conn: Conn): void {
    if (conn.isClosed) return;
    conn.isClosed = true;
    const room = this.rooms.get(conn.roomId) ?? [];
    this.rooms.set(conn.roomId, room.filter((c) => c !== conn));
    if (conn.fp === null) return;
    for (const c of room) if (c !== conn && c.fp !== null && !c.isClosed) this.deliver(c, encodeServerFrame({ t: 'leave', fp: conn.fp }));
  }
}

export interface Person {
  name: string;
  connection: RoomConnection;
  /** Link secrets this person was moved to, newest last. */
  moves: string[];
  view: () => RoomView;
  /** Resolves when `pred` holds (checked every 20 ms), else fails after `ms`. */
  /** Waits for `pred`; `ms` (20 s) is under the test timeout, so a wait that never ends fails naming `what`. */
  until: (pred: () => boolean, what: string, ms?: number) => Promise<void>;
  notices: () => string[];
  messages: () => string[];
  fpOf: (name: string) => string;
  me: () => string;
}

/** `keep`: where the person's tab keeps its key across a reload (the page's is IndexedDB). */
export function person(relay: MemRelay, secret: Uint8Array, name: string, keep?: TabKeyStore): Person {
  const moves: string[] = [];
  const connection = new RoomConnection(secret, { openSocket: relay.openSocket, onChange: () => undefined, onMove: (s) => moves.push(s), ...(keep === undefined ? {} : { keep }) });
  connection.join(name);
  const view = (): RoomView => {
    const v = connection.view();
    if (v === null) throw new Error(`${name} has no view`);
    return v;
  };
  const p: Person = {
    name,
    connection,
    moves,
    view,
    until: async (pred, what, ms = 20_000) => {
      const end = Date.now() + ms;
      for (;;) {
        try {
          if (pred()) return;
        } catch {
          // no view yet
        }
        if (Date.now() > end) throw new Error(`${name}: ${what} did not happen in time`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    notices: () => {
      const v = connection.view();
      if (v === null) return [];
      const labels = new Map(v.members.map((m) => [m.fp, m.label]));
      return v.timeline.flatMap((e) => (e.kind === 'notice' ? [noticeText(e, labels)] : []));
    },
    messages: () => (connection.view()?.timeline ?? []).flatMap((e) => (e.kind === 'message' && !e.isPending ? [`${e.senderName}: ${e.body}`] : [])),
    fpOf: (n) => {
      const m = view().members.find((x) => x.name === n);
      if (m === undefined) throw new Error(`${name} does not see ${n}`);
      return m.fp;
    },
    me: () => view().members.find((m) => m.isSelf)?.fp ?? '',
  };
  return p;
}
