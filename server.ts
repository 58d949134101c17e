/**
 * Hush relay: serves the page, relays ciphertext between the members of a
 * room, and keeps an in-memory roster and a bounded, ciphertext-only audit log
 * per room. It can read no name, message or key, and forge nothing: clients
 * check every hello and message themselves (PROTOCOL.md).
 */
import { createHash, createPublicKey, randomBytes, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import uws from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, WebSocket } from 'uWebSockets.js';
import {
  CLOSE,
  MAX_CHUNK_FRAME_BYTES,
  MAX_FRAME_BYTES,
  MAX_PULL_CREDIT,
  NOTE_OP,
  MAX_LOGS_URL_LIFETIME_MS,
  MAX_MEMBERS_PER_ROOM,
  NONCE_BYTES,
  WRAP_BYTES,
  b64Len,
  decodeClientFrame,
  decodeUpload,
  UPLOAD_HEADER_BYTES,
  UPLOAD_KIND,
  doorSignedBytes,
  encodeServerFrame,
  fingerprintWith,
  fromB64u,
  isLowS,
  isRoomId,
  logsSignedBytes,
  packHello,
  parseAddressed,
  parseLogsRequest,
  roomIdWith,
  toB64u,
  unpackHello,
  type Door,
  type Envelope,
  type Hello,
} from './client/protocol';

// ---------------------------------------------------------------------------
// config: every limit in one place, env-overridable, units in the names
// ---------------------------------------------------------------------------

function fail(message: string): never {
  console.error(`hush: ${message}`);
  process.exit(2);
}

function envInt(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) fail(`${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  return n;
}

/** "scheme://host[:port]" exactly, as a browser writes it in Origin (lower case, no default port). */
function parseOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail(`PUBLIC_ORIGIN: "${text}" is not a URL`);
  }
  const isBare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !isBare || !/^https?:\/\/[^/]+\/?$/.test(text)) {
    fail(`PUBLIC_ORIGIN: "${text}" must be scheme://host[:port], e.g. https://chat.example.org`);
  }
  return url.origin;
}

const PORT = envInt('PORT', 8080, 0, 65535);
const HOST = process.env.HOST || '127.0.0.1';
const TLS_CERT = process.env.TLS_CERT ?? '';
const TLS_KEY = process.env.TLS_KEY ?? '';
if (process.env.ALLOWED_ORIGINS) {
  fail('ALLOWED_ORIGINS is now PUBLIC_ORIGIN: the full list of origins people open Hush at (the loopback defaults no longer apply once it is set)');
}
/**
 * The origins people open Hush at, comma-separated. A WebSocket upgrade whose
 * Origin is not one of them is refused (403), and so is any request whose
 * Host names none of their hosts (421): a page on a DNS-rebinding domain
 * sends its own name in both. Empty: the loopback names of the port Hush
 * listens on (filled in once it listens, since PORT may be 0).
 */
const CONFIGURED_ORIGINS = (process.env.PUBLIC_ORIGIN ?? '').split(',').map((o) => o.trim()).filter(Boolean).map(parseOrigin);
/** /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; without a token it is a 404 like any unknown path. */
const METRICS_TOKEN = process.env.METRICS_TOKEN ?? '';
const MAX_MEMBERS = envInt('MAX_MEMBERS', MAX_MEMBERS_PER_ROOM, 2, MAX_MEMBERS_PER_ROOM);
const MAX_ROOMS = envInt('MAX_ROOMS', 10_000, 1);
/** Open WebSockets per client address (see `addressKey`; behind a proxy, every client shares the proxy's). */
const MAX_CONNS_PER_IP = envInt('MAX_CONNS_PER_IP', 50, 1);
/** A socket that has not said hello by then is closed. */
const HELLO_TIMEOUT_S = envInt('HELLO_TIMEOUT_S', 10, 1);
const IDLE_TIMEOUT_S = envInt('IDLE_TIMEOUT_S', 120, 8, 960);
/** A socket with more than this queued for it is closed: at the next send to it, or by the sweep. */
const MAX_BACKPRESSURE_BYTES = envInt('MAX_BACKPRESSURE_BYTES', 4 * 1024 * 1024, 64 * 1024);
/** Token bucket per connection: sustained frames per second and burst. */
const RATE_FRAMES_PER_S = envInt('RATE_FRAMES_PER_S', 20, 1);
const RATE_BURST_FRAMES = envInt('RATE_BURST_FRAMES', 60, 1);
/**
 * Per client address, a cost that halves every IP_COST_HALF_LIFE_S (see
 * `decayedCost`): each frame costs 1 plus 1 per KiB (hack.chat's decaying
 * score, weighted by bytes). Past IP_COST_LIMIT the sending connection is
 * closed. The default allows a steady ~140 small frames/s, or ~4 full-room
 * messages/s, from one address: a steady rate r holds the cost at
 * r × IP_COST_HALF_LIFE_S / ln 2.
 */
const IP_COST_LIMIT = envInt('IP_COST_LIMIT', 2_000, 1);
const IP_COST_HALF_LIFE_S = envInt('IP_COST_HALF_LIFE_S', 10, 1);
/**
 * Token bucket per connection for file notes, the small addressed frames a
 * receiver pulls chunks with (PROTOCOL.md §11.4): their own, because one
 * receiver pulling 1 MiB per note at 50 MiB/s sends 50 a second. Chunk
 * frames need no bucket: each one spends a chunk its recipient asked for.
 */
const RATE_NOTES_PER_S = envInt('RATE_NOTES_PER_S', 100, 1);
const RATE_NOTE_BURST = envInt('RATE_NOTE_BURST', 200, 1);
/** Joins (hellos) per client address: sustained per minute, and burst. */
const JOINS_PER_MIN = envInt('JOINS_PER_MIN', 30, 1);
const JOIN_BURST = envInt('JOIN_BURST', 10, 1);
/**
 * HTTP requests per client address: sustained per second, and burst. A page
 * load takes about ten (page, bundle, chunks, icon). Past it: 429, and the
 * connection is closed, so a pipelined stream of requests ends there.
 */
const HTTP_REQUESTS_PER_S = envInt('HTTP_REQUESTS_PER_S', 10, 1);
const HTTP_REQUEST_BURST = envInt('HTTP_REQUEST_BURST', 50, 1);
const LOG_MAX_ENTRIES = envInt('LOG_MAX_ENTRIES', 500, 1);
const LOG_MAX_BYTES = envInt('LOG_MAX_BYTES', 4 * 1024 * 1024, 64 * 1024);
/**
 * Everything the process holds for clients: every room's log and its cached
 * /logs body, bodies still being sent, bytes queued for slow sockets, and an
 * estimate per connection and per room (`memoryInUse`). Logs give way first:
 * past the budget the oldest entries of all rooms are dropped; when the rest
 * alone reaches it, new rooms are refused (4002). The default is 1 GiB, or
 * half of V8's heap limit if that is smaller (logs live on the heap), so
 * MAX_ROOMS × LOG_MAX_BYTES can no longer outgrow one small machine.
 */
const MEMORY_BUDGET_BYTES = envInt('MEMORY_BUDGET_BYTES', Math.min(2 ** 30, Math.floor(getHeapStatistics().heap_size_limit / 2)), 16 * 2 ** 20);
/** Estimates for the budget: a socket (uWS's state, ours, its hello) and a room (maps, departed set), measured with the soak test. */
const CONN_OVERHEAD_BYTES = 16 * 1024;
const ROOM_OVERHEAD_BYTES = 4 * 1024;

/**
 * uWS drops a frame past this without a close frame, so it sits above
 * MAX_FRAME_BYTES (the protocol's largest valid frame): frames between the two
 * are refused by the handler with 1009 and a reason a person can read.
 */
const HARD_FRAME_LIMIT_BYTES = 4 * MAX_FRAME_BYTES;
/**
 * The sweep closes sockets that have not said hello within HELLO_TIMEOUT_S
 * (so one lives at most HELLO_TIMEOUT_S + SWEEP_INTERVAL_MS) and sockets with
 * more than MAX_BACKPRESSURE_BYTES queued (so a reader that stopped is
 * released within SWEEP_INTERVAL_MS even if nothing more is sent to it),
 * totals the queued bytes for the memory budget, and forgets idle addresses
 * once their cost has decayed below FORGET_COST and their buckets are full.
 */
const SWEEP_INTERVAL_MS = 1_000;
/** Less than one frame's worth: an address below it has no history worth keeping. */
const FORGET_COST = 1;
/**
 * On SIGTERM or SIGINT every socket is closed at once, then the process
 * exits this much later, so the close frames can leave. Well under the 1 s a
 * supervisor (and limits.test.ts) waits.
 */
