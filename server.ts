/**
 * Hush relay: serves the page, relays ciphertext between the members of a
 * room, and keeps an in-memory roster and a bounded, ciphertext-only audit log
 * per room. It can read no name, message or key, and forge nothing: clients
 * check every hello and message themselves (PROTOCOL.md).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import uws from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, WebSocket } from 'uWebSockets.js';
import {
  CLOSE,
  MAX_FRAME_BYTES,
  MAX_MEMBERS_PER_ROOM,
  decodeClientFrame,
  encodeServerFrame,
  fingerprintWith,
  isRoomId,
  type Hello,
} from './client/protocol';

// ---------------------------------------------------------------------------
// config: every limit in one place, env-overridable, units in the names
// ---------------------------------------------------------------------------

function envInt(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    console.error(`hush: ${name} must be an integer in [${min}, ${max}], got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const PORT = envInt('PORT', 8080, 0, 65535);
const HOST = process.env.HOST || '127.0.0.1';
const TLS_CERT = process.env.TLS_CERT ?? '';
const TLS_KEY = process.env.TLS_KEY ?? '';
/** Extra origins allowed to open a WebSocket, comma-separated; the server's own origin always is. */
const ALLOWED_ORIGINS = new Set((process.env.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean));
const MAX_MEMBERS = envInt('MAX_MEMBERS', MAX_MEMBERS_PER_ROOM, 2, MAX_MEMBERS_PER_ROOM);
const MAX_ROOMS = envInt('MAX_ROOMS', 10_000, 1);
/** Open WebSockets per client IP address (behind a proxy, every client shares the proxy's). */
const MAX_CONNS_PER_IP = envInt('MAX_CONNS_PER_IP', 50, 1);
/** A socket that has not said hello by then is closed. */
const HELLO_TIMEOUT_S = envInt('HELLO_TIMEOUT_S', 10, 1);
const IDLE_TIMEOUT_S = envInt('IDLE_TIMEOUT_S', 120, 8, 960);
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
/** Joins (hellos) per client address: sustained per minute, and burst. */
const JOINS_PER_MIN = envInt('JOINS_PER_MIN', 30, 1);
const JOIN_BURST = envInt('JOIN_BURST', 10, 1);
const LOG_MAX_ENTRIES = envInt('LOG_MAX_ENTRIES', 500, 1);
const LOG_MAX_BYTES = envInt('LOG_MAX_BYTES', 4 * 1024 * 1024, 64 * 1024);

/**
 * uWS drops a frame past this without a close frame, so it sits above
 * MAX_FRAME_BYTES (the protocol's largest valid frame): frames between the two
 * are refused by the handler with 1009 and a reason a person can read.
 */
const HARD_FRAME_LIMIT_BYTES = 4 * MAX_FRAME_BYTES;
/**
 * The sweep closes sockets that have not said hello within HELLO_TIMEOUT_S
 * (so one lives at most HELLO_TIMEOUT_S + SWEEP_INTERVAL_MS) and forgets
 * idle addresses once their cost has decayed below FORGET_COST.
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
}

interface Conn {
  roomId: string;
  /** This connection's client address's limits (the address itself is not kept here). */
  peer: Peer;
  openedAt: number;
  /** Fingerprint registered by this socket's hello; null until then. */
  fp: string | null;
  hello: Hello | null;
  frames: Bucket;
  isClosed: boolean;
}

interface LogEntry {
  at: number;
  type: 'hello' | 'msg' | 'leave';
  sender: string;
  size: number;
  /** The frame exactly as relayed. */
  frame: string;
}

interface Room {
  members: Map<string, WebSocket<Conn>>;
  /** Every open socket, including those that have not said hello yet. */
  sockets: Set<WebSocket<Conn>>;
  log: LogEntry[];
  logBytes: number;
  /** Identities that left: a tab's keys serve one visit, so a returning one is a replay. */
  departed: Set<string>;
}

const rooms = new Map<string, Room>();
const peers = new Map<string, Peer>();

/** Counters for /metrics (Prometheus text format). */
const metrics = {
  connectionsOpened: 0,
  framesReceived: 0,
  bytesReceived: 0,
  messagesRelayed: 0,
  deliveries: 0,
  bytesSent: 0,
  refusals: new Map<string, number>(),
};

