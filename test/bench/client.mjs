// Client side, in headless Chromium against a real Hush server:
//   - join: page load → in the room (Join pressed as soon as the page is
//     usable), Join → in the room with keys made while the name is typed, and
//     the time until the own safety code shows;
//   - per message, in rooms of 2, 10 and 50 members: two browser tabs (the
//     sender and a receiver) and, beyond them, members in Node made with the
//     client core (real identities and hellos; they stay in the room, sign one
//     roster statement, and otherwise only drain what they are sent). In the
//     tabs: send → frame on the wire, send → own echo shown, arrival of the
//     frame → shown in the receiver, and send → shown in the other tab.
// Times come from in-page performance.now() (+ timeOrigin across tabs) and a
// MutationObserver, so they end when the DOM shows the result.
// Run through run.mjs (`npm run bench`); alone: `node test/bench/client.mjs`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from '@playwright/test';
import WebSocket from 'ws';
import { nanoid } from 'nanoid';
import { HUSH_LOAD_ENV, startServer } from './servers.mjs';
import { waitMachineQuiet } from './proc.mjs';
import { fullEnvelope } from './fixtures.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const STEP_TIMEOUT_MS = 60_000;
const MESSAGE_TIMEOUT_MS = 15_000;
const MESSAGE_CHARS = 100;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const withTimeout = (promise, ms, what) => Promise.race([
  promise,
  new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms).unref()),
]);

