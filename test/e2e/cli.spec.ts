/**
 * The terminal client (issue #18), spawned as a person or a script runs it,
 * in one room with a Chromium member: both ways, the same safety codes, the
 * page's notices through a hostile relay, TLS, and the example bot.
 */
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hello } from '../../client/protocol';
import { groupDigits } from '../../client/verify';
import { relayForgery } from '../support/forge';
import { startHostileRelay } from '../support/hostile-relay';
import { startServer } from '../support/server';
import { expect, inviteLink, log, messages, roster, send, test } from './fixtures';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HUSH_JS = joinPath(ROOT, 'dist/hush.js');

interface JsonEvent {
  type: string;
  [key: string]: unknown;
}
interface RosterMember {
  label: string;
  fp: string;
  isSelf: boolean;
  trust: string;
  code: string | null;
}

/** A spawned process, with what it printed so far and its exit code once it ends. */
class Spawned {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  events(): JsonEvent[] {
    return this.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as JsonEvent);
  }

  lastRoster(): RosterMember[] {
    const rosters = this.events().filter((e) => e.type === 'roster');
    return (rosters.at(-1)?.members ?? []) as RosterMember[];
  }

  command(c: Record<string, string>): void {
    this.child.stdin.write(`${JSON.stringify(c)}\n`);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

const spawned: Spawned[] = [];
function run(args: string[], env: Record<string, string> = {}): Spawned {
  const p = new Spawned(spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] }));
  spawned.push(p);
  return p;
}
const hush = (link: string, name: string, extra: string[] = []) => run([HUSH_JS, 'join', link, '--name', name, '--json', ...extra]);
test.afterEach(() => {
  for (const p of spawned.splice(0)) p.kill();
});

const codeOf = (members: RosterMember[], label: string) => members.find((m) => m.label === label)?.code ?? null;

/** Stderr carries connection state only: none of the room's secrets or content. */
function expectNothingSecret(stderr: string, link: string, secrets: string[]): void {
  expect(stderr).not.toContain(new URL(link).hash.slice(1));
  for (const s of secrets) expect(stderr).not.toContain(s);
  for (const line of stderr.trim().split('\n')) expect(line).toMatch(/^hush: /);
}

test('a terminal member and a browser member talk both ways and see the same safety codes', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  const bob = hush(link, 'Bob');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);

  // Each side's code of each member, computed separately, must be the same 30 digits.
  await expect.poll(() => bob.lastRoster().every((m) => m.code !== null) && bob.lastRoster().length === 2).toBe(true);
  const codes = bob.lastRoster();
  const entry = (label: string) => roster(alice.page).getByRole('listitem').filter({ hasText: label });
  for (const label of ['Alice', 'Bob']) {
    const digits = codeOf(codes, label) ?? '';
    expect(digits).toMatch(/^\d{30}$/);
    await expect(entry(label).locator('.code')).toHaveText(groupDigits(digits));
  }

  await send(alice, 'hello terminal');
  await expect.poll(() => bob.events().find((e) => e.type === 'message' && e.body === 'hello terminal')).toMatchObject({ from: 'Alice', trust: 'unverified', isOwn: false });
  bob.command({ type: 'send', body: 'hello browser' });
  await expect.poll(() => messages(alice.page)).toContain('Bob: hello browser');

  // After comparing codes, Bob marks Alice verified: her next message carries the mark.
  bob.command({ type: 'verify', name: 'Alice' });
  await expect.poll(() => bob.events().find((e) => e.type === 'verified')).toMatchObject({ label: 'Alice' });
  await send(alice, 'now verified');
  await expect.poll(() => bob.events().find((e) => e.type === 'message' && e.body === 'now verified')).toMatchObject({ trust: 'verified' });

  // Leaving closes with 1000, and the page says so.
  const closesBefore = server.output().split('\n').filter((l) => l.includes('"event":"close"')).length;
  bob.command({ type: 'leave' });
  expect(await bob.exited).toBe(0);
  await expect(log(alice.page)).toContainText('Bob left.');
  const closes = server.output().split('\n').filter((l) => l.includes('"event":"close"')).slice(closesBefore);
  expect(closes).toHaveLength(1);
  expect(closes[0]).toContain('"code":1000');
  expectNothingSecret(bob.stderr, link, ['Alice', 'Bob', 'hello terminal', 'hello browser', 'now verified']);
});