/** Logs carry no content, names, keys or secrets; rooms only as a short hash. */
function logEvent(event: string, fields: Record<string, string | number> = {}): void {
  console.log(JSON.stringify({ t: new Date().toISOString(), event, ...fields }));
}
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();
const roomTag = (roomId: string): string => sha256(roomId).toString('hex').slice(0, 8);

function appendLog(room: Room, entry: LogEntry): void {
  room.log.push(entry);
  room.logBytes += entry.size;
  while (room.log.length > LOG_MAX_ENTRIES || room.logBytes > LOG_MAX_BYTES) {
    const dropped = room.log.shift();
    if (dropped === undefined) break;
    room.logBytes -= dropped.size;
  }
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
  const text = closeReason(reason);
  countRefusal(kind);
  logEvent('refused', { room: roomTag(conn.roomId), code, kind, reason: text });
  ws.end(code, text);
}

/** Token bucket: refills at `perSecond` up to `burst`; takes a token if there is one. */
function take(bucket: Bucket, perSecond: number, burst: number): boolean {
  const now = performance.now();
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
  bucket.at = now;
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


// ---------------------------------------------------------------------------
// http
// ---------------------------------------------------------------------------

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
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

function serveAsset(res: HttpResponse, req: HttpRequest): void {
  const asset = assets.get(req.getUrl());
  if (asset === undefined) {
    securityHeaders(res.writeStatus('404 Not Found')).writeHeader('Content-Type', 'text/plain; charset=utf-8').end('not found\n');
    return;
  }
  securityHeaders(req.getHeader('if-none-match') === asset.etag ? res.writeStatus('304 Not Modified') : res.writeStatus('200 OK'))
    .writeHeader('ETag', asset.etag)
    .writeHeader('Cache-Control', 'no-cache');
  if (req.getHeader('if-none-match') === asset.etag) {
    res.endWithoutBody();
    return;
  }
  res.writeHeader('Content-Type', asset.type).end(asset.body);
}

function serveLog(res: HttpResponse, req: HttpRequest): void {
  const roomId = req.getParameter(0) ?? '';
  const room = isRoomId(roomId) ? rooms.get(roomId) : undefined;
  const status = room === undefined ? '404 Not Found' : '200 OK';
  const body = room === undefined ? { error: 'no such room' } : { roomId, entries: room.log };
  securityHeaders(res.writeStatus(status))
    .writeHeader('Content-Type', 'application/json; charset=utf-8')
    .writeHeader('Cache-Control', 'no-store')
    .end(JSON.stringify(body));
}

function serveHealth(res: HttpResponse): void {
  securityHeaders(res.writeStatus('200 OK'))
    .writeHeader('Content-Type', 'application/json; charset=utf-8')
    .writeHeader('Cache-Control', 'no-store')
    .end(JSON.stringify({ status: listenSocket === null ? 'stopping' : 'ok' }));
}

/** Prometheus text format: counters and gauges only, no room ids or addresses. */
function serveMetrics(res: HttpResponse): void {
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
    '# TYPE hush_refusals_total counter',
    ...[...metrics.refusals].map(([kind, n]) => `hush_refusals_total{reason="${kind}"} ${n}`),
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

function isAllowedOrigin(origin: string, host: string): boolean {
  // Non-browser clients send no Origin and could forge one anyway; the check
  // stops other web pages from opening sockets with a visitor's browser.
  if (origin === '') return true;
  const scheme = TLS_CERT ? 'https' : 'http';
  return origin === `${scheme}://${host}` || ALLOWED_ORIGINS.has(origin);
}

/**
 * Sends `frame` to every member but `except`. A member that stopped reading
 * is closed once its queue passes MAX_BACKPRESSURE_BYTES (after the loop: a
 * close announces a leave, which must not overtake this frame).
 */
function broadcast(room: Room, except: WebSocket<Conn> | null, frame: string | ArrayBuffer): void {
  const bytes = typeof frame === 'string' ? frame.length : frame.byteLength;
  const slow: WebSocket<Conn>[] = [];
  for (const ws of room.members.values()) {
    if (ws === except) continue;
    if (ws.getBufferedAmount() > MAX_BACKPRESSURE_BYTES) {
      slow.push(ws);
      continue;
    }
    ws.send(frame, false);
    metrics.deliveries += 1;
    metrics.bytesSent += bytes;
  }
  for (const ws of slow) refuse(ws, CLOSE.POLICY, 'not reading fast enough', 'slow_consumer');
}

function onHello(ws: WebSocket<Conn>, conn: Conn, room: Room, hello: Hello): void {
  if (conn.fp !== null) return refuse(ws, CLOSE.POLICY, 'second hello on one connection', 'second_hello');
  if (hello.roomId !== conn.roomId) return refuse(ws, CLOSE.POLICY, 'hello is for another room', 'wrong_room');
  if (!take(conn.peer.joins, JOINS_PER_MIN / 60, JOIN_BURST)) return refuse(ws, CLOSE.RATE_LIMITED, 'too many joins from your address - wait a minute', 'join_rate');
  const fp = fingerprintWith(sha256, hello);
  if (room.members.has(fp)) return refuse(ws, CLOSE.POLICY, 'this identity is already in the room', 'duplicate_identity');
  if (room.departed.has(fp)) return refuse(ws, CLOSE.POLICY, 'this identity has left the room; rejoin with new keys', 'departed_identity');
  if (room.members.size >= MAX_MEMBERS) return refuse(ws, CLOSE.ROOM_FULL, 'room is full', 'room_full');
  const welcome = encodeServerFrame({ t: 'welcome', members: [...room.members.values()].flatMap((m) => m.getUserData().hello ?? []) });
  const join = encodeServerFrame({ t: 'join', hello });
  conn.fp = fp;
  conn.hello = hello;
  ws.send(welcome, false);
  broadcast(room, null, join);
  room.members.set(fp, ws);
  appendLog(room, { at: Date.now(), type: 'hello', sender: fp, size: join.length, frame: join });
  logEvent('join', { room: roomTag(conn.roomId), members: room.members.size });
}

function onMessage(ws: WebSocket<Conn>, message: ArrayBuffer, isBinary: boolean): void {
  const conn = ws.getUserData();
  const room = rooms.get(conn.roomId);
  if (room === undefined || conn.isClosed) return;
  metrics.framesReceived += 1;
  metrics.bytesReceived += message.byteLength;
  if (isBinary) return refuse(ws, CLOSE.UNSUPPORTED, 'binary frames are not accepted', 'binary');
  if (message.byteLength > MAX_FRAME_BYTES) return refuse(ws, CLOSE.TOO_BIG, 'frame too large', 'too_big');
  if (!take(conn.frames, RATE_FRAMES_PER_S, RATE_BURST_FRAMES)) return refuse(ws, CLOSE.RATE_LIMITED, 'too many messages - slow down', 'rate');
  if (!chargeAddress(conn.peer, message.byteLength)) return refuse(ws, CLOSE.RATE_LIMITED, 'too much traffic from your address - slow down', 'address_cost');
  // uWS has already dropped any text frame that is not valid UTF-8.
  const text = Buffer.from(message).toString('utf8');
  const frame = decodeClientFrame(text);
  if (frame instanceof Error) return refuse(ws, CLOSE.POLICY, frame.message, 'malformed');
  if (frame.t === 'hello') return onHello(ws, conn, room, frame.hello);
  if (conn.fp === null) return refuse(ws, CLOSE.POLICY, 'message before hello', 'before_hello');
  const claim = frame.t === 'msg' ? frame.env : frame.rc;
  if (claim.room !== conn.roomId) return refuse(ws, CLOSE.POLICY, 'frame is for another room', 'wrong_room');
  if (claim.sender !== conn.fp) return refuse(ws, CLOSE.POLICY, "sender is not this connection's identity", 'wrong_sender');
  // Relay the client's bytes as they are: re-serialising would cost CPU and
  // could only change what the signature covers; sending the received buffer
  // spares uWS re-encoding the text for every member.
  if (frame.t === 'roster') {
    // Roster statements are periodic bookkeeping, not conversation: relayed, not logged.
    broadcast(room, ws, message);
    return;
  }
  // Every member gets a message, so one whom the sender left out sees that (check 8).
  metrics.messagesRelayed += 1;
  broadcast(room, null, message);
  appendLog(room, { at: Date.now(), type: 'msg', sender: conn.fp, size: text.length, frame: text });
}

function onClose(ws: WebSocket<Conn>, code: number): void {
  // THE SOCKET IS GONE AFTER THIS CALLBACK: use only its user data.
  const conn = ws.getUserData();
  conn.isClosed = true;
  conn.peer.conns -= 1;
  const room = rooms.get(conn.roomId);
  if (room === undefined) return;
  room.sockets.delete(ws);
  if (conn.fp !== null && room.members.get(conn.fp) === ws) {
    room.members.delete(conn.fp);
    room.departed.add(conn.fp);
    const leave = encodeServerFrame({ t: 'leave', fp: conn.fp });
    // While shutting down everyone is being closed: "X left" would only be noise before "server restarting".
    if (listenSocket !== null) broadcast(room, null, leave);
    appendLog(room, { at: Date.now(), type: 'leave', sender: conn.fp, size: leave.length, frame: leave });
  }
  if (room.sockets.size === 0) rooms.delete(conn.roomId);
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
    maxBackpressure: MAX_BACKPRESSURE_BYTES,
    closeOnBackpressureLimit: 1,
    compression: uws.DISABLED,

    /* handlers */
    upgrade: (res, req, context) => {
      // REQ IS ONLY VALID INSIDE THIS CALLBACK: copy what you need.
      const roomId = req.getParameter(0) ?? '';
      const origin = req.getHeader('origin');
      const host = req.getHeader('host');
      if (!isRoomId(roomId) || !isAllowedOrigin(origin, host)) {
        logEvent('refused', { code: 403, reason: isRoomId(roomId) ? 'origin not allowed' : 'bad room id' });
        securityHeaders(res.writeStatus('403 Forbidden')).end('forbidden\n');
        return;
      }
      const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
      const now = performance.now();
      const peer = peers.get(ip) ?? { conns: 0, cost: 0, costAt: now, joins: { tokens: JOIN_BURST, at: now } };
      if (peer.conns >= MAX_CONNS_PER_IP) {
        countRefusal('address_conns');
        logEvent('refused', { code: 429, kind: 'address_conns', reason: 'too many connections from one address' });
        securityHeaders(res.writeStatus('429 Too Many Requests')).end('too many connections\n');
        return;
      }
      peer.conns += 1;
      peers.set(ip, peer);
      metrics.connectionsOpened += 1;
      const conn: Conn = { roomId, peer, openedAt: now, fp: null, hello: null, frames: { tokens: RATE_BURST_FRAMES, at: now }, isClosed: false };
      res.upgrade(conn, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      const conn = ws.getUserData();
      let room = rooms.get(conn.roomId);
      if (room === undefined) {
        if (rooms.size >= MAX_ROOMS) {
          refuse(ws, CLOSE.SERVER_FULL, 'server is full - try again later', 'server_full');
          return;
        }
        room = { members: new Map(), sockets: new Set(), log: [], logBytes: 0, departed: new Set() };
        rooms.set(conn.roomId, room);
      }
      room.sockets.add(ws);
      logEvent('open', { room: roomTag(conn.roomId) });
    },
    message: onMessage,
    close: onClose,
  })
  .get('/logs/:roomId', serveLog)
  .get('/healthz', serveHealth)
  .get('/metrics', serveMetrics)
  .get('/*', serveAsset)
  .listen(HOST, PORT, (socket) => {
    if (!socket) {
      console.error(`hush: cannot listen on ${HOST}:${PORT}`);
      process.exit(1);
    }
    listenSocket = socket;
    logEvent('listening', { host: HOST, port: uws.us_socket_local_port(socket), tls: TLS_CERT ? 1 : 0 });
  });

// The sweep: sockets that never say hello hold a slot and a room, so close them.
setInterval(() => {
  const cutoff = performance.now() - HELLO_TIMEOUT_S * 1000;
  for (const room of rooms.values()) {
    for (const ws of room.sockets) {
      const conn = ws.getUserData();
      if (conn.fp === null && conn.openedAt < cutoff) refuse(ws, CLOSE.POLICY, 'no hello in time', 'hello_timeout');
    }
  }
  // Forget addresses with no connection whose cost has decayed away.
  const now = performance.now();
  for (const [ip, peer] of peers) if (peer.conns === 0 && decayedCost(peer, now) < FORGET_COST) peers.delete(ip);
}, SWEEP_INTERVAL_MS).unref();

function shutdown(signal: string): void {
  logEvent('shutdown', { signal });
  if (listenSocket !== null) uws.us_listen_socket_close(listenSocket);
  listenSocket = null;
  for (const room of rooms.values()) {
    for (const ws of room.sockets) {
      const conn = ws.getUserData();
      if (conn.isClosed) continue;
      ws.end(CLOSE.GOING_AWAY, 'server restarting');
    }
  }
  // Give the close frames a moment to leave, then go.
  setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
