/**
 * Hush in every engine a person may use: Chromium, Firefox ESR and WebKitGTK
 * (issue 17). The same specs run in each (driver.ts); where a room needs a
 * second person, that person is in Chromium, so each engine is checked
 * against another one. Every spec ends by asserting that no page reported an
 * error.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/server';
import { ENGINES, launch, type Engine, type EngineName, type Tab } from './driver';
import { codesSeenBy, inviteLink, join, messages, send, THIRTY_DIGITS, waitForRoster } from './room';

/** Enough joins from one address for every spec in this file on one server. */
const ROOMY = { JOIN_BURST: '200', JOINS_PER_MIN: '600' };

let server: RunningServer;
const launched = new Map<EngineName, Promise<Engine>>();
/** Each engine is started once for the whole file, when a spec first needs it. */
const engine = (name: EngineName): Promise<Engine> => {
  let e = launched.get(name);
  if (e === undefined) launched.set(name, (e = launch(name)));
  return e;
};
let tabs: Tab[] = [];
const open = async (name: EngineName, url: string): Promise<Tab> => {
  const tab = await (await engine(name)).open(url);
  tabs.push(tab);
  return tab;
};
/** Fails the spec if any of these pages reported an error. */
const expectNoErrors = async (...these: Tab[]) => {
  for (const tab of these) expect(await tab.errors(), `errors in ${tab.engine}`).toEqual([]);
};

beforeAll(async () => {
  server = await startServer(ROOMY);
});
afterEach(async () => {
  for (const tab of tabs) await tab.close();
  tabs = [];
});
afterAll(async () => {
  for (const e of launched.values()) await (await e).close();
  await server.stop();
});

