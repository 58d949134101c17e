/**
 * What a member (anyone with the link) must not be able to do to the others'
 * pages (issue #13): stop them with one entry, freeze them with link text, or
 * pass for a verified member with a look-alike name. Real Chromium, real server.
 */
import type { Browser, Page } from '@playwright/test';
import { expect, inviteLink, log, openIn, roster, send, test, type Person } from './fixtures';

/** The largest body the server relays (4,000 bytes): a link followed by closing brackets it never opened. */
const BRACKET_FLOOD = 'https://a.bc/' + ')'.repeat(3986);
/** Past 8.64e15 ms a JavaScript Date is invalid: formatting one as ISO throws a RangeError. */
const BEYOND_DATES_MS = 8.7e15;

const entry = (page: Page, label: string) => roster(page).getByRole('listitem').filter({ hasText: label });

/**
 * A person whose page stamps what it sends with `BEYOND_DATES_MS` while
 * `window.farClock` is set: a member with a broken (or hostile) clock, whose
 * messages are still validly signed.
 */
async function openWithFarClock(browser: Browser, url: string, name: string): Promise<Person> {
  const context = await browser.newContext();
  await context.addInitScript((far) => {
    const realNow = Date.now.bind(Date);
    const w = window as unknown as { farClock?: boolean };
    Date.now = () => (w.farClock === true ? far : realNow());
  }, BEYOND_DATES_MS);
  return openIn(context, url, name);
}

test('a message stamped past the last date a browser can hold does not stop anyone’s page', async ({ browser, server, open }) => {
  const bob = await open(`${server.origin}/`, 'Bob');
  const mallory = await openWithFarClock(browser, await inviteLink(bob.page), 'Mallory');
  await expect(roster(bob.page).getByRole('listitem')).toHaveCount(2);
  // The far clock only while the message is stamped: a page whose every clock read is off would not stay online.
  await mallory.page.getByLabel('Message').fill('stamped in the year 277,000');
  await mallory.page.evaluate(() => {
    const w = window as unknown as { farClock?: boolean };
    w.farClock = true;
    document.querySelector<HTMLFormElement>('form.composer')?.requestSubmit();
    setTimeout(() => { w.farClock = false; }, 20);
  });
  // Mallory's own page shows her message at once, before any check: without a time, since none can be shown.
  const far = log(mallory.page).locator('.message').filter({ hasText: 'stamped in the year 277,000' });
  await expect(far).toBeVisible();
  await expect(far.locator('time')).toHaveCount(0);
  // The relay refuses the frame (its time is out of bounds) and closes Mallory's connection, saying why; she can come back.
  await expect(mallory.page.locator('.connection')).toContainText('Disconnected');
  await mallory.page.getByRole('button', { name: 'Join again' }).click();
  await send(mallory, 'and this one has a normal time');
  await expect(log(bob.page)).toContainText('and this one has a normal time');
  await send(bob, 'Bob can still write');
  for (const p of [bob, mallory]) {
    await expect(log(p.page)).toContainText('Bob can still write');
    expect(p.errors.filter((e) => !/WebSocket connection to .* failed/.test(e))).toEqual([]);
  }
  await expect(log(bob.page)).not.toContainText('stamped in the year 277,000');
});

test('an entry whose rendering fails is one line saying so, and the conversation goes on', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const bob = await open(await inviteLink(alice.page), 'Bob');
  await expect(roster(bob.page).getByRole('listitem')).toHaveCount(2);
  await send(alice, 'before');
  await expect(log(bob.page)).toContainText('before');
  // No test hook in the app: Bob's browser itself is made to fail while rendering one text.
  await bob.page.evaluate(() => {
    const matchAll = String.prototype.matchAll;
    String.prototype.matchAll = function (this: string, pattern: RegExp) {
      if (this.includes('render-trap')) throw new TypeError('simulated rendering failure');
      return matchAll.call(this, pattern);
    } as typeof matchAll;
  });
  await send(alice, 'render-trap');
  await expect(log(bob.page).getByText('This entry could not be shown.')).toBeVisible();
  await send(alice, 'after');
  await expect(log(bob.page)).toContainText('after');
  await expect(log(bob.page)).toContainText('before');
  await expect(log(bob.page)).not.toContainText('render-trap');
  expect(bob.errors).toEqual([]);
});