const SHUTDOWN_GRACE_MS = 200;

const STATIC_DIR = new URL('../static/', import.meta.url);

// The package silently swaps in a slow pure-JS shim when its binary fails to
// load (it only warns). Hush refuses to run on it.
const isNativeUws = typeof uws.SSLApp === 'function' && Function.prototype.toString.call(uws.App).includes('[native code]');
if (!isNativeUws) {
  console.error('hush: the native uWebSockets.js binary did not load (only the slow fallback did); refusing to start. Use Node 20 on linux/darwin x64 or arm64.');
  process.exit(1);
}

// ---------------------------------------------------------------------------
// state
// ---------------------------------------------------------------------------

interface Bucket {
  tokens: number;
  at: number;
}

/** What the server keeps per client address, for limits only. The address is never logged. */
interface Peer {
  conns: number;
  cost: number;
  costAt: number;
  joins: Bucket;
  http: Bucket;
}

/**
 * What few members need (files, /logs), made on first use: one slot on every socket
 * instead of four (uWS keeps a copy of each Conn property on its socket object).
 */
interface ConnExtra {
  /** The hello's signing key, imported on its first signed /logs request. */
  sigKey: KeyObject | null;
  /** File notes (PROTOCOL.md §11.4). Null until the first: a bucket made full then is the one made full at open, refilled. */
  notes: Bucket | null;
  /** The raw fp, stamped into every addressed frame this connection sends. */
  fpRaw: Buffer | null;
  /**
   * Chunk frames this member asked each other member for and has not been sent yet (at most
   * MAX_PULL_CREDIT each). Null until its first request: most members never ask for a file.
   */
  credit: Map<string, number> | null;
}

interface Conn {
  roomId: string;
  /** This connection's client address's limits (the address itself is not kept here). */
  peer: Peer;
  /** The challenge sent on open: the hello's door signature must cover it. */
  nonce: string;
  /** Fingerprint registered by this socket's hello; null until then. */
  fp: string | null;
  /** The hello, packed (packHello) and kept off the V8 heap in a shared slab (keepHello): every welcome and the log's hello entry are written from it. */
  hello: Uint8Array | null;
  /**
   * The frame bucket. Its `at` is also when the connection opened, until its first frame: that
   * is the hello, or a frame refused before one (which closes the connection), so while `fp` is
   * null on an open connection it is still the opening time the hello timeout reads.
   */
  frames: Bucket;
  /** See ConnExtra; null until first needed. */
  extra: ConnExtra | null;
  /** Frames queued for this member this event-loop turn, each followed by its wrap or '' (see `enqueue`); null when empty. */
  outbox: (string | Buffer)[] | null;
  isClosed: boolean;
  /** This connection's socket, set when its hello is accepted (see Member); null before. */
  ws: WebSocket<Conn> | null;
}

/** A connection whose hello was accepted: a room's members are these. */
type Member = Conn & { ws: WebSocket<Conn> };

const extraOf = (conn: Conn): ConnExtra => (conn.extra ??= { sigKey: null, notes: null, fpRaw: null, credit: null });

interface LogEntry {
  /**
   * The entry as /logs shows it, serialised once, as bytes off the V8 heap:
   * {"at","type","sender","size","frame"}. A hello's entry stops inside its
   * frame, before the hello: `hello` holds the rest.
   */
  json: Buffer;
  /**
   * A hello entry's member's packed hello, the connection's own (not a copy), written out
   * escaped when /logs is built, behind the head made then from `at` and `sender` (so the
   * entry holds no bytes of its own: one per member, kept as long as the member stays).
   */
  hello: Uint8Array | null;
  /** A hello entry's server time and member (the connection's fp string, not a copy); 0 and '' for others. */
  at: number;
  sender: string;
  /**
   * Where a msg entry's upload starts in `json`, or -1. Such an entry holds its line up to
   * the opening quote of `frame` and then a copy of the upload's bytes as received: the upload
   * is encoded as base64url only when /logs is built, not for every message relayed.
   */
  uploadAt: number;
  /** Where a msg entry's bytes end in `json`: its buffer is reused, so it may be longer (see appendUploadLog). */
  uploadEnd: number;
  /** Which push this is, for the queue (logQueueSeqs): a msg entry's object is reused for a later message. */
  seq: number;
  /** What the entry counts as: the length of its line in /logs. */
  bytes: number;
  isDropped: boolean;
}

/** A response body that may outlive its room's log: senders still hold it while clients read. */
interface Body {
  bytes: Buffer;
  /** Responses still sending it. */
  senders: number;
  /** Still its room's current /logs body (counted as log memory); once replaced, counted as sending memory while senders hold it. */
  isCurrent: boolean;
}

interface Room {
  /** The room's id. */
  id: string;
  /** Who has said hello, by fingerprint: their connections, each with its socket, so a fan-out asks uWS for no socket's data. */
  members: Map<string, Member>;
  /** Every open socket, including those that have not said hello yet. */
  sockets: Set<WebSocket<Conn>>;
  log: LogEntry[];
  logBytes: number;
  /** The /logs body, built on the first request after the log changed. */
  logBody: Body | null;
  /** Identities that left: a tab's keys serve one visit, so a returning one is a replay. */
  departed: Set<string>;
  /**
   * Signed /logs requests already verified ("fp exp sig" → exp), so a URL
   * fetched again (or pipelined 300 times) costs a lookup, not a signature
   * check. At most MAX_VERIFIED_LOGS_REQUESTS, the oldest forgotten first.
   */
  verifiedReaders: Map<string, number>;
}

const rooms = new Map<string, Room>();
const peers = new Map<string, Peer>();
/**
 * Every room's log entries, oldest first, so the budget can drop the oldest of all: three
 * arrays side by side (no object per entry). A slot is live while its entry is not dropped
 * and still holds the push it was queued for (a reused entry has a later `seq`); the rest
 * are skipped and swept out.
 */
const logQueueRooms: Room[] = [];
const logQueueEntries: LogEntry[] = [];
const logQueueSeqs: number[] = [];
let logQueueHead = 0;
let nextLogSeq = 0;
const isQueuedLive = (i: number): boolean => {
  const entry = logQueueEntries[i] as LogEntry;
  return !entry.isDropped && entry.seq === logQueueSeqs[i];
};

/** What counts against MEMORY_BUDGET_BYTES; see `memoryInUse`. */
const memory = {
  logEntries: 0,
  logBytes: 0,
  logBodyBytes: 0,
  /** Replaced /logs bodies that responses are still sending (clients have not taken them yet). */
  sendingBytes: 0,
  /** Bytes queued in uWS for slow sockets, as totalled by the last sweep. */
  queuedBytes: 0,
  sockets: 0,
};

/** Everything but the logs, which give way first. */
const fixedMemory = (): number =>
  memory.sockets * CONN_OVERHEAD_BYTES + rooms.size * ROOM_OVERHEAD_BYTES + memory.queuedBytes + memory.sendingBytes;
const memoryInUse = (): number => fixedMemory() + memory.logBytes + memory.logBodyBytes;

/** Counters for /metrics (Prometheus text format). */
const metrics = {
  connectionsOpened: 0,
  framesReceived: 0,
  bytesReceived: 0,
  messagesRelayed: 0,
  deliveries: 0,
  bytesSent: 0,
  logEntriesDropped: 0,
  /** File chunks relayed, and addressed frames dropped because their recipient had left (PROTOCOL.md §11.4). */
  chunksRelayed: 0,
  addressedDropped: 0,
  refusals: new Map<string, number>(),
};

/** Logs carry no content, names, keys or secrets; rooms only as a short hash. */
function logEvent(event: string, fields: Record<string, string | number> = {}): void {
  console.log(JSON.stringify({ t: new Date().toISOString(), event, ...fields }));
}
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();
const roomTag = (roomId: string): string => sha256(roomId).toString('hex').slice(0, 8);

/**
 * The key per-address limits count under, from uWS's binary address (4 or 16
 * bytes): an IPv4 address, or the /64 of an IPv6 one, since one subscriber
 * is usually given a whole /64 to pick addresses from. An IPv4-mapped IPv6
 * address (how a dual-stack listener sees an IPv4 client) is its IPv4 address.
 */
function addressKey(raw: ArrayBuffer): string {
  const bytes = new Uint8Array(raw);
  if (bytes.length === 4) return bytes.join('.');
  const isMapped = bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isMapped) return bytes.subarray(12).join('.');
  return `${Buffer.from(bytes.subarray(0, 8)).toString('hex')}::/64`;
}