describe.each(ENGINES)('in %s', (name) => {
  it('a member joins by link, sees everyone with a 30-digit code, talks both ways with a Chromium member, and a leave updates the other rosters', async () => {
    const bob = await open('chromium', `${server.origin}/`);
    await join(bob, 'Bob');
    const link = await inviteLink(bob);
    expect(link).toMatch(/#[A-Za-z0-9_-]{43}$/);
    const alice = await open(name, link);
    await join(alice, 'Alice');
    const carol = await open('chromium', link);
    await join(carol, 'Carol');

    const codes = await codesSeenBy(alice, 3);
    expect(Object.keys(codes).sort()).toEqual(['Alice', 'Bob', 'Carol']);
    for (const code of Object.values(codes)) expect(code).toMatch(THIRTY_DIGITS);
    expect(await codesSeenBy(bob, 3)).toEqual(codes);

    await send(alice, `hello from ${name}`);
    await bob.waitForText(`hello from ${name}`, '[role=log]');
    await send(bob, 'hello from Chromium');
    expect(await messages(alice, 2)).toEqual([`Alice: hello from ${name}`, 'Bob: hello from Chromium']);
    expect(await messages(bob, 2)).toEqual([`Alice: hello from ${name}`, 'Bob: hello from Chromium']);

    // A leave seen by this engine, then this engine's own leave seen by the others.
    await carol.click('Leave');
    await waitForRoster(alice, 2);
    await alice.waitForText('Carol left.', '[role=log]');
    await alice.click('Leave');
    await alice.waitForText('You left the room.');
    await waitForRoster(bob, 1);
    await bob.waitForText('Alice left.', '[role=log]');
    await expectNoErrors(alice, bob, carol);
  });

  it('opens a link whose first door seed starts with a zero byte (WebKitGTK refuses such an Ed25519 key) and talks with a Chromium member', async () => {
    // Secret 131: HKDF(S, "v1/door-key") starts with 00, so the door seed is the next one (PROTOCOL.md §2).
    const link = `${server.origin}/#AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIM`;
    const alice = await open(name, link);
    await join(alice, 'Alice');
    const bob = await open('chromium', link);
    await join(bob, 'Bob');
    await waitForRoster(alice, 2);
    await send(alice, `hello from ${name}`);
    await bob.waitForText(`hello from ${name}`, '[role=log]');
    await send(bob, 'hello from Chromium');
    expect(await messages(alice, 2)).toEqual([`Alice: hello from ${name}`, 'Bob: hello from Chromium']);
    await expectNoErrors(alice, bob);
  });

  it('"I compared this code" marks that member verified in this tab only', async () => {
    const alice = await open(name, `${server.origin}/`);
    await join(alice, 'Alice');
    const bob = await open('chromium', await inviteLink(alice));
    await join(bob, 'Bob');
    await waitForRoster(alice, 2);
    await alice.waitForText('Not verified', '.roster');

    await alice.click('I compared the code of Bob');
    await alice.waitForText('Verified by you', '.roster');
    await alice.waitForText('Everyone here is verified ✓');
    expect(await alice.evaluate(() => document.querySelector('.roster li[data-trust=verified] .name')?.textContent, null)).toBe('Bob');
    // Bob has verified no one: Alice is still "Not verified" to him.
    await bob.waitForText('Not verified', '.roster');
    expect(await bob.text('.roster')).not.toContain('Verified by you');
    await expectNoErrors(alice, bob);
  });

  it('19. markup in a name and a message is shown as text and runs nothing', async () => {
    const evilName = '<img src=x onerror="window.__pwned=1">';
    const evilBody = '<img src=y onerror="window.__pwned=2"><b onmouseover="window.__pwned=3">bold?</b>';
    const alice = await open(name, `${server.origin}/`);
    await join(alice, evilName);
    const bob = await open('chromium', await inviteLink(alice));
    await join(bob, 'Bob');
    await send(alice, evilBody);
    await bob.waitForText(evilBody, '[role=log]');
    await send(bob, evilName);
    await alice.waitForText(evilName, '[role=log]');
    for (const tab of [alice, bob]) {
      expect(await tab.text('.roster')).toContain(evilName);
      expect(await tab.evaluate(() => document.querySelectorAll('[role=log] img, [role=log] b, .roster img').length, null)).toBe(0);
      expect(await tab.evaluate(() => (window as unknown as { __pwned?: number }).__pwned ?? null, null)).toBeNull();
    }
    await expectNoErrors(alice, bob);
  });

  it('outside a secure context the page says why encryption cannot start', async () => {
    const url = (await engine(name)).insecureUrl(server.origin);
    const tab = await open(name, url);
    await tab.waitForText('Encryption cannot start', '[role=alert]');
    expect(await tab.evaluate(() => [window.isSecureContext, typeof crypto.subtle], null)).toEqual([false, 'undefined']);
    expect(await tab.text('[role=alert]')).toContain(`Encryption cannot start: ${new URL(url).origin} is not a secure context`);
    expect(await tab.text('main')).toContain('Open Hush over https://, or on the computer that runs it at http://localhost.');
    expect(await tab.evaluate(() => document.querySelector('input#name') === null, null)).toBe(true);
    // Chromium notes that it ignores COOP on an untrustworthy origin; nothing else may be logged.
    expect((await tab.errors()).filter((e) => !e.includes('Cross-Origin-Opener-Policy'))).toEqual([]);
  });

  it('where Notification, Trusted Types and the clipboard are missing, the room works and nothing throws', async (ctx) => {
    const e = await engine(name);
    // Classic WebDriver cannot remove an API before the page runs; WebKitGTK has all three (checked below).
    if (!e.hasInitScripts) {
      const tab = await open(name, `${server.origin}/`);
      expect(await tab.evaluate(() => [typeof Notification, typeof (window as unknown as { trustedTypes?: object }).trustedTypes, typeof navigator.clipboard?.writeText], null))
        .toEqual(['function', 'object', 'function']);
      ctx.skip();
    }
    const tab = await e.open(`${server.origin}/`, {
      init: `delete window.Notification;
        Object.defineProperty(window, 'trustedTypes', { value: undefined, configurable: true });
        Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined, configurable: true });`,
    });
    tabs.push(tab);
    expect(await tab.evaluate(() => [typeof Notification, typeof (window as unknown as { trustedTypes?: object }).trustedTypes, typeof navigator.clipboard], null))
      .toEqual(['undefined', 'undefined', 'undefined']);
    await join(tab, 'Alice');
    await codesSeenBy(tab, 1);
    // No notifications to offer: no button that would fail.
    expect(await tab.evaluate(() => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Notify me'), null)).toBe(false);
    await tab.click('Copy link');
    await tab.waitForText('Copy failed: select the link below');
    // The failed copy opened the link panel for copying by hand; close it to reach the roster.
    await tab.click('Link QR');
    await tab.click('Copy my code');
    await send(tab, 'still here');
    expect(await messages(tab, 1)).toEqual(['Alice: still here']);
    await expectNoErrors(tab);
  });
});

describe('a mixed room', () => {
  it('one member per engine: every tab shows the same safety code for the same member, and hears everyone', async () => {
    const [first, ...rest] = ENGINES;
    const members = new Map<EngineName, Tab>();
    const alice = await open(first, `${server.origin}/`);
    await join(alice, `Member in ${first}`);
    members.set(first, alice);
    const link = await inviteLink(alice);
    for (const name of rest) {
      const tab = await open(name, link);
      await join(tab, `Member in ${name}`);
      members.set(name, tab);
    }
    const seen = await Promise.all([...members.values()].map((tab) => codesSeenBy(tab, ENGINES.length)));
    expect(Object.keys(seen[0] ?? {}).sort()).toEqual(ENGINES.map((n) => `Member in ${n}`).sort());
    for (const codes of seen) expect(codes).toEqual(seen[0]);

    for (const [name, tab] of members) await send(tab, `written in ${name}`);
    for (const tab of members.values()) {
      expect((await messages(tab, ENGINES.length)).sort()).toEqual(ENGINES.map((n) => `Member in ${n}: written in ${n}`).sort());
    }
    await expectNoErrors(...members.values());
  });
});
