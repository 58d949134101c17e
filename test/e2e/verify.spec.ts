import { startHostileRelay, senderOf } from '../support/hostile-relay';
import { expect, inviteLink, join, log, roster, test } from './fixtures';

const entry = (page: import('@playwright/test').Page, name: string) => roster(page).getByRole('listitem').filter({ hasText: name });

test('marking a member verified stays in that tab', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const bob = await open(await inviteLink(alice.page), 'Bob');
  const carol = await open(await inviteLink(alice.page), 'Carol');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(3);

  await alice.page.getByRole('button', { name: 'I compared the code of Bob' }).click();
  await expect(entry(alice.page, 'Bob')).toContainText('Verified by you');
  await expect(alice.page.getByText('1 of 2 verified by you')).toBeVisible();
  await alice.page.getByRole('button', { name: 'I compared the code of Carol' }).click();
  await expect(alice.page.getByText('Everyone here is verified ✓')).toBeVisible();

  for (const other of [bob, carol]) {
    await expect(entry(other.page, 'Alice')).toContainText('Not verified');
    await expect(other.page.getByText('0 of 2 verified by you')).toBeVisible();
  }
  await expect(entry(carol.page, 'Bob')).toContainText('Not verified');
});

/** What this tab keeps in IndexedDB for a reload (tab-keys.ts), as the page itself can read it. */
const keptRecords = (page: import('@playwright/test').Page) => page.evaluate(() => new Promise<{ fp: string; extractable: boolean; type: string; usages: string[]; fields: string[]; exportRefused: boolean }[]>((resolve, reject) => {
  const open = indexedDB.open('hush', 1);
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const all = open.result.transaction('tab-keys', 'readonly').objectStore('tab-keys').getAll();
    all.onsuccess = async () => {
      const out = [];
      for (const r of all.result as { previous: { fp: string; sigPriv: CryptoKey } }[]) {
        const key = r.previous.sigPriv;
        const exportRefused = await crypto.subtle.exportKey('pkcs8', key).then(() => false, () => true);
        out.push({ fp: r.previous.fp, extractable: key.extractable, type: key.type, usages: key.usages, fields: Object.keys(r).sort(), exportRefused });
      }
      open.result.close();
      resolve(out);
    };
  };
}));

test('a member who reloads keeps the verified marks, both ways: the key kept for the reload (non-extractable) vouches for the new one', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const bob = await open(await inviteLink(alice.page), 'Bob');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  await alice.page.getByRole('button', { name: 'I compared the code of Bob' }).click();
  await expect(entry(alice.page, 'Bob')).toContainText('Verified by you');
  await bob.page.getByRole('button', { name: 'I compared the code of Alice' }).click();
  await expect(entry(bob.page, 'Alice')).toContainText('Verified by you');
  const oldCode = await entry(alice.page, 'Bob').locator('.code').textContent();

  // Only the signing key is kept, and the page itself cannot export it.
  await expect.poll(async () => (await keptRecords(bob.page)).length).toBe(1);
  const [kept] = await keptRecords(bob.page);
  expect(kept).toMatchObject({ extractable: false, type: 'private', usages: ['sign'], exportRefused: true });
  expect(kept?.fields).toEqual(['previous', 'roomId', 'savedAt', 'token', 'verified']);

  await bob.page.reload();
  await join(bob);
  // The old page said its signed goodbye on the way out: one line, not "left" and then "back".
  await expect(log(alice.page)).toContainText('Bob reloaded the page (their previous key vouched for the new one).');
  await expect(log(alice.page)).not.toContainText('Bob left.');
  await expect(log(bob.page)).toContainText('Back after reloading the page.');
  // A new key, so a new code; the mark stays because the kept key signed the new one.
  await expect(entry(alice.page, 'Bob').locator('.code')).toHaveText(/\d/);
  await expect(entry(alice.page, 'Bob').locator('.code')).not.toHaveText(oldCode ?? '');
  await expect(entry(alice.page, 'Bob')).toContainText('Verified by you');
  await expect(entry(bob.page, 'Alice')).toContainText('Verified by you');
  await expect(log(alice.page)).not.toContainText('rejoined with a new key');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  // The record now holds the new key; Leave deletes it.
  await expect.poll(async () => (await keptRecords(bob.page)).map((r) => r.fp)).not.toEqual([kept?.fp]);
  await bob.page.getByRole('button', { name: 'Leave' }).click();
  await expect.poll(async () => (await keptRecords(bob.page)).length).toBe(0);
});

test('the same name from another browser is a new key to everyone else, and loses the verified mark', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  const bob = await open(link, 'Bob');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  await alice.page.getByRole('button', { name: 'I compared the code of Bob' }).click();
  await expect(entry(alice.page, 'Bob')).toContainText('Verified by you');

  await bob.page.close();
  await open(link, 'Bob');
  await expect(entry(alice.page, 'Bob')).toContainText('New key — verify again');
  await expect(log(alice.page)).toContainText('Bob rejoined with a new key — verify again.');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
});

test('the header exposes a relay that hides one member from one tab', async ({ server, open }) => {
  const relay = await startHostileRelay(server.origin);
  try {
    const alice = await open(`${relay.origin}/`, 'Alice');
    const link = await inviteLink(alice.page);
    // Hide everything Carol (the third connection) says from Bob (the second).
    relay.toClient = (conn, frame) => {
      const carol = relay.conns[2]?.fp;
      return conn.index === 1 && carol != null && senderOf(frame) === carol ? null : frame;
    };
    const bob = await open(link, 'Bob');
    await open(link, 'Carol');
    await expect(roster(alice.page).getByRole('listitem')).toHaveCount(3);
    await expect(roster(bob.page).getByRole('listitem')).toHaveCount(2);

    const started = Date.now();
    await expect(alice.page.getByTestId('roster-agreement')).toHaveText('Bob sees a different list: −Carol', { timeout: 10_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(bob.page.getByTestId('roster-agreement')).toContainText('sees a different list: +someone not in your list');
  } finally {
    await relay.close();
  }
});

test('your own code can be copied and shown as a QR code, and so can the link', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const mine = entry(alice.page, 'Alice');
  await expect(mine.locator('.code')).toHaveText(/^\d{5}( \d{5}){5}$/);
  await mine.getByRole('button', { name: 'QR' }).click();
  await expect(alice.page.getByRole('img', { name: 'QR code of your safety code' })).toBeVisible();
  await alice.page.getByRole('button', { name: 'Link QR' }).click();
  const linkQr = alice.page.getByRole('img', { name: 'QR code of the room link' });
  await expect(linkQr).toBeVisible();
  // A QR of a 60-character link needs more modules than one of 30 digits.
  const modules = (name: string) => alice.page.getByRole('img', { name }).evaluate((svg) => svg.getAttribute('viewBox'));
  expect(await modules('QR code of the room link')).not.toBe(await modules('QR code of your safety code'));
  expect(alice.errors).toEqual([]);
});
