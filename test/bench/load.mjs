// The load generator: one process (pinned to its own core by run.mjs) that
// speaks to all three servers. Raw WebSocket via `ws`; Socket.IO's framing
// by hand (Engine.IO v4 "0{…}" open, "40" connect, '42["msg",…]' events,
// "2" ping answered with "3"). Driven by run.mjs over IPC: each command is
// { id, cmd, …args } and is answered with { id, result } or { id, error }.
//
// Workload: rooms × members connections; every message is a real Hush
// envelope frame from fixtures.mjs, relayed by the server to every member of
// the room, the sender included, so one message is `members` deliveries.
// Latency and loss: each (sender, receiver) pair is one ordered stream, so a
// receiver matches every delivery (by msgId) to the sender's next expected
// message and takes the time since that message was sent.
import WebSocket from 'ws';
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpuSplitUs, cpuUs, machineBusyUs } from './proc.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MSG_PREFIX = { hush: Buffer.from('{"t":"msg"'), bare: Buffer.from('{"t":"msg"'), bareNew: Buffer.from('{"t":"msg"'), socketio: Buffer.from('42["msg",') };
const MSGID_KEY = Buffer.from('"msgId":"');
const WELCOME_PREFIX = Buffer.from('{"t":"welcome"');
const CHALLENGE_PREFIX = Buffer.from('{"t":"challenge"');
const MSG_ID_LEN = 21;
const JOIN_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 30_000;

let fx = null;
/** msgId → (room · members + member) · perSender + k */
const codeOf = new Map();
/** The frames to send, per kind: [room][member][k] → Buffer. */
const framesFor = {};
/** Open connections by set ("load" | "idle"). */
const sets = { load: [], idle: [] };
/** The load set as [room][member] → Conn. */
let grid = [];
/** The phase in progress, or null. */
let ph = null;
let unexpectedCloses = 0;
const closeReasons = [];

function urlFor(kind, port, roomId) {
  return kind === 'socketio'
    ? `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&room=${roomId}`
    : `ws://127.0.0.1:${port}/ws/${roomId}`;
}

/**
 * What each kind is sent per message: Hush its upload (envelope and every
 * wrap); the bare relay "bareNew" the frame Hush delivers to one member; the
 * bare relay "bare" and Socket.IO the message as one frame with every wrap,
 * as Hush carried it before per-member delivery.
 */
function frames(kind) {
  if (framesFor[kind]) return framesFor[kind];
  const pools = (room) => (kind === 'hush' ? room.pools : kind === 'bareNew' ? room.deliveryPools : room.fullPools);
  const bytesOf = (f) => (kind === 'hush' ? Buffer.from(f, 'base64') : Buffer.from(kind === 'socketio' ? `42["msg",${f}]` : f));
  framesFor[kind] = fx.load.map((room) => pools(room).map((pool) => pool.map(bytesOf)));
  return framesFor[kind];
}

class Grow {
  constructor(n = 1024) { this.a = new Float64Array(n); this.n = 0; }
  push(x) {
    if (this.n === this.a.length) { const b = new Float64Array(this.a.length * 2); b.set(this.a); this.a = b; }
    this.a[this.n++] = x;
  }
  set(i, x) {
    while (i >= this.a.length) { const b = new Float64Array(this.a.length * 2); b.set(this.a); this.a = b; }
    this.a[i] = x;
  }
}

/** Opens one connection from `localAddress` and completes the server's join. Resolves with the Conn. */
function open(kind, port, set, roomIdx, member, localAddress) {
  const room = fx[set][roomIdx];
  const ws = new WebSocket(urlFor(kind, port, room.roomId), { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 64 << 20, localAddress });
  const conn = { ws, kind, set, roomIdx, member, joined: false, closing: false, sent: 0, sendTimes: new Grow(256), pairNext: new Int32Array(fx.members), pool: null };
  return new Promise((resolve, reject) => {
    const fail = (err) => { clearTimeout(timer); ws.terminate(); reject(err); };
    const timer = setTimeout(() => fail(new Error(`${kind}: join timed out`)), JOIN_TIMEOUT_MS);
    const joined = () => { clearTimeout(timer); conn.joined = true; resolve(conn); };
    ws.on('error', (err) => { if (!conn.joined) fail(err); });
    ws.on('unexpected-response', (_req, res) => fail(new Error(`${kind}: HTTP ${res.statusCode}`)));
    ws.once('close', (code, reason) => { if (!conn.joined) fail(new Error(`${kind}: closed before joining: ${code} ${reason}`)); });
    ws.on('close', (code, reason) => {
      if (!conn.joined || conn.closing) return;
      unexpectedCloses += 1;
      if (closeReasons.length < 5) closeReasons.push(`${code} ${reason}`);
    });
    ws.on('open', () => {
      if (kind === 'bare' || kind === 'bareNew') joined();
    });
    ws.on('message', (data) => {
      if (kind === 'socketio' && data.length === 1 && data[0] === 0x32) { ws.send('3'); return; }
      if (conn.joined) { if (set === 'load') onFrame(conn, data); return; }
      if (kind === 'hush' && startsWith(data, CHALLENGE_PREFIX)) ws.send(helloFrame(room, member, JSON.parse(data.toString()).nonce));
      else if (kind === 'hush' && startsWith(data, WELCOME_PREFIX)) joined();
      else if (kind === 'socketio' && data[0] === 0x30) ws.send('40');
      else if (kind === 'socketio' && data[0] === 0x34 && data[1] === 0x30) joined();
    });
  });
}

/** PROTOCOL.md §1 enc(): each part as a 4-byte big-endian length and its UTF-8 bytes. */
const enc = (...parts) => Buffer.concat(parts.flatMap((p) => {
  const bytes = Buffer.from(String(p));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return [len, bytes];
}));
const doorKeys = new Map();

/** A member's hello answering this connection's challenge: the room's door key signs the nonce and the fp (PROTOCOL.md §5.6). */
function helloFrame(room, member, nonce) {
  let key = doorKeys.get(room.roomId);
  if (key === undefined) doorKeys.set(room.roomId, (key = createPrivateKey({ key: Buffer.from(room.door.pkcs8, 'base64url'), format: 'der', type: 'pkcs8' })));
  const { hello, fp } = room.hellos[member];
  const sig = sign(null, enc('v1/door', room.roomId, nonce, fp), key).toString('base64url');
  return `{"t":"hello","hello":${hello},"door":{"pub":"${room.door.pub}","sig":"${sig}"}}`;
}

function startsWith(buf, prefix) {
  if (buf.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

/** One frame from the server on a load connection. */
function onFrame(d, data) {
  if (ph === null || !startsWith(data, MSG_PREFIX[d.kind])) return;
  const at = performance.now();
  const pos = data.indexOf(MSGID_KEY);
  const code = pos < 0 ? undefined : codeOf.get(data.toString('latin1', pos + MSGID_KEY.length, pos + MSGID_KEY.length + MSG_ID_LEN));
  if (code === undefined) { ph.strays += 1; return; }
  const P = fx.perSender;
  const k = code % P;
  const member = Math.floor(code / P) % fx.members;
  const roomIdx = Math.floor(code / (P * fx.members));
  if (roomIdx !== d.roomIdx) { ph.strays += 1; return; }
  const s = grid[roomIdx][member];
  let j = d.pairNext[member];
  // A skipped index is a message that never came (or came out of order).
  while (j < s.sent && j % P !== k) { j += 1; ph.skipped += 1; }
  if (j >= s.sent) { ph.strays += 1; return; }
  d.pairNext[member] = j + 1;
  ph.received += 1;
  const sentAt = s.sendTimes.a[j];
  if (sentAt >= ph.w0 && sentAt < ph.w1) ph.latency.push(at - sentAt);
  if (ph.closedLoop && s === d && at < ph.stopAt) send(s);
}

function send(s) {
  const j = s.sent;
  s.sendTimes.set(j, performance.now());
  s.sent = j + 1;
  ph.sent += 1;
  // Hush's uploads are binary frames; everything else is text.
  s.ws.send(s.pool[j % fx.perSender], { binary: s.kind === 'hush' });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Starts a phase: counters reset, every load connection's stream starts at message 0. */
function beginPhase(closedLoop) {
  const conns = sets.load;
  for (const c of conns) { c.sent = 0; c.pairNext.fill(0); }
  ph = { closedLoop, sent: 0, received: 0, skipped: 0, strays: 0, latency: new Grow(1 << 16), w0: Infinity, w1: Infinity, stopAt: Infinity, closesAtStart: unexpectedCloses };
}

/**
 * Snapshot at the start and end of the measured window. `serverPids`: the
 * server's processes (one, or every node of a cluster); `balancerPids`: what
 * stands between (HAProxy), accounted apart.
 */
function mark(serverPids, balancerPids) {
  const server = serverPids.map(cpuSplitUs);
  const serverEach = server.map((c) => c.user + c.system);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  return {
    at: performance.now(),
    server: sum(serverEach),
    serverUser: sum(server.map((c) => c.user)),
    serverEach,
    balancer: sum(balancerPids.map(cpuUs)),
    self: process.cpuUsage(),
    machine: machineBusyUs(),
    received: ph.received,
    sent: ph.sent,
  };
}

async function endPhase(start, end, drainS) {
  const conns = sets.load;
  const deadline = performance.now() + drainS * 1000;
  const expected = () => ph.sent * fx.members;
  while (ph.received < expected() && performance.now() < deadline) await sleep(50);
  const windowMs = end.at - start.at;
  const delivered = end.received - start.received;
  const selfUs = (end.self.user - start.self.user) + (end.self.system - start.self.system);
  const lat = ph.latency.a.subarray(0, ph.latency.n).sort();
  const perSenderMax = Math.max(...conns.map((c) => c.sent));
  const result = {
    sent: ph.sent,
    expected: expected(),
    received: ph.received,
    lost: expected() - ph.received,
    skipped: ph.skipped,
    strays: ph.strays,
    unexpectedCloses: unexpectedCloses - ph.closesAtStart,
    closeReasons: closeReasons.splice(0),
    windowS: windowMs / 1000,
    offeredPerS: ((end.sent - start.sent) * 1000) / windowMs,
    deliveredInWindow: delivered,
    deliveriesPerS: (delivered * 1000) / windowMs,
    serverCpuUs: end.server - start.server,
    serverCpuUsPerDelivery: (end.server - start.server) / delivered,
    serverUserUsPerDelivery: (end.serverUser - start.serverUser) / delivered,
    serverBusy: (end.server - start.server) / (windowMs * 1000),
    serverBusyEach: end.serverEach.map((us, i) => (us - start.serverEach[i]) / (windowMs * 1000)),
    balancerCpuUsPerDelivery: (end.balancer - start.balancer) / delivered,
    balancerBusy: (end.balancer - start.balancer) / (windowMs * 1000),
    loadCpuUsPerDelivery: selfUs / delivered,
    loadBusy: selfUs / (windowMs * 1000),
    // Everything else the machine did meanwhile (other processes, kernel), in cores: interference.
    otherBusy: ((end.machine - start.machine) - (end.server - start.server) - (end.balancer - start.balancer) - selfUs) / (windowMs * 1000),
    latencyMs: { n: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? NaN },
    maxSentPerSender: perSenderMax,
    envelopesReused: perSenderMax > fx.perSender,
  };
  ph = null;
  return result;
}

const handlers = {
  setup({ fixturesPath }) {
    fx = JSON.parse(readFileSync(fixturesPath, 'utf8'));
    fx.perSender = fx.load[0].pools[0].length;
    fx.load.forEach((room, r) => room.pools.forEach((pool, m) => pool.forEach((frame, k) => {
      const id = /"msgId":"([A-Za-z0-9_-]{21})"/.exec(Buffer.from(frame, 'base64').toString('latin1'))[1];
      codeOf.set(id, (r * fx.members + m) * fx.perSender + k);
    })));
    return { rooms: fx.load.length, members: fx.members, perSender: fx.perSender, idleRooms: fx.idle.length };
  },

  /**
   * Opens every connection of a set and joins its room, `parallel` at a time,
   * from the local addresses `from` in turn (default 127.0.0.1).
   */
  async connect({ kind, port, set, parallel = 64, from = ['127.0.0.1'] }) {
    const t0 = performance.now();
    const rooms = fx[set];
    const todo = [];
    rooms.forEach((_, r) => { for (let m = 0; m < fx.members; m++) todo.push([r, m]); });
    const out = new Array(todo.length);
    let next = 0;
    let failure = null;
    const worker = async () => {
      while (next < todo.length && failure === null) {
        const i = next++;
        const [r, m] = todo[i];
        try {
          out[i] = await open(kind, port, set, r, m, from[i % from.length]);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    sets[set] = out.filter(Boolean);
    if (failure !== null) throw new Error(`${set}: ${sets[set].length}/${todo.length} joined; ${failure.message}`);
    if (set === 'load') {
      grid = rooms.map((_, r) => out.slice(r * fx.members, (r + 1) * fx.members));
      const f = frames(kind);
      for (const c of sets.load) c.pool = f[c.roomIdx][c.member];
    }
    return { connections: out.length, ms: performance.now() - t0 };
  },

  async close({ set }) {
    const conns = sets[set];
    sets[set] = [];
    await Promise.all(conns.map((c) => new Promise((resolve) => {
      c.closing = true;
      if (c.ws.readyState === WebSocket.CLOSED) return resolve();
      const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      c.ws.once('close', () => { clearTimeout(timer); resolve(); });
      c.ws.terminate();
    })));
    return { closed: conns.length };
  },

  /** Open loop: `rate` messages per second in all, round-robin over every member. */
  async fixed({ rate, warmupS, measureS, drainS, serverPids, balancerPids = [] }) {
    beginPhase(false);
    const conns = sets.load;
    const t = performance.now();
    const w0 = t + warmupS * 1000;
    const w1 = w0 + measureS * 1000;
    let j = 0;
    let start = null;
    let end = null;
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        if (start === null && now >= w0) { start = mark(serverPids, balancerPids); ph.w0 = start.at; }
        if (now >= w1) {
          end = mark(serverPids, balancerPids);
          ph.w1 = end.at;
          clearInterval(timer);
          resolve();
          return;
        }
        while (t + (j * 1000) / rate <= now) send(conns[j++ % conns.length]);
      }, 1);
    });
    return endPhase(start, end, drainS);
  },

  /** Closed loop: every member keeps `window` messages in flight (the next goes when its own echo is back). */
  async saturate({ window, warmupS, measureS, drainS, serverPids, balancerPids = [] }) {
    beginPhase(true);
    for (let i = 0; i < window; i++) for (const c of sets.load) send(c);
    await sleep(warmupS * 1000);
    const start = mark(serverPids, balancerPids);
    ph.w0 = start.at;
    await sleep(measureS * 1000);
    const end = mark(serverPids, balancerPids);
    ph.w1 = end.at;
    ph.stopAt = end.at;
    return endPhase(start, end, drainS);
  },
};

process.on('message', async (msg) => {
  try {
    const result = await handlers[msg.cmd](msg);
    process.send({ id: msg.id, result });
  } catch (err) {
    process.send({ id: msg.id, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