function peerOf(key: string): Peer {
  let peer = peers.get(key);
  if (peer === undefined) {
    const now = performance.now();
    peer = { conns: 0, cost: 0, costAt: now, joins: { tokens: JOIN_BURST, at: now }, http: { tokens: HTTP_REQUEST_BURST, at: now } };
    peers.set(key, peer);
  }
  return peer;
}

function dropLogEntry(room: Room, entry: LogEntry): void {
  entry.isDropped = true;
  memory.logEntries -= 1;
  room.logBytes -= entry.bytes;
  memory.logBytes -= entry.bytes;
  // Release the bytes now: the queue still holds the entry until it is swept out.
  entry.json = EMPTY;
  entry.hello = null;
  entry.sender = '';
}

function invalidateLogBody(room: Room): void {
  const body = room.logBody;
  if (body === null) return;
  body.isCurrent = false;
  memory.logBodyBytes -= body.bytes.length;
  if (body.senders > 0) memory.sendingBytes += body.bytes.length;
  room.logBody = null;
}

/** Drops the oldest entries of all rooms until the budget holds (or no log is left). */
function fitLogsInBudget(): void {
  while (memoryInUse() > MEMORY_BUDGET_BYTES && logQueueHead < logQueueEntries.length) {
    const i = logQueueHead++;
    if (!isQueuedLive(i)) continue;
    const room = logQueueRooms[i] as Room;
    // A room's entries are dropped oldest first everywhere, so this is its first.
    room.log.shift();
    dropLogEntry(room, logQueueEntries[i] as LogEntry);
    invalidateLogBody(room);
    metrics.logEntriesDropped += 1;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Text kept for long as bytes of exactly its size: Buffer.from puts small
 * buffers in shared 8 KiB slabs, and one kept slice holds its whole slab,
 * however short-lived the frames that filled the rest of it.
 */
function keptBytes(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  bytes.write(text);
  return bytes;
}

const nativeB64u = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');

/** The hello's JSON, as the checked hello re-serialised: every welcome and hello log entry is written from the packed bytes. */
const helloJson = (roomId: string, packed: Uint8Array): string => JSON.stringify(unpackHello(roomId, packed, nativeB64u));

/**
 * Packed hellos are kept side by side in shared slabs, not each in its own
 * ArrayBuffer (the bench's idle phase: about 120 bytes of RSS less per
 * member, issue #19's idle row). A slab lives while any
 * hello in it does (its member, or its log entry), so one surviving hello can
 * hold at most HELLO_SLAB_BYTES: the trade Node's own 8 KiB Buffer pool makes,
 * and below the CONN_OVERHEAD_BYTES a connection is budgeted.
 */
const HELLO_SLAB_BYTES = 8 * 1024;
let helloSlab = new Uint8Array(0);
let helloSlabUsed = 0;

/** A copy of `packed` in the current slab (a new slab when it is full). */
function keepHello(packed: Uint8Array): Uint8Array {
  if (helloSlabUsed + packed.length > helloSlab.length) {
    helloSlab = new Uint8Array(HELLO_SLAB_BYTES);
    helloSlabUsed = 0;
  }
  const kept = helloSlab.subarray(helloSlabUsed, helloSlabUsed + packed.length);
  kept.set(packed);
  helloSlabUsed += packed.length;
  return kept;
}

const QUOTE = 0x22;
const countQuotes = (bytes: Buffer): number => bytes.reduce((n, b) => (b === QUOTE ? n + 1 : n), 0);

/** A hello's JSON as it stands inside a JSON string: it holds base64url, digits and punctuation, so only its quotes need a backslash. */
function escapedHello(hello: Buffer): Buffer {
  const out = Buffer.allocUnsafe(hello.length + countQuotes(hello));
  let o = 0;
  for (const b of hello) {
    if (b === QUOTE) out[o++] = 0x5c;
    out[o++] = b;
  }
  return out;
}

/** How a hello entry's line ends after its hello: the join frame's "}", the string's quote, the entry's "}". */
const HELLO_LINE_END = Buffer.from('}"}');

function appendLog(room: Room, type: 'msg' | 'leave', sender: string, frame: string): void {
  const json = keptBytes(JSON.stringify({ at: Date.now(), type, sender, size: frame.length, frame }));
  pushLogEntry(room, { json, hello: null, at: 0, sender: '', uploadAt: -1, uploadEnd: json.length, bytes: json.length, isDropped: false, seq: 0 });
}

const STRING_END = Buffer.from('"}');

/**
 * A msg entry: the line appendLog would write, with the upload's bytes as its `frame` in
 * base64url (PROTOCOL.md §8.5), but kept as the bytes behind the line's head, to be encoded
 * when /logs is built rather than for every message relayed.
 */
function appendUploadLog(room: Room, sender: string, upload: Buffer): void {
  const size = b64Len(upload.length);
  const head = `{"at":${Date.now()},"type":"msg","sender":"${sender}","size":${size},"frame":"`;
  const need = head.length + upload.length;
  const entry = reusableEntry(room, need) ?? { json: Buffer.allocUnsafeSlow(roundUp(need, LOG_BUFFER_STEP)), hello: null, at: 0, sender: '', uploadAt: 0, uploadEnd: 0, bytes: 0, isDropped: false, seq: 0 };
  entry.uploadAt = entry.json.write(head, 0, 'latin1');
  entry.uploadEnd = entry.uploadAt + upload.copy(entry.json, entry.uploadAt);
  entry.bytes = entry.uploadAt + size + STRING_END.length;
  pushLogEntry(room, entry);
}

/** A msg entry's buffer is allocated in steps of this, so the next message of a room (a few bytes longer or shorter) fits in it. */
const LOG_BUFFER_STEP = 256;
const roundUp = (n: number, step: number): number => Math.ceil(n / step) * step;

/**
 * A room whose log is full by count drops its oldest entry for each new one. When that
 * entry is a message whose buffer fits the new one, and is at most LOG_BUFFER_STEP larger
 * than a fresh one would be, it is dropped now and its object and buffer are handed back
 * for the new entry: a busy room's log then allocates nothing per message and leaves the
 * GC nothing to collect (each entry lives for the room's last LOG_MAX_ENTRIES messages,
 * long enough to be promoted, and was the largest garbage a message made). The slack (under
 * 512 bytes) is about what an entry's count already has over its buffer: its line in /logs
 * holds the upload in base64url, a third longer than the bytes kept.
 */
function reusableEntry(room: Room, need: number): LogEntry | null {
  if (room.log.length < LOG_MAX_ENTRIES) return null;
  const oldest = room.log[0] as LogEntry;
  const json = oldest.json;
  if (oldest.uploadAt < 0 || json.length < need || json.length > roundUp(need, LOG_BUFFER_STEP) + LOG_BUFFER_STEP) return null;
  room.log.shift();
  dropLogEntry(room, oldest);
  oldest.json = json;
  oldest.isDropped = false;
  return oldest;
}

/** A relayed file chunk: who to whom, how big, and which file only as a hash of its id. Never its bytes. */
function appendChunkLog(room: Room, sender: string, to: string, size: number, fileId: Uint8Array): void {
  const json = keptBytes(JSON.stringify({ at: Date.now(), type: 'chunk', sender, to, size, file: sha256(fileId).toString('hex').slice(0, 16) }));
  pushLogEntry(room, { json, hello: null, at: 0, sender: '', uploadAt: -1, uploadEnd: json.length, bytes: json.length, isDropped: false, seq: 0 });
}

/**
 * A hello's entry: the same line as appendLog would write for the join frame
 * built from `hello` (JOIN_HEAD, the hello, "}"), but holding the member's
 * hello bytes instead of a second, escaped copy of them.
 */
function appendHelloLog(room: Room, sender: string, hello: Uint8Array, json: Buffer): void {
  const at = Date.now();
  const head = helloLogHead(at, sender, json.length);
  pushLogEntry(room, { json: EMPTY, hello, at, sender, uploadAt: -1, uploadEnd: 0, bytes: head.length + json.length + countQuotes(json) + HELLO_LINE_END.length, isDropped: false, seq: 0 });
}

/** A hello entry's line up to its hello: the entry's keys, then the join frame's head, escaped. */
const helloLogHead = (at: number, sender: string, helloBytes: number): string =>
  `{"at":${at},"type":"hello","sender":"${sender}","size":${JOIN_HEAD.length + helloBytes + OBJECT_END.length},"frame":"${JOIN_HEAD.toString('latin1').replaceAll('"', '\\"')}`;

function pushLogEntry(room: Room, entry: LogEntry): void {
  room.log.push(entry);
  room.logBytes += entry.bytes;
  memory.logEntries += 1;
  memory.logBytes += entry.bytes;
  entry.seq = nextLogSeq++;
  logQueueRooms.push(room);
  logQueueEntries.push(entry);
  logQueueSeqs.push(entry.seq);
  while (room.log.length > LOG_MAX_ENTRIES || room.logBytes > LOG_MAX_BYTES) {
    const dropped = room.log.shift();
    if (dropped === undefined) break;
    dropLogEntry(room, dropped);
  }
  invalidateLogBody(room);
  fitLogsInBudget();
}

function forgetRoom(roomId: string, room: Room): void {
  for (const entry of room.log) dropLogEntry(room, entry);
  room.log = [];
  invalidateLogBody(room);
  rooms.delete(roomId);
}

/** The queue keeps dropped entries until the budget passes them: sweep them out once they are most of it. */
function compactLogQueue(): void {
  const length = logQueueEntries.length;
  if (length < 1024 || length < 2 * memory.logEntries) return;
  let kept = 0;
  for (let i = logQueueHead; i < length; i++) {
    if (!isQueuedLive(i)) continue;
    logQueueRooms[kept] = logQueueRooms[i] as Room;
    logQueueEntries[kept] = logQueueEntries[i] as LogEntry;
    logQueueSeqs[kept] = logQueueSeqs[i] as number;
    kept += 1;
  }
  logQueueRooms.length = kept;
  logQueueEntries.length = kept;
  logQueueSeqs.length = kept;
  logQueueHead = 0;
}

/** Close reasons are at most 123 bytes: keep them printable ASCII so a cut can't split a character. */
const closeReason = (reason: string): string => reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);

function countRefusal(kind: string): void {
  metrics.refusals.set(kind, (metrics.refusals.get(kind) ?? 0) + 1);
}

/**
 * Closes one socket with a code and reason; nobody else notices. `kind` is a
 * short fixed label for logs and metrics (reasons may quote input).
 */
function refuse(ws: WebSocket<Conn>, code: number, reason: string, kind: string): void {
  const conn = ws.getUserData();
  if (conn.isClosed) return;
  // What was queued for it before goes out ahead of the close, unless sending it closed the socket as too slow.
  flush(ws, conn);
  if (conn.isClosed) return;
  const text = closeReason(reason);
  countRefusal(kind);
  logEvent('refused', { room: roomTag(conn.roomId), code, kind, reason: text });
  ws.end(code, text);
}

/** Refills a token bucket at `perSecond` up to `burst`. */
function refill(bucket: Bucket, perSecond: number, burst: number, now: number): void {
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
  bucket.at = now;
}

/** Token bucket: takes a token if there is one. */
function take(bucket: Bucket, perSecond: number, burst: number): boolean {
  refill(bucket, perSecond, burst, performance.now());
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/** An address's cost at `now` (performance.now() ms): it halves every IP_COST_HALF_LIFE_S. */
const decayedCost = (peer: Peer, now: number): number => peer.cost * 0.5 ** ((now - peer.costAt) / 1000 / IP_COST_HALF_LIFE_S);

/** Adds a frame's cost to its address; false once the decayed total is past the limit. */
function chargeAddress(peer: Peer, bytes: number): boolean {
  const now = performance.now();
  peer.cost = decayedCost(peer, now) + 1 + bytes / 1024;
  peer.costAt = now;
  return peer.cost <= IP_COST_LIMIT;
}

/** Whether forgetting this address would lose nothing: no socket, no cost, full buckets. */
function isIdle(peer: Peer, now: number): boolean {
  refill(peer.joins, JOINS_PER_MIN / 60, JOIN_BURST, now);
  refill(peer.http, HTTP_REQUESTS_PER_S, HTTP_REQUEST_BURST, now);
  return peer.conns === 0 && decayedCost(peer, now) < FORGET_COST && peer.joins.tokens >= JOIN_BURST && peer.http.tokens >= HTTP_REQUEST_BURST;
}

// ---------------------------------------------------------------------------
// http
// ---------------------------------------------------------------------------

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  // blob: for previews of received images (files are decrypted in the page, PROTOCOL.md §11.5); nothing else.
  "img-src 'self' data: blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

function securityHeaders(res: HttpResponse): HttpResponse {
  res
    .writeHeader('Content-Security-Policy', CSP)
    .writeHeader('Cross-Origin-Opener-Policy', 'same-origin')
    .writeHeader('Cross-Origin-Embedder-Policy', 'require-corp')
    .writeHeader('Cross-Origin-Resource-Policy', 'same-origin')
    .writeHeader('Referrer-Policy', 'no-referrer')
    .writeHeader('X-Content-Type-Options', 'nosniff')
    .writeHeader('X-Frame-Options', 'DENY')
    .writeHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()');
  if (TLS_CERT) res.writeHeader('Strict-Transport-Security', 'max-age=63072000; includeSubDomains');
  return res;
}

/** PUBLIC_ORIGIN, or the loopback names of the listening port once it is known; and their host names. */
let publicOrigins = new Set<string>();
let publicHosts = new Set<string>();

function setPublicOrigins(origins: readonly string[]): void {
  publicOrigins = new Set(origins);
  publicHosts = new Set(origins.map((o) => new URL(o).hostname));
}

/**
 * Host names the name only, not the port: a rebinding page can only send its
 * own name, and behind a proxy the port a client used is not Hush's.
 */
function isAllowedHost(host: string): boolean {
  const h = host.toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0] ?? '';
  return publicHosts.has(name);
}

function isAllowedOrigin(origin: string): boolean {
  // Non-browser clients send no Origin and could forge one anyway; the check
  // stops other web pages from opening sockets with a visitor's browser.
  return origin === '' || publicOrigins.has(origin);
}

/**
 * Answers an HTTP request with a refusal and closes the connection, so that
 * nothing pipelined behind it is read. `kind` is a fixed label, as for sockets.
 */
function refuseHttp(res: HttpResponse, status: string, reason: string, kind: string): void {
  countRefusal(kind);
  logEvent('refused', { code: Number(status.slice(0, 3)), kind, reason });
  securityHeaders(res.writeStatus(status)).writeHeader('Content-Type', 'text/plain; charset=utf-8').end(`${reason}\n`, true);
}

/** Every HTTP request: the address's request budget, then a Host we serve. False when it has been answered. */
function admitHttp(res: HttpResponse, req: HttpRequest, isHostChecked = true): boolean {
  if (!take(peerOf(addressKey(res.getRemoteAddress())).http, HTTP_REQUESTS_PER_S, HTTP_REQUEST_BURST)) {
    refuseHttp(res, '429 Too Many Requests', 'too many requests from your address - slow down', 'http_rate');
    return false;
  }
  if (isHostChecked && !isAllowedHost(req.getHeader('host'))) {
    refuseHttp(res, '421 Misdirected Request', 'this server does not serve that host name', 'host');
    return false;
  }
  return true;
}

/**
 * Sends a body as fast as the client takes it, never faster: tryEnd writes
 * what the socket accepts and onWritable the rest, so no copy of it waits in
 * uWS's send buffer. uWS closes a connection that pipelines a request behind
 * an unfinished response, or takes nothing for 10 s, so each client holds at
 * most one body, and bodies are shared (assets, a room's cached log).
 * Headers must be written first (status included). `shared` is a body
 * that can be replaced while it is being sent.
 */
function sendBody(res: HttpResponse, bytes: Buffer, shared: Body | null = null): void {
  const start = res.getWriteOffset();
  if (res.tryEnd(bytes, bytes.length)[1]) return;
  // A replaced body counts as sending memory while any response holds it.
  if (shared !== null && shared.senders++ === 0 && !shared.isCurrent) memory.sendingBytes += bytes.length;
  let isSettled = false;
  const settle = (): void => {
    if (isSettled) return;
    isSettled = true;
    if (shared === null) return;
    if (--shared.senders === 0 && !shared.isCurrent) memory.sendingBytes -= bytes.length;
  };
  res.onAborted(settle);
  res.onWritable((offset) => {
    const [isOk, isFinished] = res.tryEnd(bytes.subarray(offset - start), bytes.length);
    if (isFinished) settle();
    return isOk;
  });
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Everything in static/ is read once at start (the page, the bundle and its
 * lazily loaded chunks): a missing bundle is a start-up error, not a 404 later.
 */
function loadAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const root = fileURLToPath(STATIC_DIR);
  for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    const type = CONTENT_TYPES[extname(file)];
    if (type === undefined) continue;
    const body = readFileSync(join(root, file));
    out.set(`/${file.split(sep).join('/')}`, { body, type, etag: `"${sha256(body).toString('base64url').slice(0, 16)}"` });
  }
  const index = out.get('/index.html');
  if (index === undefined || !out.has('/app.js')) throw new Error('index.html or app.js is missing');
  out.set('/', index);
  return out;
}