test('typed lines are sent, /me as the page sends it, and Ctrl-C leaves cleanly', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  const bob = run([HUSH_JS, 'join', link, '--name', 'Bob']);
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  // The roster: each member, the 30 digits in six groups, and the trust state in words.
  await expect.poll(() => bob.stdout).toMatch(/\? Alice +\d{5}( \d{5}){5} .* not verified/);
  expect(bob.stdout).toMatch(/Bob \(you\) +\d{5}( \d{5}){5} /);

  bob.child.stdin.write('plain words\n/me waves\n');
  await expect.poll(() => messages(alice.page)).toEqual(['Bob: plain words', '* Bob: waves']);
  await expect(log(alice.page)).toContainText('* Bob waves');
  await send(alice, 'seen in the terminal');
  await expect.poll(() => bob.stdout).toMatch(/\d\d:\d\d \? Alice: seen in the terminal/);

  bob.child.kill('SIGINT');
  expect(await bob.exited).toBe(0);
  await expect(log(alice.page)).toContainText('Bob left.');
  expectNothingSecret(bob.stderr, link, ['Alice', 'Bob', 'plain words', 'waves', 'seen in the terminal']);
});

test('the terminal shows the page\'s notice when the relay forges a message, and never the forgery', async ({ server, open }) => {
  const relay = await startHostileRelay(server.origin);
  try {
    const hellos: Hello[] = [];
    relay.toServer = (_conn, frame) => {
      const f = JSON.parse(frame) as { t: string; hello?: Hello };
      if (f.hello !== undefined) hellos.push(f.hello);
      return frame;
    };
    const alice = await open(`${relay.origin}/`, 'Alice');
    const link = await inviteLink(alice.page);
    const bob = hush(link, 'Bob');
    await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
    await expect.poll(() => bob.lastRoster().length).toBe(2);

    relay.conns[1]?.inject(await relayForgery(link, hellos, relay.conns[0]?.fp ?? '', relay.conns[1]?.fp ?? '', 'forgedInTheTerminal01', 'wire the money'));

    await expect.poll(() => bob.events().filter((e) => e.type === 'notice').map((e) => e.text))
      .toContain('A message claiming to be from Alice failed verification and was blocked.');
    expect(bob.stdout).not.toContain('wire the money');
    expect(bob.events().filter((e) => e.type === 'message')).toEqual([]);
  } finally {
    await relay.close();
  }
});

test('the example bot answers a browser\'s /roll', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const bot = run([joinPath(ROOT, 'examples/echo-bot.mjs')], { HUSH_LINK: await inviteLink(alice.page) });
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  // The page sends a leading slash with "//".
  await send(alice, '//roll');
  await expect.poll(() => messages(alice.page)).toEqual(['Alice: /roll', expect.stringMatching(/^Dice: 🎲 Alice rolled [1-6]$/)]);
  bot.child.kill('SIGTERM');
  expect(await bot.exited).toBe(0);
  await expect(log(alice.page)).toContainText('Dice left.');
});

test('a link to another machine over http:// is refused, and the refusal does not repeat the link', async () => {
  const link = `http://chat.example.org/#${'A'.repeat(43)}`;
  const p = hush(link, 'Bob');
  expect(await p.exited).toBe(2);
  expect(p.stderr).toContain('refusing an http:// link to another machine');
  expect(p.stderr).not.toContain('A'.repeat(43));
  expect(p.stdout).toBe('');
});

test.describe('over TLS', () => {
  let dir = '';
  test.beforeAll(() => {
    dir = mkdtempSync(joinPath(tmpdir(), 'hush-cli-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', joinPath(dir, 'key.pem'), '-out', joinPath(dir, 'cert.pem')], { stdio: 'ignore' });
  });
  test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the terminal joins through wss:// when given the certificate, and says why not without it', async ({ browser }) => {
    const tls = await startServer({ TLS_CERT: joinPath(dir, 'cert.pem'), TLS_KEY: joinPath(dir, 'key.pem') });
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`${tls.origin}/`);
      await page.getByLabel('Your name').fill('Alice');
      await page.getByRole('button', { name: 'Join' }).click();
      const link = await inviteLink(page);
      expect(link).toMatch(/^https:/);

      const untrusting = hush(link, 'Mallory');
      expect(await untrusting.exited).toBe(1);
      expect(untrusting.stderr).toContain("the server's certificate is not trusted");

      const bob = hush(link, 'Bob', ['--ca', joinPath(dir, 'cert.pem')]);
      await expect(roster(page).getByRole('listitem')).toHaveCount(2);
      bob.command({ type: 'send', body: 'over wss' });
      await expect(log(page)).toContainText('over wss');
      await context.close();
    } finally {
      await tls.stop();
    }
  });
});
