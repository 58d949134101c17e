/**
 * Accessibility (issue 17), in Chromium: axe-core finds no serious or
 * critical violation on any screen (join, room wide and narrow, light and
 * dark, the invite with its QR code, the Server view, the Security panel); a
 * keyboard alone reaches every control in order with a visible focus ring;
 * joins, leaves, warnings and messages land in live regions; reduced motion
 * is honoured; text at 200 % loses nothing.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContextOptions, Page } from '@playwright/test';
import { startServer, type RunningServer } from '../support/server';
import { expect, inviteLink, log, openIn, roster, send, test, type Person } from './fixtures';

/** Enough joins from one address for a whole file of tests on one server. */
const ROOMY = { JOIN_BURST: '200', JOINS_PER_MIN: '600' };
const WCAG_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

let server: RunningServer;
test.beforeAll(async () => {
  server = await startServer(ROOMY);
});
test.afterAll(async () => {
  await server.stop();
});

const closers: (() => Promise<void>)[] = [];
test.afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});
async function openWith(browser: Browser, url: string, options: BrowserContextOptions = {}, name?: string): Promise<Person> {
  const context = await browser.newContext(options);
  closers.push(() => context.close());
  return openIn(context, url, name);
}

/** Serious and critical violations only, each as "rule (impact): targets", so a failure says what to fix. */
async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(WCAG_AA).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    // Member ids are random fingerprints: named by role instead, and repeats folded.
    .map((v) => `${v.id} (${v.impact}): ${[...new Set(v.nodes.map((n) => n.target.join(' ').replace(/#member-[\w-]+/g, 'li.member')))].join(', ')}`);
}

/** Joins at any width: on a narrow screen the roster is a closed panel, so the room's Leave button says "in". */
async function enter(person: Person, name: string): Promise<void> {
  person.name = name;
  await person.page.getByLabel('Your name').fill(name);
  await person.page.getByRole('button', { name: 'Join' }).click();
  await expect(person.page.getByRole('button', { name: 'Leave' })).toBeVisible();
}

/** Alice in a room of two with Bob, in a context with these options. */
async function roomOfTwo(browser: Browser, options: BrowserContextOptions = {}) {
  const alice = await openWith(browser, `${server.origin}/`, options);
  await enter(alice, 'Alice');
  const bob = await openWith(browser, await inviteLink(alice.page), {}, 'Bob');
  // Counted in the DOM: on a narrow screen the roster is a closed panel.
  await expect(alice.page.locator('.roster li.member')).toHaveCount(2);
  await expect(alice.page.locator('.code.pending')).toHaveCount(0);
  await send(bob, 'hello Alice');
  await expect(log(alice.page)).toContainText('hello Alice');
  return { alice, bob };
}

test.describe('axe: no serious or critical violations', () => {
  test('the join screen', async ({ browser }) => {
    const { page, errors } = await openWith(browser, `${server.origin}/`);
    await expect(page.getByLabel('Your name')).toBeVisible();
    expect(await seriousViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
  });

  for (const width of [1280, 360]) {
    for (const colorScheme of ['light', 'dark'] as const) {
      test(`the room at ${width} px, ${colorScheme}`, async ({ browser }) => {
        const { alice } = await roomOfTwo(browser, { viewport: { width, height: 800 }, colorScheme });
        if (width < 640) await alice.page.getByRole('button', { name: /2 members/ }).click();
        await expect(roster(alice.page).getByRole('listitem').first()).toBeVisible();
        expect(await seriousViolations(alice.page)).toEqual([]);
        expect(alice.errors).toEqual([]);
      });
    }
  }

  test('the invite with its QR code', async ({ browser }) => {
    const { alice } = await roomOfTwo(browser);
    await alice.page.getByRole('button', { name: 'Link QR' }).click();
    await expect(alice.page.getByRole('img', { name: 'QR code of the room link' })).toBeVisible();
    expect(await seriousViolations(alice.page)).toEqual([]);
  });

  test('the Server view', async ({ browser }) => {
    const { alice } = await roomOfTwo(browser);
    await alice.page.getByText('Server view').click();
    await expect(alice.page.getByLabel('Server log')).toContainText('"type": "msg"');
    expect(await seriousViolations(alice.page)).toEqual([]);
  });

  test('the Security panel', async ({ browser }) => {
    const { alice } = await roomOfTwo(browser, { viewport: { width: 360, height: 800 } });
    await alice.page.getByRole('button', { name: /2 members/ }).click();
    const panel = alice.page.getByRole('region', { name: 'Security' });
    await panel.scrollIntoViewIfNeeded();
    await expect(panel).toBeVisible();
    expect(await seriousViolations(alice.page)).toEqual([]);
  });
});

/** What has focus, as a person would name it, and whether its focus ring can be seen. */
const focused = (page: Page) => page.evaluate(() => {
  const el = document.activeElement;
  if (el === null || el === document.body) return { name: '(page)', isRingVisible: false };
  const style = getComputedStyle(el);
  const name = (el.getAttribute('aria-label') ?? (el.id !== '' ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null) ?? el.textContent ?? '').trim();
  const hasOutline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return { name: `${el.tagName.toLowerCase()} ${name}`.trim(), isRingVisible: el.matches(':focus-visible') && (hasOutline || style.boxShadow !== 'none') };
});

/** Presses Tab until `name` has focus (at most `max` times); returns every stop on the way, with its ring. */
async function tabTo(page: Page, name: string, max = 40): Promise<{ name: string; isRingVisible: boolean }[]> {
  const stops = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    stops.push(f);
    if (f.name === name) return stops;
  }
  throw new Error(`Tab never reached "${name}"; stops: ${stops.map((s) => s.name).join(' → ')}`);
}