let assets: Map<string, Asset>;
try {
  assets = loadAssets();
} catch (err) {
  console.error(`hush: cannot read the client from static/ (${(err as Error).message}); run "npm run build" first.`);
  process.exit(1);
}

const NOT_FOUND = Buffer.from('not found\n');
const NO_SUCH_ROOM = Buffer.from(JSON.stringify({ error: 'no such room' }));

function notFound(res: HttpResponse): void {
  securityHeaders(res.writeStatus('404 Not Found')).writeHeader('Content-Type', 'text/plain; charset=utf-8');
  sendBody(res, NOT_FOUND);
}

function serveAsset(res: HttpResponse, req: HttpRequest): void {
  // REQ IS ONLY VALID UNTIL THIS FUNCTION RETURNS: everything is read here.
  if (!admitHttp(res, req)) return;
  const asset = assets.get(req.getUrl());
  if (asset === undefined) return notFound(res);
  const isFresh = req.getHeader('if-none-match') === asset.etag;
  securityHeaders(res.writeStatus(isFresh ? '304 Not Modified' : '200 OK'))
    .writeHeader('ETag', asset.etag)
    .writeHeader('Cache-Control', 'no-cache');
  if (isFresh) {
    res.endWithoutBody();
    return;
  }
  res.writeHeader('Content-Type', asset.type);
  sendBody(res, asset.body);
}