test('ten messages of link text with 3,986 closing brackets neither freeze the page nor delay the next message', async ({ server, open }) => {
  test.setTimeout(90_000);
  const alice = await open(`${server.origin}/`, 'Alice');
  const bob = await open(await inviteLink(alice.page), 'Bob');
  await expect(roster(bob.page).getByRole('listitem')).toHaveCount(2);
  for (let i = 0; i < 10; i++) await send(alice, BRACKET_FLOOD);
  await expect(log(bob.page).getByRole('link', { name: 'https://a.bc/' })).toHaveCount(10, { timeout: 60_000 });

  // The room renders again every second: watch three of those renders for long tasks.
  await bob.page.evaluate(() => {
    const w = window as unknown as { longest: number };
    w.longest = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longest = Math.max(w.longest, e.duration);
    }).observe({ type: 'longtask' });
  });
  await bob.page.waitForTimeout(3_000);
  const longest = await bob.page.evaluate(() => (window as unknown as { longest: number }).longest);
  expect(longest).toBeLessThan(200);

  const started = Date.now();
  await send(alice, 'is anyone there?');
  await expect(log(bob.page)).toContainText('is anyone there?', { timeout: 5_000 });
  expect(Date.now() - started).toBeLessThan(1_000);
  expect([...alice.errors, ...bob.errors]).toEqual([]);
});

test('a look-alike name never passes for a verified member: labels, notes and each message’s trust say who is who', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  const bob = await open(link, 'Bob');
  await expect(roster(bob.page).getByRole('listitem')).toHaveCount(2);
  await bob.page.getByRole('button', { name: 'I compared the code of Alice' }).click();
  await expect(entry(bob.page, 'Alice')).toContainText('Verified by you');

  // "Аlice" with a Cyrillic А, then "Alice" with a word joiner, which the join form strips (so it is plain "Alice").
  const cyrillic = await open(link, '\u0410lice');
  const joiner = await open(link);
  await joiner.page.getByLabel('Your name').fill('Alice\u2060');
  await joiner.page.getByRole('button', { name: 'Join' }).click();
  await expect(roster(bob.page).getByRole('listitem')).toHaveCount(4);
  const labels = await roster(bob.page).locator('.name').allTextContents();
  const alikes = labels.filter((l) => l !== 'Bob');
  expect(alikes).toHaveLength(3);
  for (const l of alikes) expect(l).toMatch(/^(Alice|\u0410lice) #[0-9A-Za-z_-]{5,}$/);
  expect(new Set(alikes).size).toBe(3);
  expect(labels.join('')).not.toContain('\u2060');
  await expect(roster(bob.page).locator('.look-alike')).toHaveCount(3);
  await expect(roster(bob.page).locator('.look-alike').first()).toHaveText(/only tells them apart, it is not a check/);
  await expect(roster(bob.page).locator('li[data-trust="verified"]')).toHaveCount(1);

  await send(alice, 'it is me');
  await send(cyrillic, 'it is me, really');
  await send(joiner, 'no, it is me');
  const lines = log(bob.page).locator('.message');
  await expect(lines).toHaveCount(3);
  const trustOf = (body: string) => lines.filter({ has: bob.page.locator('.body', { hasText: new RegExp(`^${body}$`) }) }).locator('.trust');
  await expect(trustOf('it is me')).toHaveText('✓ verified');
  await expect(trustOf('it is me, really')).toHaveText('not verified');
  await expect(trustOf('no, it is me')).toHaveText('not verified');
  const senders = await lines.locator('.sender').allTextContents();
  expect(new Set(senders).size).toBe(3);
  // The suffix explains itself where it is shown, and never as proof.
  await expect(lines.first().locator('.sender')).toHaveAttribute('title', /not proof of who they are/);
  for (const p of [alice, bob, cyrillic, joiner]) expect(p.errors).toEqual([]);
});

test('a name of invisible characters is refused at the door, with the reason', async ({ server, open }) => {
  const carol = await open(`${server.origin}/`);
  await carol.page.getByLabel('Your name').fill('\u2060\u200b \u3164');
  await expect(carol.page.getByRole('alert')).toHaveText('A name needs at least one visible character.');
  await expect(carol.page.getByRole('button', { name: 'Join' })).toBeDisabled();
  await carol.page.getByLabel('Your name').fill(' Carol\u202e ');
  await expect(carol.page.getByRole('alert')).toHaveCount(0);
  await carol.page.getByRole('button', { name: 'Join' }).click();
  await expect(roster(carol.page).locator('.name')).toHaveText(['Carol']);
});

test('the emoji are labelled a quick check, and verifying is tied to the digits', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const bob = await open(await inviteLink(alice.page), 'Bob');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  await expect(entry(alice.page, 'Bob').getByLabel(/^Emoji quick check: /)).toBeVisible();
  await expect(entry(alice.page, 'Bob').locator('.quick')).toHaveText('quick check');
  await expect(alice.page.locator('.roster .how')).toContainText('compare all 30 digits');
  await expect(alice.page.locator('.roster .how')).toContainText('The emoji are a quick check only');
  await expect(alice.page.getByRole('button', { name: 'I compared the code of Bob' })).toHaveAttribute('title', /All 30 digits/);
  expect(bob.errors).toEqual([]);
});