test('a keyboard alone joins, writes, sends and verifies, in order, with a visible focus ring on every stop', async ({ browser }) => {
  const bob = await openWith(browser, `${server.origin}/`, {}, 'Bob');
  const alice = await openWith(browser, await inviteLink(bob.page));
  const { page } = alice;
  // The name field has focus on arrival; Tab goes on to Join once a name is typed.
  expect((await focused(page)).name).toBe('input Your name');
  await page.keyboard.type('Alice');
  const toJoin = await tabTo(page, 'button Join');
  await page.keyboard.press('Enter');
  await expect(roster(page).getByRole('listitem')).toHaveCount(2);
  // In the room, the message box has focus; with text in it, Tab reaches Send.
  await expect.poll(async () => (await focused(page)).name).toBe('textarea Message');
  await page.keyboard.type('typed, not clicked');
  const toSend = await tabTo(page, 'button Send');
  await page.keyboard.press('Enter');
  await expect(log(bob.page)).toContainText('typed, not clicked');
  // On through the page to the roster's controls, and verify Bob with the keyboard.
  const toVerify = await tabTo(page, 'button I compared the code of Bob');
  await page.keyboard.press('Space');
  await expect(roster(page).getByRole('listitem').filter({ hasText: 'Bob' })).toContainText('Verified by you');

  const stops = [...toJoin, ...toSend, ...toVerify].filter((s) => s.name !== '(page)');
  expect(stops.filter((s) => !s.isRingVisible).map((s) => s.name)).toEqual([]);
  expect(alice.errors).toEqual([]);
});

test('every control in the room is reached by Tab, in the order it appears on screen (header, roster on the left, conversation)', async ({ browser }) => {
  const { alice } = await roomOfTwo(browser);
  const { page } = alice;
  // Nothing may jump the queue: no positive tabindex anywhere.
  expect(await page.locator('[tabindex]:not([tabindex="0"]):not([tabindex="-1"])').count()).toBe(0);
  const controls = await page.evaluate(() => [...document.querySelectorAll<HTMLElement>('a[href], button:not([disabled]), input, textarea, summary, [tabindex="0"]')]
    .filter((el) => el.getClientRects().length > 0)
    .map((el) => `${el.tagName.toLowerCase()} ${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim()}`));
  // Tab starts from the message box (focused on entering), so the cycle is compared from where it starts.
  const reached: string[] = [];
  for (let i = 0; i < controls.length + 5 && reached.length < controls.length; i++) {
    await page.keyboard.press('Tab');
    const name = await page.evaluate(() => {
      const el = document.activeElement;
      return el === null || el === document.body ? '' : `${el.tagName.toLowerCase()} ${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim()}`;
    });
    if (name !== '' && !reached.includes(name)) reached.push(name);
  }
  const start = controls.indexOf(reached[0] ?? '');
  expect(reached).toEqual([...controls.slice(start), ...controls.slice(0, start)]);
});