/** The /logs body from each entry's cached JSON: built once per change of the log, not per request. */
function logBodyOf(roomId: string, room: Room): Body {
  if (room.logBody !== null) return room.logBody;
  const parts: Buffer[] = [Buffer.from(`{"roomId":"${roomId}","entries":[`)];
  for (const [i, e] of room.log.entries()) {
    if (i > 0) parts.push(COMMA);
    if (e.uploadAt >= 0) {
      parts.push(e.json.subarray(0, e.uploadAt), Buffer.from(e.json.toString('base64url', e.uploadAt, e.uploadEnd), 'latin1'), STRING_END);
      continue;
    }
    if (e.hello === null) {
      parts.push(e.json);
      continue;
    }
    const hello = Buffer.from(helloJson(roomId, e.hello), 'latin1');
    parts.push(Buffer.from(helloLogHead(e.at, e.sender, hello.length), 'latin1'), escapedHello(hello), HELLO_LINE_END);
  }
  parts.push(LIST_END);
  const bytes = Buffer.concat(parts);
  room.logBody = { bytes, senders: 0, isCurrent: true };
  memory.logBodyBytes += bytes.length;
  return room.logBody;
}

/** Verified /logs requests remembered per room (see Room.verifiedReaders): a few members' Server views, each refreshing every 2 s. */
const MAX_VERIFIED_LOGS_REQUESTS = 64;

/**
 * Whether a /logs request is signed by a current member (PROTOCOL.md §8.5):
 * the fp is in the room now, `exp` has not passed and is at most
 * MAX_LOGS_URL_LIFETIME_MS ahead, and the member's signing key signed it
 * (low s). Anyone else gets the same 404 as for a room that does not exist.
 */
function isMemberRequest(roomId: string, room: Room, query: { fp: string; exp: string; sig: string }): boolean {
  const request = parseLogsRequest(query);
  if (request instanceof Error) return false;
  const now = Date.now();
  if (request.exp < now || request.exp > now + MAX_LOGS_URL_LIFETIME_MS) return false;
  const conn = room.members.get(request.fp);
  if (conn === undefined || conn.hello === null) return false;
  const cacheKey = `${request.fp} ${request.exp} ${request.sig}`;
  if (room.verifiedReaders.has(cacheKey)) return true;
  const sig = fromB64u(request.sig);
  // The high-s twin is refused here as clients refuse it.
  if (sig instanceof Error || !isLowS(sig)) return false;
  try {
    const extra = extraOf(conn);
    extra.sigKey ??= createPublicKey({ key: Buffer.from(unpackHello(roomId, conn.hello, nativeB64u).sigSpki, 'base64url'), format: 'der', type: 'spki' });
    if (!verify('sha256', logsSignedBytes(roomId, request.fp, request.exp), { key: extra.sigKey, dsaEncoding: 'ieee-p1363' }, sig)) return false;
  } catch {
    return false;
  }
  for (const [key, exp] of room.verifiedReaders) if (exp < now) room.verifiedReaders.delete(key);
  if (room.verifiedReaders.size >= MAX_VERIFIED_LOGS_REQUESTS) room.verifiedReaders.delete(room.verifiedReaders.keys().next().value ?? '');
  room.verifiedReaders.set(cacheKey, request.exp);
  return true;
}

function serveLog(res: HttpResponse, req: HttpRequest): void {
  if (!admitHttp(res, req)) return;
  // REQ IS ONLY VALID UNTIL THIS FUNCTION RETURNS: the query is read here.
  const roomId = req.getParameter(0) ?? '';
  const query = { fp: req.getQuery('fp') ?? '', exp: req.getQuery('exp') ?? '', sig: req.getQuery('sig') ?? '' };
  const candidate = isRoomId(roomId) ? rooms.get(roomId) : undefined;
  const room = candidate !== undefined && isMemberRequest(roomId, candidate, query) ? candidate : undefined;
  securityHeaders(res.writeStatus(room === undefined ? '404 Not Found' : '200 OK'))
    .writeHeader('Content-Type', 'application/json; charset=utf-8')
    .writeHeader('Cache-Control', 'no-store');
  if (room === undefined) return sendBody(res, NO_SUCH_ROOM);
  // The body counts as log memory; the next append or sweep trims logs to the
  // budget, so even under pressure a room's body is rebuilt at most once per change.
  const body = logBodyOf(roomId, room);
  sendBody(res, body.bytes, body);
}

function serveHealth(res: HttpResponse, req: HttpRequest): void {
  // No Host check: balancers' health checks name no public host, and the answer reveals nothing.
  if (!admitHttp(res, req, false)) return;
  securityHeaders(res.writeStatus('200 OK'))
    .writeHeader('Content-Type', 'application/json; charset=utf-8')
    .writeHeader('Cache-Control', 'no-store')
    .end(JSON.stringify({ status: listenSocket === null ? 'stopping' : 'ok' }));
}

const METRICS_AUTHORIZATION = METRICS_TOKEN === '' ? null : sha256(`Bearer ${METRICS_TOKEN}`);

/**
 * Prometheus text format: counters and gauges only, no room ids or addresses.
 * Deliveries per message still tell room sizes and timing, so only a holder
 * of METRICS_TOKEN may read them; to anyone else this path does not exist.
 */
