// Client-side figures in headless Chromium against the real server:
// join time (click Join → own roster entry), time until the own safety code
// shows, and the bundle size. Run with `npm run bench` (it builds first).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import { chromium } from '@playwright/test';

const RUNS = Number(process.env.BENCH_RUNS || 10);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function startServer() {
  const child = spawn(process.execPath, ['dist/server.js'], { env: { ...process.env, HOST: '127.0.0.1', PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /"event":"listening".*"port":(\d+)/.exec(out);
      if (m) resolve({ child, origin: `http://127.0.0.1:${m[1]}` });
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

/** In the page: click Join, resolve when the own roster entry and then its code appear. */
const JOIN_AND_TIME = () => new Promise((resolve) => {
  const start = performance.now();
  let rosterMs = null;
  const check = () => {
    const li = document.querySelector('[aria-label="Participants"] li');
    if (li && rosterMs === null) rosterMs = performance.now() - start;
    const code = li?.querySelector('.code')?.textContent ?? '';
    if (/^\d{5}( \d{5}){5}$/.test(code)) {
      obs.disconnect();
      resolve({ rosterMs, codeMs: performance.now() - start - rosterMs });
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(document.body, { childList: true, subtree: true, characterData: true });
  document.querySelector('form.join button[type=submit]').click();
});

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (ms) => `${ms.toFixed(0)} ms`;

const { child, origin } = await startServer();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
const warm = { roster: [], code: [] };
const cold = { roster: [] };
try {
  for (let i = 0; i < RUNS; i++) {
    for (const mode of ['warm', 'cold']) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      await page.getByLabel('Your name').fill(`Bench ${i}`);
      // warm: a person takes a moment to type, so keys are ready; cold: Join the instant the page is usable.
      if (mode === 'warm') await page.waitForTimeout(1500);
      const t = await page.evaluate(JOIN_AND_TIME);
      if (mode === 'warm') { warm.roster.push(t.rosterMs); warm.code.push(t.codeMs); } else cold.roster.push(t.rosterMs);
      await context.close();
    }
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
}

const js = readFileSync('static/app.js');
const css = readFileSync('static/app.css');
const version = (await import('node:child_process')).execFileSync(CHROMIUM, ['--version']).toString().trim();
const rows = [
  ['Join → roster shows you (keys made while typing), median', fmt(median(warm.roster)), `min ${fmt(Math.min(...warm.roster))}, max ${fmt(Math.max(...warm.roster))}`],
  ['Join → roster shows you (Join clicked at page load, includes RSA-3072 keygen), median', fmt(median(cold.roster)), `min ${fmt(Math.min(...cold.roster))}, max ${fmt(Math.max(...cold.roster))}`],
  ['One safety code (5200 × SHA-512), median', fmt(median(warm.code)), `min ${fmt(Math.min(...warm.code))}, max ${fmt(Math.max(...warm.code))}`],
  ['Bundle app.js raw / gzip', `${js.length} B / ${gzipSync(js).length} B`, ''],
  ['Stylesheet app.css raw / gzip', `${css.length} B / ${gzipSync(css).length} B`, ''],
];
const table = ['| measure | value | spread |', '| --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const header = `# Client benchmark\n\n${new Date().toISOString()} · ${os.cpus().length} cores · Node ${process.version} · ${version} · ${RUNS} runs each\n\nCommand: \`npm run bench\`\n`;
writeFileSync('test/bench/results.md', `${header}\n${table}\n`);
console.log(`${header}\n${table}`);
