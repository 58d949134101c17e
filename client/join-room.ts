/**
 * The bot API: a room member without a page. It drives the same
 * RoomConnection and RoomSession as the page (every check is theirs), and
 * turns the view the page renders into events: each new timeline entry once,
 * the roster and the agreement line when they change, and the phase. No DOM
 * and no Node imports: the socket comes from `openSocket` (the terminal
 * client passes one over the `ws` package) or from a global WebSocket.
 */
import { loadConfusables } from './names';
import { parseSecretFragment } from './protocol';
import { RoomConnection, type Phase, type SocketLike } from './room-connection';
import { noticeText, type RoomView } from './room';
import type { Agreement, Member, Trust } from './roster';
import { agreementText } from './status-text';

export type { Phase, SocketLike } from './room-connection';
export type { Member, Trust } from './roster';

/** Where a link points: the server origin, its socket origin, and the room secret. */
export interface RoomLink {
  origin: string;
  socketOrigin: string;
  secret: Uint8Array;
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Reads `https://host/#<secret>`. Plain http:// is accepted for this machine
 * only (as browsers treat localhost as a secure context): off it, anyone on the
 * network sees who talks when, and could serve a tampered page to the others.
 * Errors never repeat the link: it holds the room secret.
 */
export function parseRoomLink(link: string): RoomLink | Error {
  let url: URL;
  try {
    url = new URL(link.trim());
  } catch {
    return new Error('this is not a room link: expected https://host/#secret');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return new Error('this is not a room link: expected https://host/#secret');
  if (url.protocol === 'http:' && !LOOPBACK_HOST.test(url.hostname)) {
    return new Error('refusing an http:// link to another machine: ask for its https:// link (http:// works only for localhost)');
  }
  if (url.hash.length <= 1) return new Error('this link has no room secret (the part after #)');
  const secret = parseSecretFragment(url.hash);
  if (secret instanceof Error) return secret;
  return { origin: url.origin, socketOrigin: `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}`, secret };
}

export type RoomEvent =
  | { type: 'phase'; phase: Phase }
  | { type: 'roster'; members: Member[] }
  | { type: 'agreement'; text: string; isAlarm: boolean; agreement: Agreement }
  | { type: 'message'; from: string; fp: string; trust: Trust; body: string; ts: number; isOwn: boolean }
  | { type: 'notice'; text: string; tone: 'info' | 'warning'; ts: number };

export type RoomEventType = RoomEvent['type'];
type Listener<K extends RoomEventType> = (event: Extract<RoomEvent, { type: K }>) => void;

export interface JoinOptions {
  /** The name the others see. */
  name: string;
  /** Opens a WebSocket to a full URL (`wss://host/ws/<roomId>`); defaults to the global WebSocket. */
  openSocket?: (url: string) => SocketLike;
}

export interface Room {
  /** Every event, in order, from the moment this is called. */
  events(): AsyncIterableIterator<RoomEvent>;
  on<K extends RoomEventType>(type: K, listener: Listener<K>): () => void;
  /** Resolves once joined; rejects if the room could not be joined. */
  joined: Promise<void>;
  /**
   * Resolves once this member may read and write: at once in an open room, in
   * a room with "Ask to join" when a member lets it in (PROTOCOL.md §12).
   * Until then `send` fails with "you are waiting to be let in".
   */
  admitted: Promise<void>;
  /** Lets a waiting member in, by fingerprint or label (as a member who is in). */
  letIn(fpOrLabel: string): Promise<Member | Error>;
  /** Removes a member, by fingerprint or label: the others move to a new link. */
  remove(fpOrLabel: string): Promise<Member | Error>;
  send(body: string): Promise<void>;
  /** Marks a member verified, by fingerprint or label, after comparing codes out of band. */
  verify(fpOrLabel: string): Member | Error;
  members(): Member[];
  phase(): Phase;
  /** Leaves the room (closing with 1000) and resolves once the socket has closed. */
  leave(): Promise<void>;
}

/** A leave waits this long for the close handshake before it gives up on it. */
const CLOSE_WAIT_MS = 2_000;

/**
 * Finds a member other than me by label ("Alice", or "Alice #12345" when two
 * share the name), or by fingerprint. A bare name two members share is refused.
 */
export function findMember(members: readonly Member[], query: string): Member | Error {
  const q = query.trim();
  const others = members.filter((m) => !m.isSelf);
  const exact = others.find((m) => m.fp === q || m.label === q);
  if (exact !== undefined) return exact;
  const named = others.filter((m) => m.name === q || m.name.toLowerCase() === q.toLowerCase() || m.label.toLowerCase() === q.toLowerCase());
  if (named.length === 1 && named[0] !== undefined) return named[0];
  if (named.length > 1) return new Error(`${named.length} members are called ${q}: say which, as ${named.map((m) => m.label).join(' or ')}`);
  return new Error(`no one called ${q} is in the room`);
}

export function joinRoom(link: string, options: JoinOptions): Room {
  const parsed = parseRoomLink(link);
  if (parsed instanceof Error) throw parsed;
  // Look-alike names are told apart with Unicode's confusables table, as on the page.
  void loadConfusables().catch(() => undefined);
  const open = options.openSocket ?? globalSocket;
  const listeners = new Map<RoomEventType, Set<(event: RoomEvent) => void>>();
  const emit = (event: RoomEvent) => {
    for (const l of listeners.get(event.type) ?? []) l(event);
  };
  let lastSocketClosed: Promise<void> = Promise.resolve();
  const connection = new RoomConnection(parsed.secret, {
    openSocket: (roomId) => {
      const { socket, closed } = watchClose(open(`${parsed.socketOrigin}/ws/${roomId}`));
      lastSocketClosed = closed;
      return socket;
    },
    onChange: () => {
      diff.update(connection);
      watchAdmission();
    },
  });
  const diff = new ViewDiff(emit);

  let settle: { resolve: () => void; reject: (err: Error) => void } | null = null;
  const joined = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // A caller that never awaits `joined` learns of failures from the phase events instead.
  joined.catch(() => undefined);
  listeners.set('phase', new Set([(event) => {
    if (event.type !== 'phase' || settle === null) return;
    const { phase } = event;
    if (phase.kind === 'joined') settle.resolve();
    else if (phase.kind === 'closed' || phase.kind === 'ended') settle.reject(new Error(phase.reason));
    else if (phase.kind === 'left') settle.reject(new Error('left before joining'));
    else return;
    settle = null;
  }]));

  let isAdmitted: () => void = () => undefined;
  const admitted = new Promise<void>((resolve) => (isAdmitted = resolve));
  const watchAdmission = () => {
    const view = connection.view();
    if (connection.phase.kind === 'joined' && view !== null && view.membership.me === 'in') isAdmitted();
  };
  const decide = async (fpOrLabel: string, act: (fp: string) => Promise<void>): Promise<Member | Error> => {
    const member = findMember(room.members(), fpOrLabel);
    if (member instanceof Error) return member;
    await act(member.fp);
    return room.members().find((m) => m.fp === member.fp) ?? member;
  };

  const room: Room = {
    admitted,
    letIn: (q) => decide(q, (fp) => connection.letIn(fp)),
    remove: (q) => decide(q, (fp) => connection.removeMember(fp)),
    events: () => iterate(room),
    on: (type, listener) => {
      const set = listeners.get(type) ?? new Set();
      listeners.set(type, set);
      const l = listener as (event: RoomEvent) => void;
      set.add(l);
      return () => set.delete(l);
    },
    joined,
    // Refused while this tab is not (yet) known to be let in, as the page disables its composer: an uninformed newcomer in an Ask-to-join room may not know it is waiting.
    send: (body) => (connection.view()?.membership.me ?? 'in') === 'in' ? connection.send(body) : Promise.reject(new Error('you are waiting to be let in')),
    verify: (fpOrLabel) => {
      const member = findMember(room.members(), fpOrLabel);
      if (member instanceof Error) return member;
      if (member.code === null) return new Error(`the safety code of ${member.label} is still being computed`);
      connection.setVerified(member.fp, true);
      return room.members().find((m) => m.fp === member.fp) ?? member;
    },
    members: () => connection.view()?.members ?? [],
    phase: () => connection.phase,
    leave: async () => {
      connection.leave();
      connection.dispose();
      await Promise.race([lastSocketClosed, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref?.())]);
    },
  };
  // Joining waits a tick, so a caller can subscribe to the first events.
  queueMicrotask(() => connection.join(options.name));
  return room;
}

/** Turns successive views into events: what changed since the last one. */
class ViewDiff {
  private phaseKey = '';
  private rosterKey = '';
  private agreementKey = '';
  private seen = new Set<string>();