export function chromiumVersion() {
  try {
    return execFileSync(CHROMIUM, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'Chromium (version unknown)';
  }
}

/**
 * In the page: click Join; resolve when the own roster entry and its safety
 * code have appeared (the code may already be there when the room shows).
 */
const JOIN_AND_TIME = () => new Promise((resolve) => {
  const start = performance.now();
  let rosterAt = null;
  const check = () => {
    const li = document.querySelector('[aria-label="Participants"] li');
    if (li && rosterAt === null) rosterAt = performance.now();
    const code = li?.querySelector('.code')?.textContent ?? '';
    if (/^\d{5}( \d{5}){5}$/.test(code.replace(/\s+/g, ' ').trim())) {
      obs.disconnect();
      const codeAt = performance.now();
      // rosterAt is also ms since navigation start: page load → in the room.
      resolve({ clickMs: rosterAt - start, sinceLoadMs: rosterAt, codeSinceClickMs: codeAt - start });
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(document.body, { childList: true, subtree: true, characterData: true });
  document.querySelector('form.join button[type=submit]').click();
});

/** In the page: one safety code as client/crypto.ts computes it (libsignal: 5200 × SHA-512 via crypto.subtle), in ms. */
const ONE_SAFETY_CODE = async () => {
  const key = crypto.getRandomValues(new Uint8Array(422 + 91));
  const id = crypto.getRandomValues(new Uint8Array(16));
  const start = performance.now();
  const first = new Uint8Array(2 + key.length + id.length + key.length);
  first.set(key, 2);
  first.set(id, 2 + key.length);
  first.set(key, 2 + key.length + id.length);
  let hash = new Uint8Array(await crypto.subtle.digest('SHA-512', first));
  const next = new Uint8Array(hash.length + key.length);
  next.set(key, hash.length);
  for (let i = 1; i < 5200; i++) {
    next.set(hash);
    hash = new Uint8Array(await crypto.subtle.digest('SHA-512', next));
  }
  return performance.now() - start;
};

/**
 * Before any page script: note when a message frame leaves (send) and when
 * one arrives (onmessage, before the app sees it), in epoch ms.
 */
const INSTRUMENT = () => {
  const now = () => performance.timeOrigin + performance.now();
  const isMsg = (data) => typeof data === 'string' && data.startsWith('{"t":"msg"');
  // A message upload is a binary frame whose first byte is 3 (PROTOCOL.md §4.3).
  const isUpload = (data) => ArrayBuffer.isView(data) && data.byteLength > 0 && new Uint8Array(data.buffer, data.byteOffset, 1)[0] === 3;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function benchSend(data) {
    if (isUpload(data)) { window.__benchSentAt = now(); window.__benchSentBytes = data.byteLength; }
    return send.call(this, data);
  };
  const desc = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
  Object.defineProperty(WebSocket.prototype, 'onmessage', {
    configurable: true,
    get() { return desc.get.call(this); },
    set(fn) {
      desc.set.call(this, fn === null ? null : function benchOnMessage(event) {
        if (isMsg(event.data)) { window.__benchArrivedAt = now(); window.__benchArrivedBytes = event.data.length; }
        return fn.call(this, event);
      });
    },
  });
  const add = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function benchAdd(type, fn, options) {
    if (type !== 'message' || typeof fn !== 'function') return add.call(this, type, fn, options);
    return add.call(this, type, function benchListener(event) {
      if (isMsg(event.data)) { window.__benchArrivedAt = now(); window.__benchArrivedBytes = event.data.length; }
      return fn.call(this, event);
    }, options);
  };
};

/** In the receiving tab: arm an observer that resolves when `text` is the last message shown. */
const ARM_RECEIVER = (text) => {
  const now = () => performance.timeOrigin + performance.now();
  window.__benchShown = new Promise((resolve) => {
    const timeline = document.querySelector('.timeline');
    const check = () => {
      const items = timeline.querySelectorAll('li.message');
      const li = items[items.length - 1];
      if (li?.querySelector('.body')?.textContent !== text) return;
      obs.disconnect();
      resolve({ arrivedAt: window.__benchArrivedAt, arrivedBytes: window.__benchArrivedBytes, shownAt: now() });
    };
    const obs = new MutationObserver(check);
    obs.observe(timeline, { childList: true, subtree: true, characterData: true });
  });
};

/**
 * In a tab: the median time of one RSA-OAEP-3072 unwrap of a 32-byte key, the
 * private-key operation each received message needs (check 10), alone, with a
 * key made here: the part of "frame arrives → shown" that is the machine's
 * RSA speed, measured in the same run.
 */
const TIME_UNWRAP = async (count) => {
  const rsa = { name: 'RSA-OAEP', hash: 'SHA-256', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]) };
  const pair = await crypto.subtle.generateKey(rsa, false, ['encrypt', 'decrypt']);
  const wrap = await crypto.subtle.encrypt({ name: 'RSA-OAEP' }, pair.publicKey, crypto.getRandomValues(new Uint8Array(32)));
  const ms = [];
  for (let i = 0; i < count + 2; i++) {
    const start = performance.now();
    await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, pair.privateKey, wrap);
    if (i >= 2) ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  return ms[ms.length >> 1];
};

/** In the sending tab: type `text`, press Send, resolve when its own echo (not pending) is shown. */
const SEND_AND_TIME = async (text) => {
  const now = () => performance.timeOrigin + performance.now();
  const box = document.querySelector('#message');
  const button = document.querySelector('form.composer button[type=submit]');
  Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(box, text);
  box.dispatchEvent(new Event('input', { bubbles: true }));
  for (let i = 0; i < 200 && button.disabled; i++) await new Promise((r) => setTimeout(r, 1));
  const timeline = document.querySelector('.timeline');
  return new Promise((resolve) => {
    let pendingAt = null;
    const check = () => {
      const items = timeline.querySelectorAll('li.message.own');
      const li = items[items.length - 1];
      if (li?.querySelector('.body')?.textContent !== text) return;
      if (li.classList.contains('pending')) { pendingAt ??= now(); return; }
      obs.disconnect();
      resolve({ sendAt, pendingAt, wireAt: window.__benchSentAt, wireBytes: window.__benchSentBytes, echoAt: now() });
    };
    const obs = new MutationObserver(check);
    obs.observe(timeline, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['class'] });
    const sendAt = now();
    button.click();
  });
};

