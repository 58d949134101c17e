/**
 * A room people enjoy using (issue: invite, notify, read, on any screen).
 * Each test drives real Chromium against a real server and checks what a
 * person sees: the invite, writing and reading, attention while away, small
 * screens and both themes, and failures explained in words.
 */
import type { Browser, BrowserContext, BrowserContextOptions, Page, WebSocketRoute } from '@playwright/test';
import { freePort, startServer, type RunningServer } from '../support/server';
import { expect, inviteLink, join, log, messages, openIn, roster, send, test, type Person } from './fixtures';
import { UPLOAD_KIND } from '../../client/protocol';

/** Enough joins from one address for a whole file of tests on one server. */
const ROOMY = { JOIN_BURST: '200', JOINS_PER_MIN: '600' };
const TITLE = 'Hush — encrypted rooms';

let server: RunningServer;
test.beforeAll(async () => {
  server = await startServer(ROOMY);
});
test.afterAll(async () => {
  await server.stop();
});

/** Opens the app in a context of its own (viewport, colour scheme, init scripts), optionally joining. */
async function openWith(browser: Browser, url: string, options: BrowserContextOptions = {}, name?: string, init?: (context: BrowserContext) => Promise<unknown>): Promise<Person> {
  const context = await browser.newContext(options);
  contexts.push(context);
  await init?.(context);
  return openIn(context, url, name);
}
let contexts: BrowserContext[] = [];
test.afterEach(async () => {
  for (const c of contexts) await c.close();
  contexts = [];
});

async function pair(open: (url: string, name?: string) => Promise<Person>, origin = server.origin) {
  const alice = await open(`${origin}/`, 'Alice');
  const bob = await open(await inviteLink(alice.page), 'Bob');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  return { alice, bob };
}

/** Headless Chromium keeps every page "visible" (bringToFront changes nothing), so hiding is emulated. */
async function setVisibility(page: Page, state: 'visible' | 'hidden'): Promise<void> {
  await page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => s === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}


/** Browsers log refused WebSocket connections as errors; those are expected while a server is away. */
const unexpected = (errors: string[]) => errors.filter((e) => !/WebSocket connection to .* failed/.test(e));

