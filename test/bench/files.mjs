// Files benchmark (BENCH_ONLY=files, and part of `npm run bench`): a 100 MiB
// file through the real server to 1 and to 9 receivers on loopback, with
// Node members that run the client core (client/room.ts, client/files.ts:
// the same code the page runs, bundled with esbuild). The sender runs in this
// process, the receivers in one child process, the server in its own, so each
// one's CPU is its own. Every member connects from its own loopback address
// (127.0.0.2, …) and the server runs with its default limits.
//
// Reported, not asserted: MiB/s per receiver, server CPU per MiB relayed,
// server peak RSS growth during the transfer, sender and receiver CPU per MiB.
// Then the same in Chromium (files-browser.mjs): one page sends a file to
// another, each page's renderer CPU per MiB and MiB/s.
//
// `node test/bench/files.mjs` runs it alone (after `node build.mjs`).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { runBrowserFilesBench } from './files-browser.mjs';
import { importBundled } from './core.mjs';
import { NODE_FLAGS } from '../../deploy/node-flags.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const MIB = 2 ** 20;
const FILE_MIB = Number(process.env.BENCH_FILE_MIB || 100);
const CLK_TCK = 100;

const loadClient = () =>
  importBundled("export { RoomSession } from './client/room.ts'; export { bytesSource } from './client/files.ts'; export { deriveRoomKeys, generateIdentity } from './client/crypto.ts';", 'files');

/** One member: a RoomSession on a `ws` socket from `address`, binary frames to its files. */
async function joinMember(client, origin, secret, name, address) {
  const keys = await client.deriveRoomKeys(secret);
  const identity = await client.generateIdentity();
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/ws/${keys.roomId}`, { localAddress: address });
  const session = new client.RoomSession(keys, identity, name, (f) => ws.send(f), { sendBinary: (f) => ws.send(f) });
  let isFirst = true;
  // Listening before 'open' resolves anything: the challenge can come in the same read as the upgrade.
  ws.on('message', (data, isBinary) => {
    if (isBinary) return void session.receiveBinary(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (isFirst) {
      isFirst = false;
      return void session.start(JSON.parse(data.toString()).nonce).catch((err) => console.error('files bench: join failed:', err));
    }
    void session.receive(data.toString());
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return { session, ws, fp: identity.fp };
}

const fileOf = (session) => session.view().timeline.find((e) => e.kind === 'file')?.transfer;
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

/** Child mode: `count` receivers; prints one JSON line per event; exits when stdin closes. */
async function receivers(origin, secretHex, count, firstAddress) {
  const client = await loadClient();
  const secret = Buffer.from(secretHex, 'hex');
  const members = [];
  for (let i = 0; i < count; i++) members.push(await joinMember(client, origin, secret, `R${i}`, `127.0.0.${firstAddress + i}`));
  const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
  say({ event: 'ready' });
  let cpuAtOffer = null;
  const done = new Set();
  const timer = setInterval(() => {
    members.forEach((m, i) => {
      const t = fileOf(m.session);
      if (t !== undefined && cpuAtOffer === null) cpuAtOffer = cpuMs();
      if (t === undefined || done.has(i) || t.isFinished === false) return;
      done.add(i);
      say({ event: 'done', i, status: t.status, at: Date.now(), cpuMs: cpuMs() - (cpuAtOffer ?? 0) });
    });
  }, 5);
  process.stdin.resume();
  process.stdin.once('end', () => { clearInterval(timer); for (const m of members) m.ws.close(1000); setTimeout(() => process.exit(0), 100); });
}

function startHush() {
  const child = spawn(process.execPath, [...NODE_FLAGS, 'dist/server.js'], { cwd: ROOT, env: { ...process.env, HOST: '127.0.0.1', PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start')), 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      const port = /"event":"listening".*"port":(\d+)/.exec(out)?.[1];
      if (port === undefined) return;
      clearTimeout(timer);
      resolve({ child, origin: `http://127.0.0.1:${port}`, output: () => out });
    });
  });
}

const procStat = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1000;
};
const rssOf = (pid) => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;