test('joins, messages, warnings and leaves are announced through live regions', async ({ browser }) => {
  const alice = await openWith(browser, `${server.origin}/`, {}, 'Alice');
  const live = alice.page.locator('[role=log][aria-live=polite]');
  await expect(live).toHaveCount(1);
  const bob = await openWith(browser, await inviteLink(alice.page), {}, 'Bob');
  await expect(live).toContainText('Bob joined.');
  await send(bob, 'a new message');
  await expect(live).toContainText('a new message');
  await bob.page.getByRole('button', { name: 'Leave' }).click();
  await expect(live).toContainText('Bob left.');
  // A warning: Bob comes back with another key (another browser: nothing kept vouches for it).
  await openWith(browser, await inviteLink(alice.page), {}, 'Bob');
  await expect(live).toContainText('Bob rejoined with a new key — verify again.');
  // The room's state line is a status (an alert when something is wrong), announced when it changes.
  await expect(alice.page.getByTestId('roster-agreement')).toHaveAttribute('role', /^(status|alert)$/);
});

test('with reduced motion asked for, nothing animates or transitions', async ({ browser }) => {
  const { alice } = await roomOfTwo(browser, { reducedMotion: 'reduce' });
  await alice.page.getByRole('button', { name: 'Link QR' }).click();
  const moving = await alice.page.evaluate(() => {
    const seconds = (list: string) => Math.max(...list.split(',').map((t) => (t.trim().endsWith('ms') ? parseFloat(t) / 1000 : parseFloat(t))));
    return [...document.querySelectorAll('*')].flatMap((el) => {
      const s = getComputedStyle(el);
      const animates = s.animationName !== 'none' && seconds(s.animationDuration) > 0.01;
      const transitions = seconds(s.transitionDuration) > 0.01;
      return animates || transitions ? [`${el.tagName.toLowerCase()}.${el.className}: ${s.animationName} ${s.animationDuration} / ${s.transitionProperty} ${s.transitionDuration}`] : [];
    });
  });
  expect(moving).toEqual([]);
  expect(await alice.page.evaluate(() => document.getAnimations().length)).toBe(0);
});

/** Elements whose text is cut off: wider content than box where overflow is not scrollable, and the page itself. */
const clipped = (page: Page) => page.evaluate(() => {
  const cut: string[] = [];
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth) cut.push(`page: ${document.documentElement.scrollWidth} > ${document.documentElement.clientWidth} px wide`);
  for (const el of document.querySelectorAll<HTMLElement>('body *')) {
    const s = getComputedStyle(el);
    const isScrollable = ['auto', 'scroll'].includes(s.overflowX);
    // Text for screen readers only (.visually-hidden) is a 1 px box on purpose.
    const isVisuallyHidden = el.getBoundingClientRect().width <= 1;
    if (!isScrollable && !isVisuallyHidden && s.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1 && (el.textContent ?? '').trim() !== '') {
      cut.push(`${el.tagName.toLowerCase()}.${el.className}: ${el.scrollWidth} > ${el.clientWidth} px`);
    }
  }
  return cut;
});

for (const width of [1280, 360]) {
  test(`text at 200 % loses nothing at ${width} px: no clipped text, no sideways scrolling`, async ({ browser }) => {
    const zoom = (p: Page) => p.evaluate(() => { document.documentElement.style.fontSize = '200%'; });
    const alice = await openWith(browser, `${server.origin}/`, { viewport: { width, height: 800 } });
    await zoom(alice.page);
    expect(await clipped(alice.page)).toEqual([]);
    await enter(alice, 'Alice');
    const bob = await openWith(browser, await inviteLink(alice.page), {}, 'Bob');
    await send(bob, 'a longer message to wrap at twice the text size, with a link https://example.org/a/long/path');
    await expect(log(alice.page)).toContainText('twice the text size');
    if (width < 640) await alice.page.getByRole('button', { name: /2 members/ }).click();
    await expect(alice.page.locator('.code.pending')).toHaveCount(0);
    expect(await clipped(alice.page)).toEqual([]);
  });
}
