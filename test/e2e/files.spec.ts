import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect, inviteLink, log, roster, test, type Person } from './fixtures';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const RECEIVED = 'Received and checked.';

interface Upload {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

/** Three people in one room: Ann sends, Ben and Cai receive. */
async function room(server: { origin: string }, open: (url: string, name?: string) => Promise<Person>) {
  const ann = await open(`${server.origin}/`, 'Ann');
  const link = await inviteLink(ann.page);
  const ben = await open(link, 'Ben');
  const cai = await open(link, 'Cai');
  for (const p of [ann, ben, cai]) await expect(roster(p.page).getByRole('listitem')).toHaveCount(3);
  return { ann, ben, cai };
}

async function attach(p: Person, file: Upload): Promise<void> {
  const chooser = p.page.waitForEvent('filechooser');
  await p.page.getByRole('button', { name: 'Attach file' }).click();
  await (await chooser).setFiles(file);
}

const card = (p: Person, name: string) => log(p.page).getByRole('group', { name, exact: true });

/** Waits for the file to be complete, presses Save, and returns what the browser saved. */
async function saved(p: Person, name: string, timeout = 60_000): Promise<{ bytes: Buffer; filename: string }> {
  await expect(card(p, name).getByRole('status')).toHaveText(RECEIVED, { timeout });
  const download = p.page.waitForEvent('download');
  await card(p, name).getByRole('button', { name: 'Save' }).click();
  const d = await download;
  return { bytes: readFileSync(await d.path()), filename: d.suggestedFilename() };
}

/** A real 2 × 2 PNG (red, green / blue, white). */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFElEQVR4nGP4z8DAAMIM/////w8AH+4F+7C4l8kAAAAASUVORK5CYII=', 'base64');

test('a 5 MiB random file arrives byte-identical at two others, and the sender sees both deliveries', async ({ server, open }) => {
  const { ann, ben, cai } = await room(server, open);
  const data = randomBytes(5 * 2 ** 20);
  await attach(ann, { name: 'random.bin', mimeType: 'application/octet-stream', buffer: data });
  for (const p of [ben, cai]) {
    const got = await saved(p, 'random.bin');
    expect(got.filename).toBe('random.bin');
    expect(sha(got.bytes)).toBe(sha(data));
    await expect(card(p, 'random.bin')).toContainText('5.0 MiB');
    await expect(card(p, 'random.bin')).toContainText('not verified');
  }
  await expect(card(ann, 'random.bin').getByRole('status')).toHaveText('Sent to 2 of 2.');
  for (const p of [ann, ben, cai]) expect(p.errors).toEqual([]);
});

test('an image shows inline with its name as alt text', async ({ server, open }) => {
  const { ann, ben } = await room(server, open);
  await attach(ann, { name: 'dot.png', mimeType: 'image/png', buffer: PNG });
  const img = card(ben, 'dot.png').getByRole('img', { name: 'dot.png' });
  await expect(img).toBeVisible();
  expect(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(2);
  expect(await img.getAttribute('src')).toMatch(/^blob:/);
  expect(sha((await saved(ben, 'dot.png')).bytes)).toBe(sha(PNG));
  expect(ben.errors).toEqual([]);
});

test('an SVG carrying a script is offered for download only and runs nothing', async ({ server, open }) => {
  const { ann, ben } = await room(server, open);
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="window.pwned=1"><script>window.pwned=2</script><rect width="10" height="10"/></svg>');
  await attach(ann, { name: 'evil.svg', mimeType: 'image/svg+xml', buffer: svg });
  const got = await saved(ben, 'evil.svg');
  expect(got.bytes.equals(svg)).toBe(true);
  await expect(card(ben, 'evil.svg').getByRole('img')).toHaveCount(0);
  expect(await ben.page.locator('img, object, embed, iframe, svg[onload]').count()).toBe(0);
  expect(await ben.page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
  expect(ben.errors).toEqual([]);
});

test('a file name with markup is shown as text and saved under a safe name', async ({ server, open }) => {
  const { ann, ben } = await room(server, open);
  const name = '<img src=x onerror="window.pwned=1">/../b.txt';
  await attach(ann, { name, mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await expect(card(ben, name).getByText(name, { exact: true })).toBeVisible();
  const got = await saved(ben, name);
  expect(got.filename).not.toMatch(/[<>/"]/);
  expect(got.bytes.toString()).toBe('hello');
  expect(await ben.page.locator('.timeline img').count()).toBe(0);
  expect(await ben.page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
});

test('a receiver that stops reading finishes later, the other at full speed, and nobody is closed', async ({ server, open }) => {
  const { ann, ben, cai } = await room(server, open);
  const data = randomBytes(5 * 2 ** 20);
  // Cai's page stops: no frame is read and no chunk asked for until the block ends.
  let isCaiBack = false;
  const block = cai.page.evaluate(() => {
    const end = Date.now() + 12_000;
    while (Date.now() < end);
  }).then(() => (isCaiBack = true));
  await attach(ann, { name: 'big.bin', mimeType: 'application/octet-stream', buffer: data });
  const benBytes = (await saved(ben, 'big.bin', 11_000)).bytes;
  expect(isCaiBack).toBe(false);
  expect(sha(benBytes)).toBe(sha(data));
  await expect(card(ann, 'big.bin').getByRole('status')).toHaveText('Sent to 1 of 2.');
  await block;
  expect(sha((await saved(cai, 'big.bin')).bytes)).toBe(sha(data));
  await expect(card(ann, 'big.bin').getByRole('status')).toHaveText('Sent to 2 of 2.');
  for (const p of [ann, ben, cai]) {
    await expect(roster(p.page).getByRole('listitem')).toHaveCount(3);
    await expect(log(p.page)).not.toContainText('lost connection');
  }
  expect(server.output()).not.toMatch(/slow_consumer/);
});

test('a file dropped on the conversation and an image pasted into the message box are sent', async ({ server, open }) => {
  const { ann, ben } = await room(server, open);
  const dropped = await ann.page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
    return dt;
  });
  await ann.page.locator('section.chat').dispatchEvent('drop', { dataTransfer: dropped });
  expect((await saved(ben, 'dropped.txt')).bytes.toString()).toBe('dropped bytes');
  await ann.page.getByLabel('Message').evaluate((box, png) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], 'pasted.png', { type: 'image/png' }));
    box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, PNG.toString('base64'));
  await expect(card(ben, 'pasted.png').getByRole('img', { name: 'pasted.png' })).toBeVisible();
  await expect(ann.page.getByLabel('Message')).toHaveValue('');
});
