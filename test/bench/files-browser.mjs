// Files in Chromium (part of the files benchmark): two real pages of the app
// in one room, each in its own browser context (so its own renderer process).
// The sender attaches a random file with the file chooser; the run ends when
// the receiver's card says it is received and checked and the sender's card
// says it was delivered. Measured over that span, from just before the file
// is chosen: each page's renderer CPU (utime + stime of the renderer process,
// every thread: WebCrypto runs off the main thread), each page's main-thread
// task time (CDP Performance.getMetrics TaskDuration, wall time of its tasks), the CPU of the
// browser's other processes (browser, network service: shared by both pages)
// and the wall time. Reported, not asserted.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';

const MIB = 2 ** 20;
export const BROWSER_FILE_MIB = Number(process.env.BENCH_BROWSER_FILE_MIB || 32);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const CLK_TCK = 100;
const TIMEOUT_MS = 300_000;
const RECEIVED = 'Received and checked.';
const DELIVERED = 'Sent to 1 of 1.';
const NAME = 'bench.bin';

/** pid → { ppid, cpuMs } for every process, and the cmdline reader. */
function processes() {
  const out = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(Number(entry), { ppid: Number(f[1]), cpuMs: ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1000 });
    } catch { /* gone meanwhile */ }
  }
  return out;
}
const cmdline = (pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } };

/** This process's Chromium processes (descendants of it: other Chromiums on the machine are not counted). */
function ourChromium() {
  const all = processes();
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of all) if (!mine.has(pid) && mine.has(p.ppid)) { mine.add(pid); grew = true; }
  }
  mine.delete(process.pid);
  const out = new Map();
  for (const pid of mine) {
    const line = cmdline(pid);
    if (!line.includes('chrom')) continue;
    out.set(pid, { cpuMs: all.get(pid).cpuMs, renderer: line.includes('--type=renderer') });
  }
  return out;
}
const renderers = () => new Set([...ourChromium()].filter(([, p]) => p.renderer).map(([pid]) => pid));

/** In a page: resolves when the card of `name` shows `text` in its status. */
const CARD_SAYS = ([name, text]) => new Promise((resolve) => {
  const check = () => {
    const card = [...document.querySelectorAll('[role="group"]')].find((g) => g.getAttribute('aria-label') === name);
    const status = card?.querySelector('[role="status"]')?.textContent ?? '';
    if (status !== text) return false;
    obs.disconnect();
    resolve(performance.timeOrigin + performance.now());
    return true;
  };
  const obs = new MutationObserver(check);
  obs.observe(document.body, { childList: true, subtree: true, characterData: true });
  check();
});

/** In a page: resolves when the roster lists `n` members with their safety codes. */
const ROSTER_OF = (n) => new Promise((resolve) => {
  const check = () => {
    if (document.querySelectorAll('[aria-label="Participants"] li').length !== n || document.querySelector('[aria-label="Participants"] .code.pending') !== null) return;
    obs.disconnect();
    resolve(true);
  };
  const obs = new MutationObserver(check);
  obs.observe(document.body, { childList: true, subtree: true, characterData: true });
  check();
});