/** One run: a FILE_MIB file from a sender to `count` receivers. */
async function run(client, count) {
  const server = await startHush();
  const pid = server.child.pid;
  const secret = randomBytes(32);
  try {
    const sender = await joinMember(client, server.origin, secret, 'S', '127.0.0.2');
    const child = spawn(process.execPath, [SELF, 'receivers', server.origin, secret.toString('hex'), String(count), '3'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const events = [];
    const waiters = [];
    createInterface({ input: child.stdout }).on('line', (line) => { events.push(JSON.parse(line)); waiters.splice(0).forEach((w) => w()); });
    const until = async (pred, ms = 300_000) => {
      const deadline = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error('files bench: timed out');
        await new Promise((r) => { waiters.push(r); setTimeout(r, 50); });
      }
    };
    await until(() => events.some((e) => e.event === 'ready'));
    const deadline = Date.now() + 30_000;
    while (sender.session.view().members.length < count + 1) {
      if (Date.now() > deadline) throw new Error('files bench: members did not all join');
      await new Promise((r) => setTimeout(r, 20));
    }
    const data = randomBytes(FILE_MIB * MIB);
    const rssBefore = rssOf(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rssOf(pid)); }, 20);
    const senderCpu0 = cpuMs();
    const t0 = performance.now();
    await sender.session.sendFile(client.bytesSource(new Uint8Array(data.buffer, data.byteOffset, data.length), 'bench.bin'));
    const sealMs = performance.now() - t0;
    const offeredAt = Date.now();
    const serverCpu0 = procStat(pid);
    await until(() => events.filter((e) => e.event === 'done').length === count);
    const serverCpuMs = procStat(pid) - serverCpu0;
    const senderCpuMs = cpuMs() - senderCpu0;
    clearInterval(sampler);
    const done = events.filter((e) => e.event === 'done');
    const perReceiver = done.map((e) => FILE_MIB / ((e.at - offeredAt) / 1000));
    child.stdin.end();
    sender.ws.close(1000);
    const refused = (server.output().match(/"event":"refused"/g) ?? []).length;
    return {
      receivers: count,
      ok: done.every((e) => e.status === 'complete'),
      sealMs,
      mibPerSReceiverMean: perReceiver.reduce((a, b) => a + b, 0) / count,
      mibPerSReceiverMin: Math.min(...perReceiver),
      serverCpuMsPerMib: serverCpuMs / (FILE_MIB * count),
      serverRssGrowthMib: (rssPeak - rssBefore) / MIB,
      senderCpuMsPerMib: senderCpuMs / (FILE_MIB * count),
      // The child runs every receiver: its CPU until the last one finished, per MiB received.
      receiverCpuMsPerMib: Math.max(...done.map((e) => e.cpuMs)) / (FILE_MIB * count),
      refused,
    };
  } finally {
    server.child.kill('SIGTERM');
  }
}

export const FILES_TITLE = `## Files (${FILE_MIB} MiB through the relay, Node clients running the client core)`;

export function filesTable(results) {
  const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const node = results.filter((r) => r.receivers !== undefined);
  const b = results.find((r) => r.browser !== undefined)?.browser;
  const lines = [
    '| Receivers | MiB/s per receiver (mean, slowest) | seal (encrypt + hash) | server CPU ms/MiB relayed | server peak RSS growth | sender CPU ms/MiB sent | receiver CPU ms/MiB | all complete, refusals |',
    '|---|---|---|---|---|---|---|---|',
    ...node.map((r) => `| ${r.receivers} | ${f(r.mibPerSReceiverMean)}, ${f(r.mibPerSReceiverMin)} | ${f(r.sealMs / 1000, 2)} s | ${f(r.serverCpuMsPerMib, 2)} | ${f(r.serverRssGrowthMib)} MiB | ${f(r.senderCpuMsPerMib, 2)} | ${f(r.receiverCpuMsPerMib, 2)} | ${r.ok ? 'yes' : 'NO'}, ${r.refused} |`),
  ];
  if (b === undefined) return lines.join('\n');
  return [
    ...lines,
    '',
    `### In Chromium: a ${b.mib} MiB random file from one page to another (Chromium ${b.chromium}, headless)`,
    '',
    'Two pages of the app in one room, each in its own browser context and so its own renderer process. The sender attaches the file with the file chooser;',
    `measured from just before the file is chosen until the receiver's card says "Received and checked." and the sender's says "Sent to 1 of 1.".`,
    'Renderer CPU: utime + stime of that page\'s renderer process (/proc), all its threads (WebCrypto runs off the main thread); in brackets, main-thread task time (CDP Performance.getMetrics TaskDuration:',
    'wall time of its tasks, so under load it can exceed the CPU time).',
    'The other Chromium processes (browser, network service) serve both pages.',
    '',
    '| MiB/s (file chosen → received and checked) | sender renderer CPU ms/MiB (main-thread tasks) | receiver renderer CPU ms/MiB (main-thread tasks) | other Chromium processes CPU ms/MiB | wall time until the sender sees it delivered |',
    '|---|---|---|---|---|',
    `| ${f(b.mibPerS)} | ${f(b.senderCpuMsPerMib)} (${f(b.senderMainMsPerMib)}) | ${f(b.receiverCpuMsPerMib)} (${f(b.receiverMainMsPerMib)}) | ${f(b.otherCpuMsPerMib)} | ${f(b.wallMs / 1000, 2)} s |`,
  ].join('\n');
}

export async function runFilesBench(log = console.log) {
  const client = await loadClient();
  const results = [];
  for (const count of [1, 9]) {
    log(`files: ${FILE_MIB} MiB to ${count} receiver(s)…`);
    results.push(await run(client, count));
  }
  if (process.env.BENCH_FILES_BROWSER !== '0') results.push({ browser: await runBrowserFilesBench(startHush, log) });
  return results;
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === 'receivers') {
    const [origin, secretHex, count, first] = process.argv.slice(3);
    await receivers(origin, secretHex, Number(count), Number(first));
  } else {
    const results = await runFilesBench();
    console.log(`\n${FILES_TITLE}\n\n${filesTable(results)}`);
    process.exit(0);
  }
}
