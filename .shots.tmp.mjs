// Temporary screenshot script (not part of the repo; deleted at the end).
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
const out = process.argv[2] ?? '/tmp/shots';
const child = spawn(process.execPath, ['dist/server.js'], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((res) => { let buf = ''; child.stdout.on('data', (d) => { buf += d; const m = /"port":(\d+)/.exec(buf); if (m) res(Number(m[1])); }); });
const origin = `http://127.0.0.1:${port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const a = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await a.goto(`${origin}/`);
  const link = a.url();
  await a.getByLabel('Your name').fill('Alice');
  await a.getByRole('button', { name: 'Join' }).click();
  await a.getByRole('list', { name: 'Participants' }).getByText('Alice').waitFor();
  const b = await (await browser.newContext()).newPage();
  await b.goto(link);
  await b.getByLabel('Your name').fill('Bob');
  await b.getByRole('button', { name: 'Join' }).click();
  await a.getByRole('list', { name: 'Participants' }).getByText('Bob').waitFor();
  const say = async (p, t) => { await p.getByLabel('Message').fill(t); await p.keyboard.press('Enter'); await p.waitForTimeout(300); };
  await say(a, 'Hi Bob! The notes are at https://example.org/notes?id=42 — have a look.');
  await say(b, '/me waves');
  await say(b, 'Got it, thanks. Reading now.\nSecond line here.');
  await say(a, 'A long word: Pneumonoultramicroscopicsilicovolcanoconiosis_and_more_text_without_spaces_to_break_layout');
  for (const scheme of ['light', 'dark']) {
    for (const width of [360, 1280]) {
      const ctx = await browser.newContext({ viewport: { width, height: width === 360 ? 740 : 800 }, colorScheme: scheme });
      const p = await ctx.newPage();
      await p.goto(link);
      await p.screenshot({ path: `${out}/join-${width}-${scheme}.png` });
      await p.getByLabel('Your name').fill(`Carol ${width} ${scheme}`);
      await p.getByRole('button', { name: 'Join' }).click();
      await p.waitForTimeout(2500);
      await say(a, `Welcome ${width} ${scheme}`);
      await p.waitForTimeout(500);
      await p.screenshot({ path: `${out}/room-${width}-${scheme}.png` });
      const sw = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      console.log(width, scheme, 'scrollWidth/innerWidth', sw);
      await ctx.close();
    }
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
}
