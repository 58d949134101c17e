/**
 * The attacks that matter most, end to end in Chromium through a hostile
 * relay (issue #4: attacks 1, 3, 8, 9, 11 and 19; 13 is in verify.spec.ts).
 * Each checks what the person sees and that nothing forged is rendered.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from '@playwright/test';
import { generateIdentity } from '../../client/crypto';
import { WRAP_BYTES, WRAP_HASH_BYTES, type Envelope, type Hello } from '../../client/protocol';
import { relayForgery } from '../support/forge';
import { startHostileRelay, type HostileRelay } from '../support/hostile-relay';
import { expect, inviteLink, log, messages, roster, send, test, type Person } from './fixtures';

const blockedCount = (page: Page, kind: string) => page.locator(`[data-count="${kind}"] dd`);

let relay: HostileRelay;
test.beforeEach(async ({ server }) => {
  relay = await startHostileRelay(server.origin);
});
test.afterEach(async () => {
  await relay.close();
});

/** Alice (connection 0) and Bob (connection 1) in one room, through the relay. */
async function aliceAndBob(open: (url: string, name?: string) => Promise<Person>) {
  const alice = await open(`${relay.origin}/`, 'Alice');
  const bob = await open(await inviteLink(alice.page), 'Bob');
  await expect(roster(alice.page).getByRole('listitem')).toHaveCount(2);
  return { alice, bob };
}

const parse = (frame: string) => JSON.parse(frame) as { t: string; env?: Envelope; wrap?: string; members?: Hello[] };

test('1. a forged message, signed by the relay as Alice, is blocked and never shown', async ({ open }) => {
  const hellos: Hello[] = [];
  relay.toServer = (_conn, frame) => {
    const f = JSON.parse(frame) as { t: string; hello?: Hello };
    if (f.hello !== undefined) hellos.push(f.hello);
    return frame;
  };
  const { alice, bob } = await aliceAndBob(open);
  relay.conns[1]?.inject(await relayForgery(await inviteLink(alice.page), hellos, relay.conns[0]?.fp ?? '', relay.conns[1]?.fp ?? '', 'forgedInTheBrowser001', 'wire the money'));

  await expect(log(bob.page)).toContainText('A message claiming to be from Alice failed verification and was blocked.');
  await expect(blockedCount(bob.page, 'forged')).toHaveText('1');
  expect(await bob.page.content()).not.toContain('wire the money');
  expect(bob.errors).toEqual([]);
});

test('3. a hello with a swapped public key is refused: the member is not in the roster', async ({ open }) => {
  const impostor = await generateIdentity();
  relay.toClient = (conn, frame) => {
    const f = parse(frame);
    if (conn.index !== 1 || f.t !== 'welcome' || f.members === undefined) return frame;
    return JSON.stringify({ ...f, members: f.members.map((h) => ({ ...h, encSpki: impostor.encSpki })) });
  };
  const alice = await open(`${relay.origin}/`, 'Alice');
  const bob = await open(await inviteLink(alice.page), 'Bob');
  await expect(log(bob.page)).toContainText('Someone tried to join without a valid key or this room’s link, and was blocked.');
  await expect(roster(bob.page).getByRole('listitem')).toHaveCount(1);
  await expect(roster(bob.page)).not.toContainText('Alice');
  // The bad hello, then the hidden member's own roster statements: all counted as forged.
  await expect(blockedCount(bob.page, 'forged')).toHaveText(/^[1-9]\d*$/);
});

test('8. a withheld message shows up as a gap with the next one', async ({ open }) => {
  let dropped = 0;
  relay.toClient = (conn, frame) => {
    if (conn.index === 1 && parse(frame).t === 'msg' && dropped === 0) {
      dropped += 1;
      return null;
    }
    return frame;
  };
  const { alice, bob } = await aliceAndBob(open);
  await send(alice, 'this one is withheld');
  await expect(log(alice.page)).toContainText('this one is withheld');
  await send(alice, 'this one arrives');
  await expect(log(bob.page)).toContainText('1 message from Alice was not delivered to you.');
  await expect.poll(() => messages(bob.page)).toEqual(['Alice: this one arrives']);
  await expect(blockedCount(bob.page, 'gaps')).toHaveText('1');
});