const withTimeout = (promise, what) => Promise.race([
  promise,
  new Promise((_, reject) => setTimeout(() => reject(new Error(`files in Chromium: ${what} took longer than ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS).unref()),
]);

/** A page in its own context, joined as `name`; returns it with its renderer pid and a CDP session. */
async function openPage(browser, url, name) {
  const before = renderers();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.getByLabel('Your name').fill(name);
  await page.locator('form.join button[type=submit]').click();
  await page.locator('[aria-label="Participants"] li').first().waitFor();
  // Chromium also starts a spare renderer and may keep the one of about:blank: of the new ones, the
  // page's is the one whose CPU time grows most while the page spins for a second (tried up to 3 times:
  // a spare starting up meanwhile can blur one try).
  const fresh = [...renderers()].filter((pid) => !before.has(pid));
  const cpuOf = () => { const all = ourChromium(); return fresh.map((pid) => all.get(pid)?.cpuMs ?? 0); };
  let grew = [];
  const isClear = () => grew.length > 0 && grew[0].ms >= 100 && (grew.length === 1 || grew[0].ms >= 2 * grew[1].ms);
  for (let attempt = 0; attempt < 3 && !isClear(); attempt++) {
    const a = cpuOf();
    await page.evaluate(() => { const end = performance.now() + 1000; while (performance.now() < end); });
    grew = cpuOf().map((x, k) => ({ pid: fresh[k], ms: x - a[k] })).sort((x, y) => y.ms - x.ms);
  }
  if (!isClear()) throw new Error(`files in Chromium: cannot tell ${name}'s renderer process (new renderers' CPU while it spun, ms: ${grew.map((r) => r.ms).join(', ')})`);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  return { context, page, pid: grew[0].pid, cdp };
}

const taskMs = async (cdp) => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value * 1000;

/** One transfer of BROWSER_FILE_MIB from one page to another, through a fresh Hush server from `startHush`. */
export async function runBrowserFilesBench(startHush, log = console.log) {
  const dir = mkdtempSync(join(tmpdir(), 'hush-bench-files-browser-'));
  const server = await startHush();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  try {
    log(`files: ${BROWSER_FILE_MIB} MiB from one Chromium page to another…`);
    // Playwright caps a file given as a buffer at 50 MB: the page gets it from disk.
    const path = join(dir, NAME);
    writeFileSync(path, randomBytes(BROWSER_FILE_MIB * MIB));
    const secret = randomBytes(32).toString('base64url');
    const url = `${server.origin}/#${secret}`;
    const sender = await openPage(browser, url, 'Sender');
    const receiver = await openPage(browser, url, 'Receiver');
    await withTimeout(Promise.all([sender, receiver].map((p) => p.page.evaluate(ROSTER_OF, 2))), 'joining');
    // Let the joins' key and safety-code work finish before measuring.
    await new Promise((r) => setTimeout(r, 1000));

    const chooser = sender.page.waitForEvent('filechooser');
    await sender.page.getByRole('button', { name: 'Attach file' }).click();
    const fileChooser = await chooser;
    const received = receiver.page.evaluate(CARD_SAYS, [NAME, RECEIVED]);
    const cpu0 = ourChromium();
    const task0 = [await taskMs(sender.cdp), await taskMs(receiver.cdp)];
    const t0 = Date.now();
    await fileChooser.setFiles(path);
    const receivedAt = await withTimeout(received, 'the transfer');
    await withTimeout(sender.page.evaluate(CARD_SAYS, [NAME, DELIVERED]), 'the delivery notice');
    const wallMs = Date.now() - t0;
    const cpu1 = ourChromium();
    const task1 = [await taskMs(sender.cdp), await taskMs(receiver.cdp)];
    const delta = (pid) => (cpu1.get(pid)?.cpuMs ?? NaN) - (cpu0.get(pid)?.cpuMs ?? NaN);
    let otherMs = 0;
    for (const [pid, p] of cpu1) if (pid !== sender.pid && pid !== receiver.pid) otherMs += p.cpuMs - (cpu0.get(pid)?.cpuMs ?? 0);
    const result = {
      mib: BROWSER_FILE_MIB,
      chromium: browser.version(),
      wallMs,
      toReceivedMs: receivedAt - t0,
      mibPerS: BROWSER_FILE_MIB / ((receivedAt - t0) / 1000),
      senderCpuMsPerMib: delta(sender.pid) / BROWSER_FILE_MIB,
      receiverCpuMsPerMib: delta(receiver.pid) / BROWSER_FILE_MIB,
      senderMainMsPerMib: (task1[0] - task0[0]) / BROWSER_FILE_MIB,
      receiverMainMsPerMib: (task1[1] - task0[1]) / BROWSER_FILE_MIB,
      otherCpuMsPerMib: otherMs / BROWSER_FILE_MIB,
    };
    log(`  ${result.mibPerS.toFixed(1)} MiB/s; renderer CPU ms/MiB: sender ${result.senderCpuMsPerMib.toFixed(1)}, receiver ${result.receiverCpuMsPerMib.toFixed(1)}`);
    return result;
  } finally {
    await browser.close().catch(() => {});
    server.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