function serveMetrics(res: HttpResponse, req: HttpRequest): void {
  if (!admitHttp(res, req)) return;
  if (METRICS_AUTHORIZATION === null || !timingSafeEqual(sha256(req.getHeader('authorization')), METRICS_AUTHORIZATION)) return notFound(res);
  let connections = 0;
  let members = 0;
  for (const room of rooms.values()) {
    connections += room.sockets.size;
    members += room.members.size;
  }
  const cpu = process.cpuUsage();
  const lines = [
    '# TYPE hush_connections gauge', `hush_connections ${connections}`,
    '# TYPE hush_members gauge', `hush_members ${members}`,
    '# TYPE hush_rooms gauge', `hush_rooms ${rooms.size}`,
    '# TYPE hush_connections_opened_total counter', `hush_connections_opened_total ${metrics.connectionsOpened}`,
    '# TYPE hush_frames_received_total counter', `hush_frames_received_total ${metrics.framesReceived}`,
    '# TYPE hush_received_bytes_total counter', `hush_received_bytes_total ${metrics.bytesReceived}`,
    '# TYPE hush_messages_relayed_total counter', `hush_messages_relayed_total ${metrics.messagesRelayed}`,
    '# TYPE hush_deliveries_total counter', `hush_deliveries_total ${metrics.deliveries}`,
    '# TYPE hush_sent_bytes_total counter', `hush_sent_bytes_total ${metrics.bytesSent}`,
    '# TYPE hush_chunks_relayed_total counter', `hush_chunks_relayed_total ${metrics.chunksRelayed}`,
    '# TYPE hush_addressed_dropped_total counter', `hush_addressed_dropped_total ${metrics.addressedDropped}`,
    '# TYPE hush_refusals_total counter',
    ...[...metrics.refusals].map(([kind, n]) => `hush_refusals_total{reason="${kind}"} ${n}`),
    '# TYPE hush_log_bytes gauge', `hush_log_bytes ${memory.logBytes + memory.logBodyBytes}`,
    '# TYPE hush_log_entries_dropped_total counter', `hush_log_entries_dropped_total ${metrics.logEntriesDropped}`,
    '# TYPE hush_queued_bytes gauge', `hush_queued_bytes ${memory.queuedBytes}`,
    '# TYPE hush_memory_bytes gauge', `hush_memory_bytes ${memoryInUse()}`,
    '# TYPE hush_memory_budget_bytes gauge', `hush_memory_budget_bytes ${MEMORY_BUDGET_BYTES}`,
    '# TYPE process_resident_memory_bytes gauge', `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
    '# TYPE process_cpu_seconds_total counter', `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
  ];
  securityHeaders(res.writeStatus('200 OK'))
    .writeHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
    .writeHeader('Cache-Control', 'no-store')
    .end(`${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------------------
// ws
// ---------------------------------------------------------------------------

// Everything the relay sends a member goes through the member's outbox, in order, and
// leaves at the end of the event-loop turn: one corked write per member for all the turn
// brought it (at saturation, many messages), not one write per frame. A queue is an array
// only while it holds something, so an idle member costs a null.

/** Members with a non-empty outbox, in the order they were first queued to this turn (sockets and their data side by side: a closed socket's data can no longer be asked for). */
const queuedSockets: WebSocket<Conn>[] = [];
const queuedConns: Conn[] = [];
let isFlushScheduled = false;

/**
 * Queues a text frame for one member. `wrap` is '' for a frame sent as it is; otherwise it
 * is written into its place before the frame's closing WRAP_TAIL (see `deliver`) just
 * before the frame is sent to this member.
 */
function enqueue(ws: WebSocket<Conn>, conn: Conn, frame: string | Buffer, wrap: string): void {
  if (conn.outbox === null) {
    conn.outbox = [];
    queuedSockets.push(ws);
    queuedConns.push(conn);
    if (!isFlushScheduled) {
      isFlushScheduled = true;
      setImmediate(flushAll);
    }
  }
  conn.outbox.push(frame, wrap);
}

/** uWS's send status for a frame written out whole, nothing left queued (1; 0 is backpressure, 2 dropped). */
const SENT = 1;

/** Sends one queued frame, its wrap written into its place first (see `enqueue`). False if uWS had to keep some of it. */
function sendQueued(ws: WebSocket<Conn>, frame: string | Buffer, wrap: string): boolean {
  // Checked: exactly WRAP_B64_LEN base64url characters, and the frame ends in `"wrap":"…"}`.
  if (wrap !== '') (frame as Buffer).write(wrap, frame.length - WRAP_TAIL.length - WRAP_B64_LEN, 'latin1');
  return ws.send(frame, false) === SENT;
}

/**
 * Sends what one member's outbox holds, in one write (uWS copies each frame as it is sent):
 * several frames corked, one frame as it is (a write of its own either way). A member
 * that stopped reading is closed once what uWS holds for it passes MAX_BACKPRESSURE_BYTES:
 * asked only when a send reports backpressure (the sweep asks every socket each second),
 * so a fan-out makes one call into uWS per member, not three. The close's leave is queued
 * behind what others were sent this turn, in their outboxes' order.
 */
function flush(ws: WebSocket<Conn>, conn: Conn): void {
  const box = conn.outbox;
  if (box === null) return;
  conn.outbox = null;
  if (conn.isClosed) return;
  let isSent = true;
  if (box.length === 2) isSent = sendQueued(ws, box[0] as string | Buffer, box[1] as string);
  else {
    ws.cork(() => {
      for (let i = 0; i < box.length && !conn.isClosed; i += 2) if (!sendQueued(ws, box[i] as string | Buffer, box[i + 1] as string)) isSent = false;
    });
  }
  if (!isSent && !conn.isClosed && ws.getBufferedAmount() > MAX_BACKPRESSURE_BYTES) refuseSlow(ws);
}

/** Closes a member that stopped reading (its queue is past MAX_BACKPRESSURE_BYTES). */
const refuseSlow = (ws: WebSocket<Conn>): void => refuse(ws, CLOSE.POLICY, 'not reading fast enough', 'slow_consumer');

function flushAll(): void {
  isFlushScheduled = false;
  // A send can close a socket (and its close queue a leave for others): those are taken in this pass too.
  for (let i = 0; i < queuedSockets.length; i++) flush(queuedSockets[i] as WebSocket<Conn>, queuedConns[i] as Conn);
  queuedSockets.length = 0;
  queuedConns.length = 0;
}

/**
 * Sends `frame` to every member but `except` (a member that stopped reading is
 * closed by `flush`). An ArrayBuffer is the received frame, which uWS frees
 * when its callback returns: it is copied once for every outbox.
 */
function broadcast(room: Room, except: Conn | null, frame: string | ArrayBuffer | Buffer): void {
  const shared = frame instanceof ArrayBuffer ? Buffer.copyBytesFrom(new Uint8Array(frame)) : frame;
  for (const member of room.members.values()) {
    if (member === except) continue;
    enqueue(member.ws, member, shared, '');
    metrics.deliveries += 1;
    metrics.bytesSent += shared.length;
  }
}

const WRAP_B64_LEN = b64Len(WRAP_BYTES);
const MSG_HEAD = Buffer.from('{"t":"msg","env":');
const WRAP_HEAD = ',"wrap":"';
const WRAP_TAIL = '"}';

/**
 * Sends a message to every member, the sender included (PROTOCOL.md §8.4):
 * a recipient gets the envelope and its own wrap, a member the sender left
 * out the envelope alone (so it can tell it was left out). The envelope goes
 * as the upload's bytes (`envJson`, JSON that `env` is the checked value of),
 * copied once into one buffer that ends with room for a wrap; each
 * recipient's wrap (the i-th WRAP_B64_LEN characters of `wrapText`, the
 * upload's wraps in base64url, for `env.recipients[i]`) is written there as
 * its copy is sent (`flush`, which also closes a member that stopped
 * reading). The relay hashes nothing: members check the wraps.
 */
function deliver(room: Room, env: Envelope, envJson: Buffer, wrapText: string): void {
  const withWrap = Buffer.allocUnsafe(MSG_HEAD.length + envJson.length + WRAP_HEAD.length + WRAP_B64_LEN + WRAP_TAIL.length);
  MSG_HEAD.copy(withWrap, 0);
  envJson.copy(withWrap, MSG_HEAD.length);
  withWrap.write(WRAP_HEAD, MSG_HEAD.length + envJson.length, 'latin1');
  withWrap.write(WRAP_TAIL, withWrap.length - WRAP_TAIL.length, 'latin1');
  let reached = 0;
  const { recipients } = env;
  for (let i = 0; i < recipients.length; i++) {
    const member = room.members.get(recipients[i] as string);
    if (member === undefined) continue;
    reached += 1;
    enqueue(member.ws, member, withWrap, wrapText.slice(i * WRAP_B64_LEN, (i + 1) * WRAP_B64_LEN));
    metrics.bytesSent += withWrap.length;
    metrics.deliveries += 1;
  }
  // Members the sender left out (usually none: a sender addresses the roster it sees).
  if (reached < room.members.size) {
    const addressed = new Set(recipients);
    const withoutWrap = Buffer.concat([MSG_HEAD, envJson, OBJECT_END]);
    for (const [fp, member] of room.members) {
      if (addressed.has(fp)) continue;
      enqueue(member.ws, member, withoutWrap, '');
      metrics.bytesSent += withoutWrap.length;
      metrics.deliveries += 1;
    }
  }
}

const JOIN_HEAD = Buffer.from('{"t":"join","hello":');
const COMMA = Buffer.from(',');
const LIST_END = Buffer.from(']}');
const OBJECT_END = Buffer.from('}');

/** A welcome for the members present: their hellos, written back from the bytes kept at each join. */
function welcomeOf(room: Room): string {
  const hellos: string[] = [];
  for (const { hello } of room.members.values()) {
    if (hello !== null) hellos.push(helloJson(room.id, hello));
  }
  return `{"t":"welcome","members":[${hellos.join(',')}]}`;
}

/** RFC 8410's DER SubjectPublicKeyInfo prefix of a raw Ed25519 public key. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Whether the hello's door proves the link (PROTOCOL.md §8.3 #6d): the room
 * id commits to the door key, and the door key signed this connection's
 * nonce and this identity. Only a holder of the link secret has the key.
 */
function opensDoor(conn: Conn, fp: string, door: Door): boolean {
  const pub = fromB64u(door.pub);
  const sig = fromB64u(door.sig);
  if (pub instanceof Error || sig instanceof Error || roomIdWith(sha256, pub) !== conn.roomId) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
    return verify(null, doorSignedBytes(conn.roomId, conn.nonce, fp), key, sig);
  } catch {
    // Not every 32 bytes are a point on the curve: such a key is no proof either.
    return false;
  }
}

function onHello(ws: WebSocket<Conn>, conn: Conn, room: Room, hello: Hello, door: Door | undefined): void {
  if (conn.fp !== null) return refuse(ws, CLOSE.POLICY, 'second hello on one connection', 'second_hello');
  if (hello.roomId !== conn.roomId) return refuse(ws, CLOSE.POLICY, 'hello is for another room', 'wrong_room');
  if (!take(conn.peer.joins, JOINS_PER_MIN / 60, JOIN_BURST)) return refuse(ws, CLOSE.RATE_LIMITED, 'too many joins from your address - wait a minute', 'join_rate');
  const fp = fingerprintWith(sha256, hello);
  // After the join bucket, which bounds the signature checks one address can ask for.
  if (door === undefined || !opensDoor(conn, fp, door)) return refuse(ws, CLOSE.POLICY, 'hello does not prove the link', 'door');
  if (room.members.has(fp)) return refuse(ws, CLOSE.POLICY, 'this identity is already in the room', 'duplicate_identity');
  if (room.departed.has(fp)) return refuse(ws, CLOSE.POLICY, 'this identity has left the room; rejoin with new keys', 'departed_identity');
  if (room.members.size >= MAX_MEMBERS) return refuse(ws, CLOSE.ROOM_FULL, 'room is full', 'room_full');
  // The checked hello, kept only packed; the join frame (and the log entry's length) take its JSON once, from the checked object.
  conn.hello = keepHello(packHello(hello));
  const helloText = Buffer.from(JSON.stringify(hello), 'latin1');
  const join = Buffer.concat([JOIN_HEAD, helloText, OBJECT_END]);
  conn.fp = fp;
  // The challenge is answered: nothing else needs it.
  conn.nonce = '';
  ws.send(welcomeOf(room), false);
  broadcast(room, null, join);
  // After the join's broadcast, so the newcomer is not sent its own join.
  room.members.set(fp, Object.assign(conn, { ws }));
  appendHelloLog(room, fp, conn.hello, helloText);
  logEvent('join', { room: roomTag(conn.roomId), members: room.members.size });
}

function onMessage(ws: WebSocket<Conn>, message: ArrayBuffer, isBinary: boolean): void {
  const conn = ws.getUserData();
  const room = rooms.get(conn.roomId);
  if (room === undefined || conn.isClosed) return;
  metrics.framesReceived += 1;
  metrics.bytesReceived += message.byteLength;
  const isUpload = isBinary && message.byteLength > 0 && new Uint8Array(message, 0, 1)[0] === UPLOAD_KIND;
  if (isBinary && !isUpload) return onAddressed(ws, conn, room, message);
  if (message.byteLength > MAX_FRAME_BYTES) return refuse(ws, CLOSE.TOO_BIG, 'frame too large', 'too_big');
  if (!take(conn.frames, RATE_FRAMES_PER_S, RATE_BURST_FRAMES)) return refuse(ws, CLOSE.RATE_LIMITED, 'too many messages - slow down', 'rate');
  if (!chargeAddress(conn.peer, message.byteLength)) return refuse(ws, CLOSE.RATE_LIMITED, 'too much traffic from your address - slow down', 'address_cost');
  if (isUpload) return onUpload(ws, conn, room, message);
  // uWS has already dropped any text frame that is not valid UTF-8.
  const frame = decodeClientFrame(Buffer.from(message).toString('utf8'));
  if (frame instanceof Error) return refuse(ws, CLOSE.POLICY, frame.message, 'malformed');
  if (frame.t === 'hello') return onHello(ws, conn, room, frame.hello, frame.door);
  if (conn.fp === null) return refuse(ws, CLOSE.POLICY, 'message before hello', 'before_hello');
  const claim = frame.t === 'state' ? frame.st : frame.rc;
  if (claim.room !== conn.roomId) return refuse(ws, CLOSE.POLICY, 'frame is for another room', 'wrong_room');
  if (claim.sender !== conn.fp) return refuse(ws, CLOSE.POLICY, "sender is not this connection's identity", 'wrong_sender');
  // Relay the client's bytes as they are: re-serialising would cost CPU and
  // could only change what the signature covers; sending the received buffer
  // spares uWS re-encoding the text for every member. Roster and room
  // statements are periodic bookkeeping, not conversation: relayed, not logged.
  broadcast(room, conn, message);
}

/**
 * A binary message upload (PROTOCOL.md §4.3), after the size, rate and
 * address checks every frame pays: the envelope checked as every frame's
 * fields are, the wraps by their length (any WRAP_BYTES bytes have a wrap's
 * shape; members check them against the signed hashes).
 */
function onUpload(ws: WebSocket<Conn>, conn: Conn, room: Room, message: ArrayBuffer): void {
  const bytes = Buffer.from(message);
  const upload = decodeUpload(bytes);
  if (upload instanceof Error) return refuse(ws, CLOSE.POLICY, upload.message, 'malformed');
  if (conn.fp === null) return refuse(ws, CLOSE.POLICY, 'message before hello', 'before_hello');
  if (upload.env.room !== conn.roomId) return refuse(ws, CLOSE.POLICY, 'frame is for another room', 'wrong_room');
  if (upload.env.sender !== conn.fp) return refuse(ws, CLOSE.POLICY, "sender is not this connection's identity", 'wrong_sender');
  // Every member gets a message, so one whom the sender left out sees that (check 8).
  metrics.messagesRelayed += 1;
  // The envelope as the sender wrote it (uWS frees `bytes` when this returns: deliver copies it). A
  // wrap is 384 bytes, a multiple of 3: the wraps' base64url is each wrap's, end to end.
  const wrapsAt = bytes.length - upload.wraps.length;
  deliver(room, upload.env, bytes.subarray(UPLOAD_HEADER_BYTES, wrapsAt), bytes.toString('base64url', wrapsAt));
  // The log keeps the upload whole: every wrap, as the sender sent it.
  appendUploadLog(room, conn.fp, bytes);
}

/**
 * A binary `to` frame (PROTOCOL.md §11.4): a file note or chunk for one other
 * member. Relayed only between two current members of this room, stamped
 * with the sender's fp. A chunk must spend a chunk its recipient asked this
 * sender for, so the relay holds at most MAX_PULL_CREDIT chunks per pair and
 * a receiver that stops reading is never closed for it; a note pays the
 * note bucket and the address cost like any small frame.
 */
function onAddressed(ws: WebSocket<Conn>, conn: Conn, room: Room, message: ArrayBuffer): void {
  if (message.byteLength > MAX_CHUNK_FRAME_BYTES) return refuse(ws, CLOSE.TOO_BIG, 'frame too large', 'too_big');
  const frame = parseAddressed(new Uint8Array(message));
  if (frame instanceof Error) {
    if (frame.message.startsWith('binary frame')) return refuse(ws, CLOSE.UNSUPPORTED, 'binary frames are not accepted', 'binary');
    return refuse(ws, CLOSE.POLICY, frame.message, 'malformed');
  }
  if (conn.fp === null) return refuse(ws, CLOSE.POLICY, 'message before hello', 'before_hello');
  // Made on the first addressed frame: most members never send one.
  const extra = extraOf(conn);
  if (frame.kind === 'note') {
    extra.notes ??= { tokens: RATE_NOTE_BURST, at: performance.now() };
    if (!take(extra.notes, RATE_NOTES_PER_S, RATE_NOTE_BURST)) return refuse(ws, CLOSE.RATE_LIMITED, 'too many file notes - slow down', 'note_rate');
    if (!chargeAddress(conn.peer, message.byteLength)) return refuse(ws, CLOSE.RATE_LIMITED, 'too much traffic from your address - slow down', 'address_cost');
  }
  const to = toB64u(frame.peer);
  if (to === conn.fp) return refuse(ws, CLOSE.POLICY, 'frame is addressed to its sender', 'self_addressed');
  const targetConn = room.members.get(to);
  if (targetConn === undefined) {
    // Usually a member who left while chunks it asked for were on their way: dropped, and
    // charged as one frame to the address, so sending to nobody cannot be a free flood.
    metrics.addressedDropped += 1;
    if (!chargeAddress(conn.peer, 0)) refuse(ws, CLOSE.RATE_LIMITED, 'too much traffic from your address - slow down', 'address_cost');
    return;
  }
  const target = targetConn.ws;
  const granted = targetConn.extra?.credit ?? null;
  if (frame.kind === 'chunk') {
    const left = granted?.get(conn.fp) ?? 0;
    if (granted === null || left < 1) return refuse(ws, CLOSE.POLICY, 'file chunk that was not asked for', 'unrequested_chunk');
    granted.set(conn.fp, left - 1);
  } else if (frame.op === NOTE_OP.WANT) {
    const credit = (extra.credit ??= new Map());
    credit.set(to, Math.min(MAX_PULL_CREDIT, (credit.get(to) ?? 0) + frame.grant));
  }
  const out = Buffer.from(message);
  extra.fpRaw ??= Buffer.from(conn.fp, 'base64url');
  extra.fpRaw.copy(out, 1);
  if (target.getBufferedAmount() > MAX_BACKPRESSURE_BYTES) return refuseSlow(target);
  // Sent now (a chunk is up to MAX_CHUNK_FRAME_BYTES: not held for the turn), behind what was queued for the target;
  // sending that can close the target as too slow, and then this frame goes nowhere.
  flush(target, targetConn);
  if (targetConn.isClosed) return;
  target.send(out, true);
  metrics.deliveries += 1;
  metrics.bytesSent += out.length;
  if (frame.kind === 'note') return;
  metrics.chunksRelayed += 1;
  appendChunkLog(room, conn.fp, to, out.length, frame.fileId);
}

function onClose(ws: WebSocket<Conn>, code: number): void {
  // THE SOCKET IS GONE AFTER THIS CALLBACK: use only its user data.
  const conn = ws.getUserData();
  conn.isClosed = true;
  conn.peer.conns -= 1;
  memory.sockets -= 1;
  const room = rooms.get(conn.roomId);
  if (room === undefined) return;
  room.sockets.delete(ws);
  if (conn.fp !== null && room.members.get(conn.fp) === conn) {
    room.members.delete(conn.fp);
    room.departed.add(conn.fp);
    for (const m of room.members.values()) m.extra?.credit?.delete(conn.fp);
    const leave = encodeServerFrame({ t: 'leave', fp: conn.fp });
    // While shutting down everyone is being closed: "X left" would only be noise before "server restarting".
    if (listenSocket !== null) broadcast(room, null, leave);
    appendLog(room, 'leave', conn.fp, leave);
  }
  if (room.sockets.size === 0) forgetRoom(conn.roomId, room);
  logEvent('close', { room: roomTag(conn.roomId), code, rooms: rooms.size });
}

// ---------------------------------------------------------------------------
// listen
// ---------------------------------------------------------------------------

const app = TLS_CERT ? uws.SSLApp({ cert_file_name: TLS_CERT, key_file_name: TLS_KEY }) : uws.App();
let listenSocket: uws.us_listen_socket | null = null;

app
  .ws<Conn>('/ws/:roomId', {
    /* limits */
    maxPayloadLength: HARD_FRAME_LIMIT_BYTES,
    idleTimeout: IDLE_TIMEOUT_S,
    sendPingsAutomatically: true,
    // Twice ours, as a backstop only: frames are queued (see `enqueue`) and written at the end of
    // the event-loop turn, after our check, so a turn can queue past our limit; uWS's own
    // close (1006, no reason, nothing logged) must not pre-empt our logged slow_consumer.
    maxBackpressure: 2 * MAX_BACKPRESSURE_BYTES,
    closeOnBackpressureLimit: 1,
    compression: uws.DISABLED,

    /* handlers */
    upgrade: (res, req, context) => {
      // REQ IS ONLY VALID INSIDE THIS CALLBACK: copy what you need.
      const roomId = req.getParameter(0) ?? '';
      if (!isRoomId(roomId)) return refuseHttp(res, '403 Forbidden', 'bad room id', 'bad_room_id');
      if (!isAllowedHost(req.getHeader('host'))) return refuseHttp(res, '421 Misdirected Request', 'this server does not serve that host name', 'host');
      if (!isAllowedOrigin(req.getHeader('origin'))) return refuseHttp(res, '403 Forbidden', 'origin not allowed', 'origin');
      const peer = peerOf(addressKey(res.getRemoteAddress()));
      if (peer.conns >= MAX_CONNS_PER_IP) return refuseHttp(res, '429 Too Many Requests', 'too many connections from your address', 'address_conns');
      peer.conns += 1;
      metrics.connectionsOpened += 1;
      const now = performance.now();
      const conn: Conn = { roomId, peer, nonce: toB64u(randomBytes(NONCE_BYTES)), fp: null, hello: null, frames: { tokens: RATE_BURST_FRAMES, at: now }, extra: null, outbox: null, isClosed: false, ws: null };
      res.upgrade(conn, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      const conn = ws.getUserData();
      memory.sockets += 1;
      let room = rooms.get(conn.roomId);
      if (room === undefined) {
        if (rooms.size >= MAX_ROOMS) return refuse(ws, CLOSE.SERVER_FULL, 'server is full - try again later', 'server_full');
        // Logs give way to everything else; a room that would not fit even without them is refused.
        if (fixedMemory() + ROOM_OVERHEAD_BYTES > MEMORY_BUDGET_BYTES) return refuse(ws, CLOSE.SERVER_FULL, 'server is full - try again later', 'memory_budget');
        room = { id: conn.roomId, members: new Map(), sockets: new Set(), log: [], logBytes: 0, logBody: null, departed: new Set(), verifiedReaders: new Map() };
        rooms.set(conn.roomId, room);
      }
      // The room's copy of the id: one string per room, not one per connection.
      conn.roomId = room.id;
      room.sockets.add(ws);
      ws.send(encodeServerFrame({ t: 'challenge', nonce: conn.nonce }), false);
      logEvent('open', { room: roomTag(conn.roomId) });
    },
    message: onMessage,
    close: onClose,
  })
  .get('/logs/:roomId', serveLog)
  .get('/healthz', serveHealth)
  .get('/metrics', serveMetrics)
  .get('/*', serveAsset)
  .any('/*', (res, req) => {
    if (admitHttp(res, req)) notFound(res);
  })
  .listen(HOST, PORT, (socket) => {
    if (!socket) {
      console.error(`hush: cannot listen on ${HOST}:${PORT}`);
      process.exit(1);
    }
    listenSocket = socket;
    const port = uws.us_socket_local_port(socket);
    const scheme = TLS_CERT ? 'https' : 'http';
    setPublicOrigins(CONFIGURED_ORIGINS.length > 0 ? CONFIGURED_ORIGINS : ['localhost', '127.0.0.1', '[::1]'].map((h) => new URL(`${scheme}://${h}:${port}`).origin));
    logEvent('listening', { host: HOST, port, tls: TLS_CERT ? 1 : 0 });
  });

