/**
 * Ask to join, let in, remove (issue 15) in Chromium, as people do it: the
 * switch, the buttons on the roster, what each page reads.
 */
import type { Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { expect, inviteLink, join, log, messages, roster, send, test, type Person } from './fixtures';

const entry = (page: Page, name: string) => roster(page).getByRole('listitem').filter({ hasText: name });
const waitingBanner = (page: Page) => page.getByRole('status').filter({ hasText: 'Waiting for someone in the room to let you in.' });

async function askToJoin(p: Person): Promise<void> {
  const toggle = p.page.getByRole('switch', { name: 'Ask to join' });
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-checked', 'true');
}

async function removeMember(p: Person, name: string): Promise<void> {
  await p.page.getByRole('button', { name: `Remove ${name}` }).click();
  await p.page.getByRole('button', { name: `Yes, remove ${name}` }).click();
}

test('three people: one asks to join and is let in; one is removed, tries the old link and reads nothing new; the other two keep their verified marks', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const oldLink = await inviteLink(alice.page);
  const bob = await open(oldLink, 'Bob');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  await askToJoin(alice);
  await expect(bob.page.getByRole('switch', { name: 'Ask to join' })).toHaveAttribute('aria-checked', 'true');

  const carol = await open(oldLink, 'Carol');
  await expect(waitingBanner(carol.page)).toBeVisible();
  await expect(carol.page.getByLabel('Message')).toBeDisabled();
  await expect(entry(alice.page, 'Carol')).toContainText('Waiting to be let in');
  await expect(log(bob.page)).toContainText('Carol is asking to join.');
  await expect(alice.page).toHaveTitle(/1 asking to join/);
  await send(alice, 'before Carol');
  await expect.poll(() => messages(bob.page)).toContain('Alice: before Carol');

  await bob.page.getByRole('button', { name: 'Let Carol in' }).click();
  await expect(waitingBanner(carol.page)).toBeHidden();
  await expect(log(alice.page)).toContainText('Bob let Carol in.');
  await send(alice, 'welcome Carol');
  await expect.poll(() => messages(carol.page)).toEqual(['Alice: welcome Carol']);

  await alice.page.getByRole('button', { name: 'I compared the code of Bob' }).click();
  await bob.page.getByRole('button', { name: 'I compared the code of Alice' }).click();
  await removeMember(alice, 'Carol');
  await expect(carol.page.getByRole('alert')).toContainText('Alice removed you from the room');
  await expect(log(bob.page)).toContainText('Alice removed Carol.');
  await expect(roster(bob.page).getByRole('listitem')).toHaveCount(2);
  await expect(log(bob.page)).toContainText('You are in the room’s new link now.');
  await expect(log(alice.page)).toContainText('You are in the room’s new link now.');
  await expect.poll(() => inviteLink(alice.page)).not.toBe(oldLink);
  expect(await inviteLink(bob.page)).toBe(await inviteLink(alice.page));
  await expect(entry(alice.page, 'Bob')).toContainText('Verified by you');
  await expect(entry(bob.page, 'Alice')).toContainText('Verified by you');
  await send(alice, 'just us');
  await expect.poll(() => messages(bob.page)).toContain('Alice: just us');

  // Carol tries the old link again: nobody is there, and nothing new reaches her.
  await carol.page.goto(oldLink);
  await join(carol);
  await send(bob, 'after Carol left');
  await expect.poll(() => messages(alice.page)).toContain('Bob: after Carol left');
  await expect(roster(carol.page).getByRole('listitem')).toHaveCount(1);
  expect(await messages(carol.page)).toEqual([]);
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
});

test('a locked room turns a knock away, and the knock reads who did', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  await alice.page.getByRole('switch', { name: 'Lock room' }).click();
  await expect(alice.page.getByRole('switch', { name: 'Lock room' })).toHaveAttribute('aria-checked', 'true');
  const eve = await open(link);
  await eve.page.getByLabel('Your name').fill('Eve');
  await eve.page.getByRole('button', { name: 'Join' }).click();
  await expect(eve.page.getByRole('alert')).toContainText('Alice turned you away');
  await expect(log(alice.page)).toContainText('The room is locked: Eve was turned away.');
});

/** Serious and critical axe violations (WCAG 2.1 AA), as in a11y.spec.ts. */
async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact})`);
}

test('the waiting page, a knock with its buttons and the removal confirmation have no serious or critical axe violations', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  await askToJoin(alice);
  const dave = await open(link, 'Dave');
  await expect(waitingBanner(dave.page)).toBeVisible();
  expect(await seriousViolations(dave.page)).toEqual([]);
  await expect(alice.page.getByRole('button', { name: 'Let Dave in' })).toBeVisible();
  expect(await seriousViolations(alice.page)).toEqual([]);
  await alice.page.getByRole('button', { name: 'Let Dave in' }).click();
  await alice.page.getByRole('button', { name: 'Remove Dave' }).click();
  await expect(alice.page.getByRole('button', { name: 'Yes, remove Dave' })).toBeVisible();
  expect(await seriousViolations(alice.page)).toEqual([]);
});

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return ((s[(s.length - 1) >> 1] ?? 0) + (s[s.length >> 1] ?? 0)) / 2;
};

/** Run with HUSH_MEASURE=1: prints the three timings of issue 15, median of 10 runs each. */
test('measures knock shown, let in → first message readable, remove → the others in the new room (median of 10)', async ({ server, open }) => {
  test.skip(process.env.HUSH_MEASURE !== '1', 'set HUSH_MEASURE=1 to measure');
  test.setTimeout(600_000);
  const knock: number[] = [];
  const letIn: number[] = [];
  const remove: number[] = [];
  for (let i = 0; i < 10; i++) {
    const alice = await open(`${server.origin}/`, 'Alice');
    const link = await inviteLink(alice.page);
    const bob = await open(link, 'Bob');
    await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
    await askToJoin(alice);
    await expect(bob.page.getByRole('switch', { name: 'Ask to join' })).toHaveAttribute('aria-checked', 'true');
    const carol = await open(link);
    await carol.page.getByLabel('Your name').fill('Carol');
    let t = Date.now();
    await carol.page.getByRole('button', { name: 'Join' }).click();
    await expect(alice.page.getByRole('button', { name: 'Let Carol in' })).toBeVisible();
    knock.push(Date.now() - t);

    t = Date.now();
    await alice.page.getByRole('button', { name: 'Let Carol in' }).click();
    await expect(waitingBanner(carol.page)).toBeHidden();
    await send(bob, `hello ${i}`);
    await expect.poll(() => messages(carol.page), { intervals: [10] }).toContain(`Bob: hello ${i}`);
    letIn.push(Date.now() - t);

    t = Date.now();
    await alice.page.getByRole('button', { name: 'Remove Carol' }).click();
    await alice.page.getByRole('button', { name: 'Yes, remove Carol' }).click();
    await expect(log(bob.page)).toContainText('You are in the room’s new link now.', { timeout: 30_000 });
    await expect(roster(bob.page).getByRole('listitem')).toHaveCount(2);
    await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
    remove.push(Date.now() - t);
    for (const p of [alice, bob, carol]) await p.page.close();
  }
  console.log(`membership timings, median of 10 (ms): knock shown to members ${median(knock)}, let in → first message readable ${median(letIn)}, remove → the others in the new room ${median(remove)}`);
  console.log(`  knock ${knock.join(' ')} | let in ${letIn.join(' ')} | remove ${remove.join(' ')}`);
});