  constructor(private readonly emit: (event: RoomEvent) => void) {}

  update(connection: RoomConnection): void {
    const phase = connection.phase;
    const phaseKey = JSON.stringify(phase.kind === 'reconnecting' ? { kind: phase.kind, reason: phase.reason } : phase);
    if (phaseKey !== this.phaseKey) {
      this.phaseKey = phaseKey;
      this.emit({ type: 'phase', phase });
    }
    const view = connection.view();
    if (view === null || phase.kind === 'left') return;
    this.timeline(view);
    const rosterKey = JSON.stringify(view.members.map((m) => [m.fp, m.label, m.trust, m.code?.digits ?? null, m.standing ?? 'in']));
    if (rosterKey !== this.rosterKey) {
      this.rosterKey = rosterKey;
      this.emit({ type: 'roster', members: view.members });
    }
    const { text, isAlarm } = agreementText(view.agreement);
    if (text !== this.agreementKey) {
      this.agreementKey = text;
      this.emit({ type: 'agreement', text, isAlarm, agreement: view.agreement });
    }
  }

  /** Each entry once, by key: an own message confirmed by the relay keeps the key of its pending copy. */
  private timeline(view: RoomView): void {
    const labels = new Map(view.members.map((m) => [m.fp, m.label]));
    for (const e of view.timeline) {
      if (this.seen.has(e.key)) continue;
      if (e.kind === 'notice') {
        this.emit({ type: 'notice', text: noticeText(e, labels), tone: e.tone, ts: e.ts });
      } else if (e.kind === 'file') {
        // Files are received in the page only; a terminal says one was offered.
        if (!e.isOwn) this.emit({ type: 'notice', text: `${labels.get(e.senderFp) ?? e.senderName} offered a file (${e.transfer.offer.size} bytes); open the room in a browser to receive it.`, tone: 'info', ts: e.ts });
      } else {
        const trust = view.members.find((m) => m.fp === e.senderFp)?.trust ?? 'unverified';
        this.emit({ type: 'message', from: labels.get(e.senderFp) ?? e.senderName, fp: e.senderFp, trust, body: e.body, ts: e.ts, isOwn: e.isOwn });
      }
    }
    // Entries past the timeline's limit never come back, so only the current keys need remembering.
    this.seen = new Set(view.timeline.map((e) => e.key));
  }
}

/** Passes a socket through, noting when it has closed (RoomConnection stops listening once it closes a socket itself). */
function watchClose(inner: SocketLike): { socket: SocketLike; closed: Promise<void> } {
  const socket: SocketLike = {
    send: (data) => inner.send(data),
    close: (code, reason) => inner.close(code, reason),
    onmessage: null,
    onclose: null,
  };
  const closed = new Promise<void>((resolve) => {
    inner.onclose = (event) => {
      socket.onclose?.(event);
      resolve();
    };
  });
  inner.onmessage = (event) => socket.onmessage?.(event);
  return { socket, closed };
}

function globalSocket(url: string): SocketLike {
  const WS = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (WS === undefined) throw new Error('no WebSocket here: pass openSocket');
  return new WS(url);
}

/** An async iterator over a room's events, buffering those not yet read. */
function iterate(room: Room): AsyncIterableIterator<RoomEvent> {
  const buffer: RoomEvent[] = [];
  let wake: (() => void) | null = null;
  let isDone = false;
  const push = (event: RoomEvent) => {
    buffer.push(event);
    if (event.type === 'phase' && (event.phase.kind === 'left' || event.phase.kind === 'closed' || event.phase.kind === 'ended')) isDone = true;
    wake?.();
  };
  const offs = (['phase', 'roster', 'agreement', 'message', 'notice'] as const).map((t) => room.on(t, push));
  const stop = () => {
    isDone = true;
    for (const off of offs) off();
  };
  const it: AsyncIterableIterator<RoomEvent> = {
    [Symbol.asyncIterator]: () => it,
    next: async () => {
      while (buffer.length === 0 && !isDone) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      const event = buffer.shift();
      if (event === undefined) {
        stop();
        return { done: true, value: undefined };
      }
      return { done: false, value: event };
    },
    return: async () => {
      stop();
      buffer.length = 0;
      return { done: true, value: undefined };
    },
  };
  return it;
}
