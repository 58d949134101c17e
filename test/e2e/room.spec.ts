import { deriveRoomKeys } from '../../client/crypto';
import { parseSecretFragment } from '../../client/protocol';
import { expect, inviteLink, join, log, messages, roster, send, test, type Person } from './fixtures';

const roomIdOf = async (url: string) => {
  const secret = parseSecretFragment(new URL(url).hash);
  if (secret instanceof Error) throw secret;
  return (await deriveRoomKeys(secret)).roomId;
};

/** The signed URL of the room's server log that the Server view offers this member (it opens the view). */
async function signedLogsUrl(person: Person, origin: string): Promise<string> {
  const details = person.page.locator('details.server-view');
  if ((await details.getAttribute('open')) === null) await person.page.getByText('Server view').click();
  const href = await person.page.getByRole('link', { name: 'Raw log (link valid 30 s)' }).getAttribute('href');
  if (href === null) throw new Error('no raw log link');
  return `${origin}${href}`;
}

/** name → safety code, as this person's roster shows it (waits for every code). */
async function codesSeenBy(person: Person): Promise<Record<string, string>> {
  const items = roster(person.page).getByRole('listitem');
  await expect(items.filter({ hasText: 'computing' })).toHaveCount(0);
  const rows = await items.evaluateAll((lis) => lis.map((li) => [li.querySelector('.name')?.textContent ?? '', li.querySelector('.code')?.textContent ?? '']));
  return Object.fromEntries(rows);
}

test('opening / without a link makes a new room and asks for a name', async ({ server, open }) => {
  const { page, errors } = await open(`${server.origin}/`);
  // The link is read, then kept out of the address bar; the invite has it.
  await expect(page).toHaveURL(`${server.origin}/`);
  expect(await inviteLink(page)).toMatch(/#[A-Za-z0-9_-]{43}$/);
  await expect(page.getByLabel('Your name')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Join' })).toBeVisible();
  const other = await open(`${server.origin}/`);
  expect(await inviteLink(other.page)).not.toBe(await inviteLink(page));
  expect(errors).toEqual([]);
});

test('three people share a link, see the same roster and codes, and talk in order', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  const bob = await open(link, 'Bob');
  const carol = await open(link, 'Carol');
  const people = [alice, bob, carol];

  for (const p of people) await expect(roster(p.page).getByRole('listitem')).toHaveCount(3);
  const codes = await Promise.all(people.map(codesSeenBy));
  expect(Object.keys(codes[0] ?? {}).sort()).toEqual(['Alice', 'Bob', 'Carol']);
  for (const c of codes) expect(c).toEqual(codes[0]);
  for (const code of Object.values(codes[0] ?? {})) expect(code).toMatch(/^\d{5}( \d{5}){5}$/);

  await send(alice, 'first from Alice');
  await send(alice, 'second from Alice');
  await expect(log(bob.page)).toContainText('second from Alice');
  await send(bob, 'Bob replies');
  await expect(log(carol.page)).toContainText('Bob replies');
  await send(carol, 'Carol too\non two lines');

  const expected = ['Alice: first from Alice', 'Alice: second from Alice', 'Bob: Bob replies', 'Carol: Carol too\non two lines'];
  for (const p of people) {
    await expect(log(p.page).locator('.message.pending')).toHaveCount(0);
    await expect.poll(() => messages(p.page)).toEqual(expected);
    const times = await log(p.page).locator('.message time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime') ?? ''));
    expect(times).toHaveLength(4);
    for (const t of times) expect(Math.abs(Date.parse(t) - Date.now())).toBeLessThan(60_000);
    expect(p.errors).toEqual([]);
  }
});

test('leaving, by button or by closing the tab, updates every roster; the last one out deletes the room', async ({ server, open }) => {
  const alice = await open(`${server.origin}/`, 'Alice');
  const link = await inviteLink(alice.page);
  const roomId = await roomIdOf(link);
  const bob = await open(link, 'Bob');
  const carol = await open(link, 'Carol');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(3);

  await carol.page.getByRole('button', { name: 'Leave' }).click();
  await expect(carol.page.getByText('You left the room.')).toBeVisible();
  for (const p of [alice, bob]) await expect(roster(p.page).getByRole('listitem')).toHaveCount(2);
  await expect(log(alice.page)).toContainText('Carol left.');

  await bob.page.close();
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(1);
  await expect(roster(alice.page)).not.toContainText('Bob');
  // Closing the tab sent the signed goodbye on pagehide: "left", not "lost connection".
  await expect(log(alice.page)).toContainText('Bob left.');
  await expect(log(alice.page)).not.toContainText('lost connection');
  // The room's log is there for its member, and for nobody else: a stranger gets the 404 of a room that does not exist.
  const alicesUrl = await signedLogsUrl(alice, server.origin);
  expect((await fetch(alicesUrl)).status).toBe(200);
  expect((await fetch(`${server.origin}/logs/${roomId}`)).status).toBe(404);

  await alice.page.getByRole('button', { name: 'Leave' }).click();
  await expect.poll(async () => (await fetch(alicesUrl)).status).toBe(404);
});

test('the Server view shows the room’s log as the server holds it, and no name, message or secret reaches the server', async ({ server, open, browser }) => {
  const names = ['Quentin Marmalade', 'Yara Plumtree'];
  const secrets = ['the vault code is 7716', 'meet under the clock tower'];
  const alice = await open(`${server.origin}/`);
  const link = await inviteLink(alice.page);
  const secretText = new URL(link).hash.slice(1);
  const roomId = await roomIdOf(link);

  // Everything either browser asks of the server, and every frame it sends.
  const urls: string[] = [];
  const sentFrames: string[] = [];
  const watch = (p: Person) => {
    p.page.on('request', (r) => urls.push(r.url()));
    p.page.on('websocket', (ws) => {
      urls.push(ws.url());
      ws.on('framesent', (f) => sentFrames.push(String(f.payload)));
    });
  };
  watch(alice);
  alice.name = names[0] as string;
  await join(alice);
  const bob = await open(link);
  watch(bob);
  bob.name = names[1] as string;
  await bob.page.reload();
  await join(bob);
  await send(alice, secrets[0] as string);
  await send(bob, secrets[1] as string);
  for (const p of [alice, bob]) await expect(log(p.page)).toContainText(secrets[1] as string);
  await expect(log(bob.page)).toContainText(secrets[0] as string);

  await alice.page.getByText('Server view').click();
  const panel = alice.page.getByLabel('Server log');
  await expect(panel).toContainText('"type": "msg"');
  const shown = JSON.parse((await panel.textContent()) ?? '') as { roomId: string; entries: { type: string; frame: string }[] };
  const held = (await (await fetch(await signedLogsUrl(alice, server.origin))).json()) as typeof shown;
  expect(shown.roomId).toBe(roomId);
  expect(shown.entries).toEqual(held.entries.slice(0, shown.entries.length));
  expect(held.entries.map((e) => e.type)).toEqual(['hello', 'hello', 'msg', 'msg']);

  const serverSide = [JSON.stringify(held), server.output(), ...urls, ...sentFrames].join('\n');
  expect(sentFrames.length).toBeGreaterThanOrEqual(4);
  for (const needle of [...names, ...secrets, secretText, 'Quentin', 'vault']) {
    expect(serverSide).not.toContain(needle);
  }
  expect(browser.isConnected()).toBe(true);
});