/** In a tab: resolves when the roster lists `n` members, each with a computed safety code. */
const ROSTER_READY = (n) => new Promise((resolve) => {
  const check = () => {
    const items = document.querySelectorAll('[aria-label="Participants"] li');
    if (items.length === n && document.querySelectorAll('[aria-label="Participants"] .code.pending').length === 0) {
      obs.disconnect();
      resolve(true);
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(document.body, { childList: true, subtree: true, characterData: true });
  check();
});

const fpOf = (core, hello) => core.fingerprintWith((data) => createHash('sha256').update(data).digest(), hello);

/**
 * A member in Node: a real identity and hello, over a real socket. It keeps
 * the member list from welcome/join/leave frames and ignores everything else.
 */
async function joinNodeMember(core, origin, keys, identity, name) {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/ws/${keys.roomId}`, { perMessageDeflate: false });
  const fps = new Set([identity.fp]);
  let welcomed;
  const welcome = new Promise((resolve, reject) => {
    welcomed = resolve;
    ws.once('error', reject);
    ws.once('close', (code, reason) => reject(new Error(`node member closed: ${code} ${reason}`)));
  });
  ws.on('message', (data) => {
    const head = data.subarray(0, 16).toString();
    if (!head.startsWith('{"t":"welcome') && !head.startsWith('{"t":"join') && !head.startsWith('{"t":"leave')) return;
    const frame = JSON.parse(data.toString());
    if (frame.t === 'welcome') { for (const h of frame.members) fps.add(fpOf(core, h)); welcomed(); }
    if (frame.t === 'join') fps.add(fpOf(core, frame.hello));
    if (frame.t === 'leave') fps.delete(frame.fp);
  });
  // The server's first frame is its challenge; the hello's door signs its nonce.
  const { nonce } = await new Promise((resolve, reject) => { ws.once('message', (data) => resolve(JSON.parse(data.toString()))); ws.once('error', reject); });
  ws.send(JSON.stringify({ t: 'hello', hello: await core.makeHello(keys, identity, name), door: await core.signDoor(keys, nonce, identity.fp) }));
  await withTimeout(welcome, STEP_TIMEOUT_MS, 'node member welcome');
  return {
    fps,
    state: async () => ws.send(JSON.stringify({ t: 'roster', rc: await core.signRosterConfirm(keys, identity, 1, 0, [...fps]) })),
    close: () => new Promise((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', resolve);
      ws.close(1000);
      setTimeout(() => { ws.terminate(); resolve(); }, 2000).unref();
    }),
  };
}

async function openTab(browser, url, name) {
  const context = await browser.newContext();
  await context.addInitScript(INSTRUMENT);
  const page = await context.newPage();
  await page.goto(url);
  await page.getByLabel('Your name').fill(name);
  await page.locator('form.join button[type=submit]').click();
  return { context, page };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
export const stats = (xs) => ({ n: xs.length, median: median(xs), p90: pct(xs, 90), min: Math.min(...xs), max: Math.max(...xs) });

async function measureJoins(browser, origin, runs, log) {
  const warm = { click: [], code: [], oneCode: [] };
  const cold = { click: [], sinceLoad: [], beforeClick: [] };
  for (let i = 0; i < runs; i++) {
    for (const mode of ['warm', 'cold']) {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${origin}/`);
        await page.getByLabel('Your name').fill(`Bench ${i}`);
        // warm: a person takes a moment to type, so keys are ready; cold: Join the instant the page is usable.
        if (mode === 'warm') await page.waitForTimeout(1500);
        const t = await withTimeout(page.evaluate(JOIN_AND_TIME), STEP_TIMEOUT_MS, 'join');
        if (mode === 'warm') {
          warm.click.push(t.clickMs);
          warm.code.push(t.codeSinceClickMs);
          warm.oneCode.push(await page.evaluate(ONE_SAFETY_CODE));
        } else { cold.click.push(t.clickMs); cold.sinceLoad.push(t.sinceLoadMs); cold.beforeClick.push(t.sinceLoadMs - t.clickMs); }
      } finally {
        await context.close();
      }
    }
  }
  log(`  joins: page load → in the room median ${median(cold.sinceLoad).toFixed(0)} ms; Join → in the room (keys ready) ${median(warm.click).toFixed(0)} ms`);
  return { warmClick: stats(warm.click), warmCode: stats(warm.code), oneCode: stats(warm.oneCode), coldClick: stats(cold.click), coldSinceLoad: stats(cold.sinceLoad), coldBeforeClick: stats(cold.beforeClick) };
}

/**
 * A message of MESSAGE_CHARS for `n` members as one frame with every wrap
 * inside the envelope (the format before per-member delivery), sealed by the
 * client core: the size every member was sent then.
 */
async function fullFrameBytes(core, keys, identities, n) {
  const ids = [...identities.slice(0, n), ...(await Promise.all(Array.from({ length: Math.max(0, n - identities.length) }, () => core.generateIdentity())))];
  const peers = await Promise.all(ids.map((id) => core.importPeerKeys(id.encSpki, id.sigSpki)));
  const sealed = await core.sealMessage(keys, ids[0], { msgId: nanoid(), seq: 1, ts: Date.now(), body: '.'.repeat(MESSAGE_CHARS) }, peers);
  return JSON.stringify({ t: 'msg', env: fullEnvelope(sealed) }).length;
}