test('invite: Copy link confirms and copies the full link, the QR shows it, New room opens another room', async ({ open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  expect(link).toMatch(new RegExp(`^${server.origin}/#[A-Za-z0-9_-]{43}$`));
  await alice.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
  await alice.page.getByRole('button', { name: 'Copy link' }).click();
  await expect(alice.page.getByRole('status').filter({ hasText: 'Link copied' })).toBeVisible();
  expect(await alice.page.evaluate(() => navigator.clipboard.readText())).toBe(link);

  await alice.page.getByRole('button', { name: 'Link QR' }).click();
  await expect(alice.page.getByRole('img', { name: 'QR code of the room link' })).toBeVisible();
  await expect(alice.page.getByRole('textbox', { name: 'Room link' })).toHaveValue(link);
  await alice.page.keyboard.press('Escape');
  await expect(alice.page.getByRole('textbox', { name: 'Room link' })).toHaveCount(0);
  // Escape closes it wherever the focus is, also when the composer has taken it since.
  await alice.page.getByRole('button', { name: 'Link QR' }).click();
  await expect(alice.page.getByRole('textbox', { name: 'Room link' })).toHaveValue(link);
  await alice.page.locator('#message').click();
  await expect(alice.page.locator('#message')).toBeFocused();
  await alice.page.keyboard.press('Escape');
  await expect(alice.page.getByRole('textbox', { name: 'Room link' })).toHaveCount(0);

  const newRoom = alice.page.getByRole('link', { name: 'New room' });
  await expect(newRoom).toHaveAttribute('target', '_blank');
  const [other] = await Promise.all([alice.page.context().waitForEvent('page'), newRoom.click()]);
  await expect(other.getByLabel('Your name')).toBeVisible();
  const otherLink = await inviteLink(other);
  expect(otherLink).toMatch(/#[A-Za-z0-9_-]{43}$/);
  expect(otherLink).not.toBe(link);
  // The first tab is still in its room.
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(1);

  // Another room's link pasted into a tab (only the fragment changes) opens that room.
  await other.goto(link);
  await expect.poll(() => inviteLink(other)).toBe(link);
  expect(alice.errors).toEqual([]);
});

test('the link leaves the address bar once read; a reload stays in the room; the invite keeps the full link', async ({ open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  await expect(alice.page).toHaveURL(`${server.origin}/`);
  const link = await inviteLink(alice.page);
  const bob = await open(link);
  await expect(bob.page).toHaveURL(`${server.origin}/`);
  expect(await bob.page.evaluate(() => location.href.includes('#'))).toBe(false);
  await bob.page.reload();
  await expect(bob.page).toHaveURL(`${server.origin}/`);
  bob.name = 'Bob';
  await join(bob);
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  expect(await inviteLink(bob.page)).toBe(link);
  expect([...alice.errors, ...bob.errors]).toEqual([]);
});

test('keyboard only: join with Enter, Enter sends, Shift+Enter breaks the line, /me acts, /help stays local', async ({ open }) => {
  const alice = await open(`${server.origin}/`);
  const sent: (string | Buffer)[] = [];
  alice.page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(f.payload)));
  const keys = alice.page.keyboard;
  await expect(alice.page.getByLabel('Your name')).toBeFocused();
  await keys.type('Alice');
  await keys.press('Enter');
  const box = alice.page.getByLabel('Message');
  await expect(box).toBeFocused();
  const bob = await open(await inviteLink(alice.page), 'Bob');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  await box.focus();

  await keys.type('first line');
  await keys.press('Shift+Enter');
  await keys.type('second line');
  await keys.press('Enter');
  await expect(box).toHaveValue('');
  await expect.poll(() => messages(bob.page)).toEqual(['Alice: first line\nsecond line']);

  await keys.type('/me waves');
  await keys.press('Enter');
  for (const p of [alice, bob]) await expect(log(p.page).locator('.message.action')).toHaveText(/^\* Alice waves/);

  await keys.type('/help');
  await keys.press('Enter');
  await expect(log(alice.page)).toContainText('Commands (only you see this)');
  await keys.type('/shrug');
  await keys.press('Enter');
  await expect(alice.page.getByRole('alert').filter({ hasText: 'There is no /shrug command' })).toBeVisible();
  await expect(box).toHaveValue('/shrug');

  // Everything else is reachable with Tab, and the QR opens with Enter and closes with Escape.
  const reached = new Set<string>();
  for (let i = 0; i < 30; i++) {
    await keys.press('Tab');
    reached.add(await alice.page.evaluate(() => {
      const el = document.activeElement;
      return el?.getAttribute('aria-label') ?? el?.textContent?.trim() ?? '';
    }));
  }
  for (const name of ['Copy link', 'Link QR', 'Notify me', 'New room', 'Leave', 'Conversation', 'Copy my code', 'I compared the code of Bob']) {
    expect(reached).toContain(name);
  }
  await alice.page.getByRole('button', { name: 'Link QR' }).focus();
  await keys.press('Enter');
  await expect(alice.page.getByRole('img', { name: 'QR code of the room link' })).toBeVisible();
  await keys.press('Escape');
  await expect(alice.page.getByRole('img', { name: 'QR code of the room link' })).toHaveCount(0);

  await expect(log(bob.page)).not.toContainText('Commands');
  await expect(log(bob.page)).not.toContainText('shrug');
  // Message uploads are binary frames of kind 3 (PROTOCOL.md §4.3).
  expect(sent.filter((f) => typeof f !== 'string' && f[0] === UPLOAD_KIND)).toHaveLength(2);
  expect(alice.errors).toEqual([]);
});

test('links open in a new tab without opener or referrer; nothing else becomes a link or markup', async ({ open }) => {
  const { alice, bob } = await pair(open);
  await bob.page.context().route('https://example.org/**', (route) => route.fulfill({ contentType: 'text/html', body: '<title>example</title>' }));
  const body = 'notes at https://example.org/notes?id=42, not javascript:alert(1) nor <a href="#x">fake</a> nor www.example.org';
  await send(alice, body);
  const links = log(bob.page).getByRole('link');
  await expect(log(bob.page)).toContainText(body);
  await expect(links).toHaveCount(1);
  await expect(links).toHaveText('https://example.org/notes?id=42');
  await expect(links).toHaveAttribute('href', 'https://example.org/notes?id=42');
  await expect(links).toHaveAttribute('rel', 'noopener noreferrer');
  await expect(links).toHaveAttribute('target', '_blank');
  expect(await log(bob.page).locator('a[href="#x"], b, script').count()).toBe(0);

  const [tab] = await Promise.all([bob.page.context().waitForEvent('page'), links.click()]);
  await tab.waitForLoadState();
  expect(await tab.evaluate(() => [window.opener === null, document.referrer])).toEqual([true, '']);
  expect(bob.errors).toEqual([]);
});

test('a counter shows near the limit, and a paste past it is refused with the limit stated, never cut', async ({ open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const page = alice.page;
  const box = page.getByLabel('Message');
  await box.fill('a'.repeat(3300));
  await expect(page.getByText('3300 / 4000 bytes')).toBeVisible();
  await box.fill('é'.repeat(2001));
  await expect(page.getByText('4002 / 4000 bytes — too long to send')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Send' })).toBeDisabled();

  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
  await box.fill('start ');
  await page.evaluate((t) => navigator.clipboard.writeText(t), 'é'.repeat(2500));
  await box.press('End');
  await box.press('ControlOrMeta+V');
  await expect(page.getByRole('alert')).toHaveText('Not pasted: that would make 5006 bytes, and a message holds at most 4000. Send it in parts.');
  await expect(box).toHaveValue('start ');

  await page.evaluate((t) => navigator.clipboard.writeText(t), 'short enough');
  await box.press('ControlOrMeta+V');
  await expect(box).toHaveValue('start short enough');
  expect(alice.errors).toEqual([]);
});

test('the view stays at the newest message unless the reader scrolled up, who then gets “N new”', async ({ open }) => {
  const { alice, bob } = await pair(open);
  for (let i = 1; i <= 25; i++) await send(bob, `message ${i}`);
  const last = (text: string) => log(alice.page).locator('.message').filter({ hasText: new RegExp(`${text}$`) });
  await expect(last('message 25')).toBeInViewport();
  await expect(alice.page.getByRole('log')).toHaveAttribute('aria-live', 'polite');

  await log(alice.page).evaluate((el) => el.scrollTo(0, 0));
  await send(bob, 'while you were reading');
  await send(bob, 'and one more');
  const more = alice.page.getByRole('button', { name: '2 new' });
  await expect(more).toBeVisible();
  await expect(last('and one more')).toBeAttached();
  await expect(last('and one more')).not.toBeInViewport();
  await expect(last('message 1')).toBeInViewport();

  await more.click();
  await expect(last('and one more')).toBeInViewport();
  await expect(more).toHaveCount(0);

  // Whoever writes is taken to the end, wherever they were.
  await log(alice.page).evaluate((el) => el.scrollTo(0, 0));
  await send(alice, 'my own words');
  await expect(last('my own words')).toBeInViewport();
});

test('the title counts unread messages while the tab is hidden, and clears when it is seen', async ({ open }) => {
  const { alice, bob } = await pair(open);
  await expect(bob.page).toHaveTitle(TITLE);
  await setVisibility(bob.page, 'hidden');
  await send(alice, 'one');
  await send(alice, 'two');
  await expect(bob.page).toHaveTitle(`(2) ${TITLE}`);
  await send(bob, 'my own message does not count');
  await send(alice, 'three');
  await expect(bob.page).toHaveTitle(`(3) ${TITLE}`);
  await setVisibility(bob.page, 'visible');
  await expect(bob.page).toHaveTitle(TITLE);
  await send(alice, 'seen at once');
  await expect(log(bob.page)).toContainText('seen at once');
  await expect(bob.page).toHaveTitle(TITLE);
  await expect(alice.page).toHaveTitle(TITLE);
});

test('notifications are asked for on a click, say nothing of the text unless turned on, and their absence breaks nothing', async ({ browser, open }) => {
  // A recording stand-in for the Notification API (headless Chromium shows none).
  const recordNotifications = (context: BrowserContext) => context.addInitScript(() => {
    const w = window as unknown as { shown: { title: string; body: string }[]; asked: number };
    w.shown = [];
    w.asked = 0;
    class Recorder {
      static permission: NotificationPermission = 'default';
      static requestPermission(): Promise<NotificationPermission> {
        w.asked += 1;
        Recorder.permission = 'granted';
        return Promise.resolve('granted');
      }
      onclick: (() => void) | null = null;
      constructor(title: string, options?: NotificationOptions) {
        w.shown.push({ title, body: options?.body ?? '' });
      }
      close(): void {}
    }
    Object.defineProperty(window, 'Notification', { value: Recorder, configurable: true, writable: true });
  });
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  const bob = await openWith(browser, link, {}, 'Bob', recordNotifications);
  const recorded = () => bob.page.evaluate(() => {
    const { shown, asked } = window as unknown as { shown: { title: string; body: string }[]; asked: number };
    return { shown, asked };
  });

  expect((await recorded()).asked).toBe(0);
  await bob.page.getByRole('button', { name: 'Notify me' }).click();
  await expect(bob.page.getByRole('button', { name: 'Notifying' })).toHaveAttribute('aria-pressed', 'true');
  expect((await recorded()).asked).toBe(1);

  await setVisibility(bob.page, 'hidden');
  await send(alice, 'the vault code is 7716');
  await expect.poll(async () => (await recorded()).shown).toEqual([{ title: 'New message in Hush', body: '' }]);

  await setVisibility(bob.page, 'visible');
  await bob.page.getByLabel('Show text in notifications').check();
  await setVisibility(bob.page, 'hidden');
  await send(alice, 'meet at noon');
  await expect.poll(async () => (await recorded()).shown.at(-1)).toEqual({ title: 'Alice', body: 'meet at noon' });
  expect(JSON.stringify((await recorded()).shown)).not.toContain('7716');

  // Where the API does not exist (iOS Safari), there is no control and nothing breaks.
  const carol = await openWith(browser, link, {}, 'Carol', (context) => context.addInitScript(() => {
    Reflect.deleteProperty(window, 'Notification');
  }));
  expect(await carol.page.evaluate(() => 'Notification' in window)).toBe(false);
  await expect(carol.page.getByRole('button', { name: 'Notify me' })).toHaveCount(0);
  await send(alice, 'hello Carol');
  await expect(log(carol.page)).toContainText('hello Carol');
  await setVisibility(carol.page, 'hidden');
  await send(alice, 'while hidden');
  await expect(carol.page).toHaveTitle(`(1) ${TITLE}`);
  expect([...bob.errors, ...carol.errors]).toEqual([]);
});

test('at 360 px nothing scrolls sideways and everything is reachable; light and dark at 360 and 1280 px', async ({ browser, open }, testInfo) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  const backgrounds = new Set<string>();
  for (const colorScheme of ['light', 'dark'] as const) {
    for (const width of [360, 1280]) {
      const person = await openWith(browser, link, { viewport: { width, height: width === 360 ? 740 : 800 }, colorScheme });
      const page = person.page;
      await page.getByLabel('Your name').fill(`Bob ${width} ${colorScheme}`);
      await page.getByRole('button', { name: 'Join' }).click();
      await expect(page.getByLabel('Message')).toBeVisible();
      await send(alice, `Welcome! Notes: https://example.org/a/very/long/path/that/does/not/wrap/easily?with=query&and=more ${width}`);
      await send(alice, `A_very_long_word_without_any_spaces_that_must_wrap_rather_than_scroll_${'x'.repeat(60)}`);
      await expect(log(page)).toContainText('must_wrap');
      await send(person, '/me looks around');

      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      for (const control of [page.getByLabel('Message'), page.getByRole('button', { name: 'Send' }), page.getByRole('button', { name: 'Copy link' }), page.getByRole('button', { name: 'Leave' })]) {
        const box = await control.boundingBox();
        expect(box).not.toBeNull();
        expect((box?.x ?? -1) + (box?.width ?? 0)).toBeLessThanOrEqual(width);
      }
      if (width === 360) {
        // The participants are one tap away, behind the status line.
        await expect(roster(page)).toBeHidden();
        await page.getByRole('button', { name: /2 members/ }).click();
        await expect(roster(page).getByRole('listitem')).toHaveCount(2);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      } else {
        await expect(roster(page).getByRole('listitem')).toHaveCount(2);
        await expect(page.getByText('End-to-end encrypted · 2 members')).toBeVisible();
      }
      backgrounds.add(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
      await page.screenshot({ path: testInfo.outputPath(`room-${width}-${colorScheme}.png`) });
      expect(person.errors).toEqual([]);
      await page.getByRole('button', { name: 'Leave' }).click();
      await expect(roster(alice.page).getByRole('listitem')).toHaveCount(1);
    }
  }
  // One background per scheme.
  expect(backgrounds.size).toBe(2);
});

test('outside a secure context the page says why encryption cannot start and how to fix it', async ({ browser }) => {
  // http on a name other than localhost is not a secure context; the real server answers for it.
  const person = await openWith(browser, 'about:blank', {}, undefined, (context) => context.route('http://hush.test/**', async (route) => {
    const { pathname } = new URL(route.request().url());
    await route.fulfill({ response: await route.fetch({ url: `${server.origin}${pathname}` }) });
  }));
  await person.page.goto('http://hush.test/');
  expect(await person.page.evaluate(() => [window.isSecureContext, typeof crypto.subtle])).toEqual([false, 'undefined']);
  const alert = person.page.getByRole('alert');
  await expect(alert).toContainText('Encryption cannot start: http://hush.test is not a secure context');
  await expect(person.page.getByText('Open Hush over https://, or on the computer that runs it at http://localhost.')).toBeVisible();
  await expect(person.page.getByLabel('Your name')).toHaveCount(0);
  // Chromium notes that it ignores COOP on an untrustworthy origin; nothing else may be logged.
  expect(person.errors.filter((e) => !e.includes('Cross-Origin-Opener-Policy'))).toEqual([]);
});

test('after a server restart both tabs reconnect on their own, each new key vouched for by the old one, keep verified marks, and talk again', async ({ open }) => {
  test.setTimeout(90_000);
  const port = await freePort();
  let restartable = await startServer({ ...ROOMY, PORT: String(port) });
  try {
    const { alice, bob } = await pair(open, restartable.origin);
    await send(alice, 'before the restart');
    await expect(log(bob.page)).toContainText('before the restart');
    const bobEntry = roster(alice.page).getByRole('listitem').filter({ hasText: 'Bob' });
    await expect(bobEntry.locator('.code')).toHaveText(/\d/);
    const oldCode = await bobEntry.locator('.code').textContent();
    await alice.page.getByRole('button', { name: 'I compared the code of Bob' }).click();
    await expect(bobEntry).toContainText('Verified by you');

    await restartable.stop();
    for (const p of [alice, bob]) {
      await expect(p.page.getByRole('alert').filter({ hasText: 'Connection lost: server restarting.' })).toBeVisible();
      await expect(p.page.getByText(/^Reconnecting/)).toBeVisible();
    }
    // What is written while away stays in the box until it can be sent.
    await bob.page.getByLabel('Message').fill('written while away');
    await expect(bob.page.getByRole('button', { name: 'Send' })).toBeDisabled();
    restartable = await startServer({ ...ROOMY, PORT: String(port) });

    for (const p of [alice, bob]) {
      await expect(p.page.locator('.connection')).toHaveCount(0, { timeout: 30_000 });
      await expect(log(p.page)).toContainText('Reconnected after the connection was lost');
      await expect(log(p.page)).toContainText('before the restart');
      await expect(roster(p.page).getByRole('listitem')).toHaveCount(2);
    }
    await expect(log(alice.page)).toContainText('Bob reconnected (their previous key vouched for the new one).');
    await expect(log(bob.page)).toContainText('Alice reconnected (their previous key vouched for the new one).');
    for (const p of [alice, bob]) await expect(log(p.page)).not.toContainText('rejoined with a new key');
    // A new key, so a new code; the mark carried over because the old key signed the new one.
    await expect(bobEntry.locator('.code')).not.toHaveText(oldCode ?? '');
    await expect(bobEntry).toContainText('Verified by you');
    await expect(bobEntry).not.toContainText('New key');
    await bob.page.getByLabel('Message').press('Enter');
    await expect(log(alice.page)).toContainText('written while away');
    for (const p of [alice, bob]) expect(unexpected(p.errors)).toEqual([]);
  } finally {
    await restartable.stop();
  }
});

test('a full room and a rate limit are explained in the server’s words; Leave and a full room stop reconnecting', async ({ open }) => {
  test.setTimeout(90_000);
  const strict = await startServer({ ...ROOMY, MAX_MEMBERS: '2', RATE_BURST_FRAMES: '8', RATE_FRAMES_PER_S: '1' });
  try {
    const { alice, bob } = await pair(open, strict.origin);
    const link = await inviteLink(alice.page);
    const carol = await open(link, undefined);
    await carol.page.getByLabel('Your name').fill('Carol');
    await carol.page.getByRole('button', { name: 'Join' }).click();
    await expect(carol.page.getByRole('alert')).toHaveText('Could not join: room is full.');

    // Flooding: the server closes the connection, the tab says why and comes back by itself.
    for (let i = 1; i <= 16; i++) {
      await alice.page.getByLabel('Message').fill(`flood ${i}`);
      await alice.page.getByLabel('Message').press('Enter');
    }
    await expect(alice.page.getByRole('alert').filter({ hasText: 'Connection lost: too many messages - slow down.' })).toBeVisible();
    await expect(log(alice.page)).toContainText('Reconnected after the connection was lost', { timeout: 30_000 });
    await expect(log(bob.page)).toContainText('Alice reconnected (their previous key vouched for the new one).');
    await expect(log(alice.page).locator('.unconfirmed').first()).toContainText('not confirmed');

    // A reconnect into a room that filled up meanwhile stops with the reason and "Join again".
    let attempts = 0;
    let isFull = true;
    const passed: [WebSocketRoute, WebSocketRoute][] = [];
    await bob.page.routeWebSocket(/\/ws\//, (ws) => {
      attempts += 1;
      if (isFull && attempts > 1) return void ws.close({ code: 4001, reason: 'room is full' });
      passed.push([ws, ws.connectToServer()]);
    });
    // Routing applies to new sockets: make Bob's next one go through it.
    await bob.page.getByRole('button', { name: 'Leave' }).click();
    await join(bob);
    await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
    expect(attempts).toBe(1);
    // The route drops Bob: the page hears "server restarting", the server a plain close.
    const [toPage, toServer] = passed[0] ?? [];
    await toPage?.close({ code: 1001, reason: 'server restarting' });
    await toServer?.close();
    await expect(roster(alice.page).getByRole('listitem')).toHaveCount(1);
    await expect(bob.page.getByRole('alert').filter({ hasText: 'Disconnected: room is full.' })).toBeVisible({ timeout: 15_000 });
    const refused = attempts;
    await bob.page.waitForTimeout(3_000);
    expect(attempts).toBe(refused);

    isFull = false;
    await bob.page.getByRole('button', { name: 'Join again' }).click();
    await expect(log(bob.page).getByText('Reconnected after the connection was lost')).toHaveCount(1);
    await expect(bob.page.getByRole('button', { name: 'Send' })).toBeVisible();

    // After Leave, nothing reconnects.
    const before = attempts;
    await bob.page.getByRole('button', { name: 'Leave' }).click();
    await expect(bob.page.getByText('You left the room.')).toBeVisible();
    await bob.page.waitForTimeout(3_000);
    expect(attempts).toBe(before);
  } finally {
    await strict.stop();
  }
});