test('9. a message with Bob, his hash and his wrap stripped out is blocked, not shown', async ({ open }) => {
  relay.toClient = (conn, frame) => {
    const f = parse(frame);
    const bobFp = relay.conns[1]?.fp;
    if (conn.index !== 1 || f.t !== 'msg' || f.env === undefined || bobFp == null) return frame;
    const at = f.env.recipients.indexOf(bobFp);
    const hashes = Buffer.from(f.env.wrapHashes, 'base64url');
    const wrapHashes = Buffer.concat([hashes.subarray(0, at * WRAP_HASH_BYTES), hashes.subarray((at + 1) * WRAP_HASH_BYTES)]).toString('base64url');
    return JSON.stringify({ t: 'msg', env: { ...f.env, recipients: f.env.recipients.filter((r) => r !== bobFp), wrapHashes } });
  };
  const { alice, bob } = await aliceAndBob(open);
  await send(alice, 'you should not see me stripped');
  await expect(log(bob.page)).toContainText('A message claiming to be from Alice had a damaged recipient list and was blocked.');
  expect(await messages(bob.page)).toEqual([]);
  await expect(blockedCount(bob.page, 'tampered')).toHaveText('1');
});

test('11. a message handed to Bob with a wrap its signed hash does not match is blocked, not shown', async ({ open }) => {
  relay.toClient = (conn, frame) => {
    const f = parse(frame);
    if (conn.index !== 1 || f.t !== 'msg' || f.wrap === undefined) return frame;
    return JSON.stringify({ ...f, wrap: randomBytes(WRAP_BYTES).toString('base64url') });
  };
  const { alice, bob } = await aliceAndBob(open);
  await send(alice, 'you should not see me with a strange key');
  await expect(log(bob.page)).toContainText('A message claiming to be from Alice failed verification and was blocked.');
  expect(await messages(bob.page)).toEqual([]);
  await expect(blockedCount(bob.page, 'forged')).toHaveText('1');
  // The relay's own frames to Alice were untouched: she sees her message.
  await expect(log(alice.page)).toContainText('you should not see me with a strange key');
});

test('19. markup in names, messages and the server log is shown as text and runs nothing', async ({ server, open }) => {
  const evilName = '<img src=x onerror="window.__pwned=1">';
  const evilBody = '<script>window.__pwned=2</script><b onmouseover="window.__pwned=3">bold?</b> javascript:alert(1)';
  const violations: string[] = [];
  const watch = async (p: Person) => {
    p.page.on('dialog', (d) => { violations.push(`dialog: ${d.message()}`); void d.dismiss(); });
    await p.page.evaluate(() => {
      document.addEventListener('securitypolicyviolation', (e) => { (window as unknown as { __violations: string[] }).__violations.push(e.violatedDirective); });
      (window as unknown as { __violations: string[] }).__violations = [];
    });
  };
  const alice = await open(`${server.origin}/`);
  await watch(alice);
  alice.name = evilName;
  await alice.page.getByLabel('Your name').fill(evilName);
  await alice.page.getByRole('button', { name: 'Join' }).click();
  const bob = await open(await inviteLink(alice.page));
  await watch(bob);
  await bob.page.getByLabel('Your name').fill('Bob');
  await bob.page.getByRole('button', { name: 'Join' }).click();
  await expect(roster(bob.page).getByRole('listitem')).toHaveCount(2);
  await send(alice, evilBody);
  await expect(log(bob.page)).toContainText(evilBody);
  await expect(roster(bob.page)).toContainText(evilName);
  await bob.page.getByText('Server view').click();
  await expect(bob.page.getByLabel('Server log')).toContainText('"type": "msg"');

  for (const p of [alice, bob]) {
    expect(await p.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await p.page.evaluate(() => (window as unknown as { __violations: string[] }).__violations)).toEqual([]);
    expect(await p.page.locator('.timeline img, .timeline script, .timeline b, .roster img').count()).toBe(0);
    expect(p.errors).toEqual([]);
  }
  expect(violations).toEqual([]);
});