// The sweep (see SWEEP_INTERVAL_MS).
setInterval(() => {
  const now = performance.now();
  const helloCutoff = now - HELLO_TIMEOUT_S * 1000;
  let queued = 0;
  for (const room of rooms.values()) {
    for (const ws of room.sockets) {
      const conn = ws.getUserData();
      const buffered = ws.getBufferedAmount();
      if (buffered > MAX_BACKPRESSURE_BYTES) refuseSlow(ws);
      else if (conn.fp === null && conn.frames.at < helloCutoff) refuse(ws, CLOSE.POLICY, 'no hello in time', 'hello_timeout');
      else queued += buffered;
    }
  }
  memory.queuedBytes = queued;
  fitLogsInBudget();
  compactLogQueue();
  for (const [key, peer] of peers) if (isIdle(peer, now)) peers.delete(key);
}, SWEEP_INTERVAL_MS).unref();

function shutdown(signal: string): void {
  logEvent('shutdown', { signal });
  if (listenSocket !== null) uws.us_listen_socket_close(listenSocket);
  listenSocket = null;
  for (const room of rooms.values()) {
    for (const ws of room.sockets) {
      const conn = ws.getUserData();
      if (conn.isClosed) continue;
      // What was queued goes out first; sending it can close a member that stopped reading.
      flush(ws, conn);
      if (!conn.isClosed) ws.end(CLOSE.GOING_AWAY, 'server restarting');
    }
  }
  // Give the close frames a moment to leave, then go.
  setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