async function measureRoom(browser, core, origin, identities, n, messages, warmup, log) {
  const secret = core.randomBytes(32);
  const keys = await core.deriveRoomKeys(secret);
  const url = `${origin}/#${core.toB64u(secret)}`;
  const nodeCount = n - 2;
  if (identities.length < nodeCount) throw new Error(`a room of ${n} needs ${nodeCount} Node identities`);
  const members = [];
  const tabs = [];
  try {
    for (let i = 0; i < nodeCount; i++) members.push(await joinNodeMember(core, origin, keys, identities[i], `Node ${i + 1}`));
    tabs.push(await openTab(browser, url, 'Sender'), await openTab(browser, url, 'Receiver'));
    const [sender, receiver] = tabs.map((t) => t.page);
    await withTimeout(Promise.all(tabs.map((t) => t.page.evaluate(ROSTER_READY, n))), STEP_TIMEOUT_MS, `roster of ${n}`);
    for (const m of members) await m.state();
    await sleep(1000);
    const sealMs = [];
    const echoMs = [];
    const receiveMs = [];
    const endToEndMs = [];
    const receivedBytes = [];
    const uploadBytes = [];
    for (let i = 0; i < warmup + messages; i++) {
      // 100 characters, the size the per-member targets are stated for.
      const text = `bench ${n}/${i} ${nanoid(8)} `.padEnd(MESSAGE_CHARS, '.');
      await receiver.evaluate(ARM_RECEIVER, text);
      const sent = await withTimeout(sender.evaluate(SEND_AND_TIME, text), MESSAGE_TIMEOUT_MS, `own echo in a room of ${n}`);
      const got = await withTimeout(receiver.evaluate(() => window.__benchShown), MESSAGE_TIMEOUT_MS, `message in the other tab, room of ${n}`);
      if (i >= warmup) {
        sealMs.push(sent.wireAt - sent.sendAt);
        echoMs.push(sent.echoAt - sent.sendAt);
        receiveMs.push(got.shownAt - got.arrivedAt);
        endToEndMs.push(got.shownAt - sent.sendAt);
        receivedBytes.push(got.arrivedBytes);
        uploadBytes.push(sent.wireBytes);
      }
      await sleep(100);
    }
    const bytes = { received: median(receivedBytes), upload: median(uploadBytes), full: await fullFrameBytes(core, keys, identities, n) };
    // In the receiving tab, once the messages are done: nothing else is running there.
    const unwrapMs = await receiver.evaluate(TIME_UNWRAP, 20);
    const out = { n, seal: stats(sealMs), echo: stats(echoMs), receive: stats(receiveMs), endToEnd: stats(endToEndMs), unwrapMs, bytes };
    log(`  room of ${n}: send → own echo ${out.echo.median.toFixed(1)} ms, arrival → shown ${out.receive.median.toFixed(1)} ms (one RSA unwrap alone ${unwrapMs.toFixed(2)} ms), send → other tab ${out.endToEnd.median.toFixed(1)} ms (medians); ${bytes.received} B per delivery`);
    return out;
  } finally {
    for (const t of tabs) await t.context.close().catch(() => {});
    await Promise.all(members.map((m) => m.close()));
  }
}

/**
 * Runs the client measurements against a fresh Hush server (its per-address
 * limits raised: every member here shares 127.0.0.1).
 */
export async function runClientBench({ core, identities, quietWaitS = 20, runs = 10, roomSizes = [2, 10, 50], messages = 20, warmup = 3, log = console.log }) {
  const server = await startServer('hush', { env: HUSH_LOAD_ENV });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  try {
    await waitMachineQuiet({ maxMs: quietWaitS * 1000 });
    const joins = await measureJoins(browser, `http://127.0.0.1:${server.port}`, runs, log);
    const rooms = [];
    for (const n of roomSizes) {
      await waitMachineQuiet({ maxMs: quietWaitS * 1000 });
      rooms.push(await measureRoom(browser, core, `http://127.0.0.1:${server.port}`, identities, n, messages, warmup, log));
    }
    return { joins, rooms, runs, messages, chromium: chromiumVersion(), bundle: bundleSizes() };
  } finally {
    await browser.close().catch(() => {});
    await server.stop();
  }
}

export function bundleSizes() {
  const root = fileURLToPath(new URL('../../static/', import.meta.url));
  const js = readFileSync(`${root}app.js`);
  const css = readFileSync(`${root}app.css`);
  return { js: js.length, jsGzip: gzipSync(js).length, css: css.length, cssGzip: gzipSync(css).length };
}

// Alone: `node build.mjs && node test/bench/client.mjs` prints the client figures only.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { loadCore } = await import('./core.mjs');
  const { makeIdentities } = await import('./fixtures.mjs');
  const core = await loadCore();
  const identities = await makeIdentities(core, 48);
  const result = await runClientBench({ core, identities, runs: Number(process.env.BENCH_RUNS || 10) });
  console.log(JSON.stringify(result, null, 2));
}
