/**
 * The receiver's checks in client/room.ts one at a time, against the real
 * client core: the verdict each frame gets, and what the person sees (the
 * notice's words, its tone, whether it offers to verify). Written for the
 * mutants of room.ts that no other test killed (npm run test:mutation).
 */
import { describe, expect, it } from 'vitest';
import { nanoid } from 'nanoid';
import { deriveRoomKeys, generateIdentity, makeHello, randomBytes, sealMessage, signRosterConfirm, type Identity, type PeerKeys, type RoomKeys } from '../../client/crypto';
import { ROSTER_AGREE_GRACE_MS, SEQ_WINDOW } from '../../client/timing';
import { MOVE_PREFIX, encodeServerFrame, moveBody, toB64u, type RoomStatement, type RosterConfirm } from '../../client/protocol';
import { noticeFor } from '../../client/verdicts';
import { START, signRoomStatement } from '../../client/room-state';
import { advance, deliveryOf, frameOf, lastStatement, makeMember, makeRoom, messagesOf, noticesOf, post, sealedOf, tick, type TestMember } from '../support/members';

const pair = async () => {
  const room = await makeRoom(['Alice', 'Bob']);
  const [alice, bob] = room.members as [TestMember, TestMember];
  return { room, alice, bob };
};
const statement = (rc: RosterConfirm) => encodeServerFrame({ t: 'roster', rc });
const lastStatementOf = (m: TestMember): RosterConfirm => (JSON.parse(lastStatement(m)) as { rc: RosterConfirm }).rc;
/** The same statement with one character of its signature changed: still well formed, no longer signed. */
const unsigned = (rc: RosterConfirm): RosterConfirm => ({ ...rc, sig: (rc.sig.startsWith('A') ? 'B' : 'A') + rc.sig.slice(1) });
const noticeEntries = (m: TestMember) => m.session.view().timeline.flatMap((e) => (e.kind === 'notice' ? [e] : []));
/** A room statement (PROTOCOL.md §12) signed by `by`: the room open and nobody decided on, unless `facts` say otherwise. */
const roomStatement = async (keys: RoomKeys, by: Identity, n: number, facts: Partial<Pick<RoomStatement, 'lobby' | 'lock' | 'admitted' | 'turnedAway' | 'removed'>> = {}) =>
  encodeServerFrame({ t: 'state', st: await signRoomStatement(keys, by, n, { lobby: START, lock: START, admitted: [], turnedAway: [], removed: [], ...facts }) });
/** The keys of the members `m` sees, all of them or those of the names given. */
const keysOf = (m: TestMember, names?: string[]): PeerKeys[] => m.session.view().members.filter((x) => names === undefined || names.includes(x.name)).map((x) => x.keys);
/** A message upload signed and encrypted by `from`, with a body and seq of the test's choosing (post() refuses a NUL first and counts seq itself). */
const sealedFrame = async (from: TestMember, recipients: PeerKeys[], content: { seq: number; body: string; kind?: 'file' }) =>
  frameOf(await sealMessage(from.session.keys, from.identity, { msgId: nanoid(), ts: tick(), ...content }, recipients));
const waitFor = async (what: string, pred: () => boolean) => {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!pred()) throw new Error(`${what} did not happen`);
};

describe('roster statements', () => {
  it('refuses a statement signed for another room as addressed to another room', async () => {
    const { alice, bob } = await pair();
    const elsewhere = await deriveRoomKeys(randomBytes(32));
    // Bob's own key signs it, so only the room check can tell.
    const rc = await signRosterConfirm(elsewhere, bob.identity, 1, 0, [alice.identity.fp, bob.identity.fp]);
    expect(await alice.session.receive(statement(rc))).toEqual([{ ok: false, reason: 'wrong-room', detail: 'statement room differs' }]);
  });

  it('refuses a statement from outside the roster, signed by its own key', async () => {
    const { room, alice, bob } = await pair();
    const mallory = await generateIdentity();
    const rc = await signRosterConfirm(room.keys, mallory, 1, 0, [alice.identity.fp, bob.identity.fp, mallory.fp]);
    expect(await alice.session.receive(statement(rc))).toEqual([{ ok: false, reason: 'unknown-sender', detail: 'statement from outside the roster' }]);
    expect(noticesOf(alice)).toEqual([noticeFor('unknown-sender')]);
  });

  it('reports no gap for a statement that counts nothing missing', async () => {
    const { alice, bob } = await pair();
    await alice.session.receive(await post(bob, 'one'));
    await bob.session.confirmRoster();
    expect(await alice.session.receive(statement(lastStatementOf(bob)))).toEqual([{ ok: true }]);
    expect(noticesOf(alice)).toEqual([]);
    expect(alice.session.view().blocked.gaps).toBe(0);
  });

  it('says a refused statement once per sender and reason, and counts every one', async () => {
    const room = await makeRoom(['Alice', 'Bob', 'Carol']);
    const [alice, bob, carol] = room.members as [TestMember, TestMember, TestMember];
    await bob.session.confirmRoster();
    await carol.session.confirmRoster();
    const fromBob = unsigned(lastStatementOf(bob));
    const bad = 'A message claiming to be from Bob failed verification and was blocked.';
    expect(await alice.session.receive(statement(fromBob))).toEqual([{ ok: false, reason: 'bad-signature', detail: 'roster statement signature invalid' }]);
    expect(noticesOf(alice)).toEqual([bad]);
    // Again: counted, not said again (not even as a counted line).
    expect(await alice.session.receive(statement(fromBob))).toEqual([{ ok: false, reason: 'bad-signature', detail: 'roster statement signature invalid' }]);
    expect(noticesOf(alice)).toEqual([bad]);
    expect(alice.session.view().blocked.forged).toBe(2);
    // Another sender's is its own line.
    await alice.session.receive(statement(unsigned(lastStatementOf(carol))));
    expect(noticesOf(alice)).toEqual([bad, 'A message claiming to be from Carol failed verification and was blocked.']);
  });
});

describe('room statements', () => {
  it('refuses one signed for another room, by a member’s own key, as addressed to another room', async () => {
    const { alice, bob } = await pair();
    const elsewhere = await deriveRoomKeys(randomBytes(32));
    const lobby = { on: true, ver: 1, by: bob.identity.fp };
    expect(await alice.session.receive(await roomStatement(elsewhere, bob.identity, 1, { lobby }))).toEqual([{ ok: false, reason: 'wrong-room', detail: 'room statement room differs' }]);
    expect(alice.session.view().membership.lobby).toBe(false);
  });

  it('refuses one from outside the roster, signed by its own key', async () => {
    const { room, alice } = await pair();
    const mallory = await generateIdentity();
    expect(await alice.session.receive(await roomStatement(room.keys, mallory, 1))).toEqual([{ ok: false, reason: 'unknown-sender', detail: 'room statement from outside the roster' }]);
    expect(noticesOf(alice)).toEqual([noticeFor('unknown-sender')]);
  });

  it('says nothing of a statement that changes nothing', async () => {
    const { alice, bob } = await pair();
    expect(await alice.session.receive(await roomStatement(alice.session.keys, bob.identity, 1))).toEqual([{ ok: true }]);
    expect(noticesOf(alice)).toEqual([]);
  });

  it.each([
    ['removes me', { removed: true }, 'Bob removed you from the room.'],
    ['turns me away', { removed: false }, 'Bob turned you away.'],
  ])('ends my visit when a member’s statement %s, and says who and which', async (_, { removed }, told) => {
    const { room, alice, bob } = await pair();
    const lobby = { on: true, ver: 1, by: bob.identity.fp };
    const facts = removed ? { removed: [alice.identity.fp] } : { lobby, admitted: [bob.identity.fp], turnedAway: [alice.identity.fp] };
    expect(await alice.session.receive(await roomStatement(room.keys, bob.identity, 1, facts))).toEqual([{ ok: true }]);
    expect(noticesOf(alice).at(-1)).toBe(told);
    expect(noticeEntries(alice).at(-1)?.tone).toBe('warning');
    // Nothing after that is this visit's business.
    expect(await alice.session.receive(await post(bob, 'still there?'))).toEqual([]);
  });

  it('restates its own state when a merged statement changed it, and only then', async () => {
    const { room, alice, bob } = await pair();
    const states = () => alice.sent.filter((f) => f.includes('"t":"state"')).length;
    // The state her welcome changed goes out at the refresh; a frame that changes nothing lets it finish.
    const settle = () => alice.session.receive(encodeServerFrame({ t: 'leave', fp: 'A'.repeat(43) }));
    alice.session.refresh();
    await settle();
    const before = states();
    const facts = { lobby: { on: true, ver: 1, by: bob.identity.fp }, admitted: [alice.identity.fp, bob.identity.fp].sort() };
    await alice.session.receive(await roomStatement(room.keys, bob.identity, 1, facts));
    expect(states()).toBe(before + 1);
    await alice.session.receive(await roomStatement(room.keys, bob.identity, 2, facts));
    expect(states()).toBe(before + 1);
  });

  it('ignores, without alarm, one from a newcomer still waiting to be let in', async () => {
    const { room, alice, bob } = await pair();
    await alice.session.receive(await roomStatement(room.keys, bob.identity, 1, { lobby: { on: true, ver: 1, by: bob.identity.fp }, admitted: [alice.identity.fp, bob.identity.fp].sort() }));
    expect(noticesOf(alice)).toEqual(['Bob turned on Ask to join: newcomers wait until someone in the room lets them in.']);
    const carol = await makeMember(room.keys, 'Carol');
    await alice.session.receive(encodeServerFrame({ t: 'join', hello: carol.hello }));
    const before = noticesOf(alice);
    // Carol knows nothing yet and states the open room she believes in.
    expect(await alice.session.receive(await roomStatement(room.keys, carol.identity, 1))).toEqual([{ ok: false, reason: 'not-admitted', detail: 'room statement from someone waiting to be let in' }]);
    expect(noticesOf(alice)).toEqual(before);
    // Not counted as blocked either.
    expect(Object.values(alice.session.view().blocked).filter((n) => n !== 0)).toEqual([]);
    expect(alice.session.view().membership.lobby).toBe(true);
  });
});

describe('frames from the relay', () => {
  it('refuses a second challenge as malformed', async () => {
    const { alice } = await pair();
    expect(await alice.session.receive(encodeServerFrame({ t: 'challenge', nonce: toB64u(randomBytes(32)) }))).toEqual([{ ok: false, reason: 'malformed', detail: 'unexpected challenge' }]);
  });

  it('takes a leave as a verdict of its own: accepted, and the member is gone', async () => {
    const { alice, bob } = await pair();
    expect(await alice.session.receive(encodeServerFrame({ t: 'leave', fp: bob.identity.fp }))).toEqual([{ ok: true }]);
    expect(alice.session.view().members.map((m) => m.name)).toEqual(['Alice']);
    const [gone] = noticeEntries(alice);
    expect(gone).toMatchObject({ text: '{who} lost connection.', tone: 'info' });
  });

  it('accepts the hello of a member already here again without a second join', async () => {
    const { alice, bob } = await pair();
    expect(await alice.session.receive(encodeServerFrame({ t: 'join', hello: bob.hello }))).toEqual([{ ok: true }]);
    expect(alice.session.view().members.map((m) => m.name).sort()).toEqual(['Alice', 'Bob']);
    expect(noticesOf(alice)).toEqual([]);
  });
});

describe('joins and what they say', () => {
  it('says a newcomer joined, as information that offers to verify, and fills in its safety code', async () => {
    const { room, alice } = await pair();
    const carol = await makeMember(room.keys, 'Carol');
    expect(await alice.session.receive(encodeServerFrame({ t: 'join', hello: carol.hello }))).toEqual([{ ok: true }]);
    expect(noticeEntries(alice)).toMatchObject([{ text: '{who} joined. Compare safety codes to know it is really them.', tone: 'info', canVerify: true }]);
    // The code is computed off the roster's path, then shown.
    await waitFor('Carol’s code', () => alice.session.view().members.find((m) => m.name === 'Carol')?.code !== null);
    const code = alice.session.view().members.find((m) => m.name === 'Carol')?.code;
    expect(code?.digits).toMatch(/^\d{30}$/);
    expect(code?.emoji).toHaveLength(5);
  });

  it('takes a hello whose earlier identity this tab never saw as a plain join', async () => {
    const { room, alice } = await pair();
    const stranger = await generateIdentity();
    const carol = await generateIdentity();
    const hello = await makeHello(room.keys, carol, 'Carol', { fp: stranger.fp, sigPriv: stranger.sigPriv });
    expect(await alice.session.receive(encodeServerFrame({ t: 'join', hello }))).toEqual([{ ok: true }]);
    expect(noticesOf(alice)).toEqual(['Carol joined. Compare safety codes to know it is really them.']);
    expect(alice.session.view().members.find((m) => m.name === 'Carol')?.trust).toBe('unverified');
  });

  it('warns, and offers to verify, when a name comes back with a new key', async () => {
    const { room, alice, bob } = await pair();
    await alice.session.receive(encodeServerFrame({ t: 'leave', fp: bob.identity.fp }));
    const again = await makeMember(room.keys, 'Bob');
    await alice.session.receive(encodeServerFrame({ t: 'join', hello: again.hello }));
    expect(noticeEntries(alice).at(-1)).toMatchObject({ text: '{who} rejoined with a new key — verify again.', tone: 'warning', canVerify: true });
  });
});

describe('a member back under a new key', () => {
  it('says a reconnect vouched for by the old key as information, in place of the lost connection', async () => {
    const { room, alice, bob } = await pair();
    await alice.session.receive(encodeServerFrame({ t: 'leave', fp: bob.identity.fp }));
    const next = await generateIdentity();
    const hello = await makeHello(room.keys, next, 'Bob', { fp: bob.identity.fp, sigPriv: bob.identity.sigPriv });
    expect(await alice.session.receive(encodeServerFrame({ t: 'join', hello }))).toEqual([{ ok: true }]);
    const entries = noticeEntries(alice);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ text: '{who} reconnected (their previous key vouched for the new one).', tone: 'info' });
    expect(entries[0]?.canVerify).toBeUndefined();
  });

  it('warns, and offers to verify, when the old key of a name that came back new leaves after it', async () => {
    const { room, alice, bob } = await pair();
    const again = await makeMember(room.keys, 'Bob');
    await alice.session.receive(encodeServerFrame({ t: 'join', hello: again.hello }));
    await alice.session.receive(encodeServerFrame({ t: 'leave', fp: bob.identity.fp }));
    expect(noticeEntries(alice).at(-1)).toMatchObject({ text: '{who} rejoined with a new key — verify again.', tone: 'warning', canVerify: true });
  });

  it('shows a refusal as a warning', async () => {
    const { alice, bob } = await pair();
    const frame = await post(bob, 'once');
    await alice.session.receive(frame);
    await alice.session.receive(frame);
    expect(noticeEntries(alice)).toMatchObject([{ text: noticeFor('replay'), tone: 'warning' }]);
  });
});

describe('messages', () => {
  const sealBy = (from: TestMember, seq: number, recipients: PeerKeys[]) => sealedFrame(from, recipients, { seq, body: `number ${seq}` });

  it('refuses a delivery whose wrap does not fit the recipients, and says which way', async () => {
    const { alice, bob } = await pair();
    const { env, wraps } = sealedOf(await post(bob, 'for both'));
    expect(await alice.session.receive(deliveryOf(env))).toEqual([{ ok: false, reason: 'malformed', detail: 'no wrap for a recipient' }]);
    const notForAlice = sealedOf(await sealBy(bob, 2, keysOf(alice, ['Bob'])));
    const bobsWrap = Object.values(wraps)[0] ?? '';
    expect(await alice.session.receive(deliveryOf(notForAlice.env, bobsWrap))).toEqual([{ ok: false, reason: 'malformed', detail: 'a wrap for a non-recipient' }]);
    expect(messagesOf(alice)).toEqual([]);
  });

  it('refuses a message from before the window, and shows it nowhere', async () => {
    const { alice, bob } = await pair();
    const both = keysOf(alice, ['Alice', 'Bob']);
    expect(await alice.session.receive(await sealBy(bob, SEQ_WINDOW + 10, both))).toEqual([{ ok: true }]);
    const [old] = await alice.session.receive(await sealBy(bob, 1, both));
    expect(old).toEqual({ ok: false, reason: 'out-of-window', detail: `seq 1 vs ${SEQ_WINDOW + 10}` });
    expect(messagesOf(alice)).toEqual([`Bob: number ${SEQ_WINDOW + 10}`]);
    expect(noticesOf(alice)).toEqual(['A message from Bob arrived far out of order and was blocked.']);
  });

  it('takes a message not encrypted for me, while I wait to be let in, without alarm', async () => {
    const { room, alice, bob } = await pair();
    const lobby = { on: true, ver: 1, by: bob.identity.fp };
    await alice.session.receive(await roomStatement(room.keys, bob.identity, 1, { lobby, admitted: [bob.identity.fp] }));
    expect(alice.session.view().membership.me).toBe('waiting');
    const before = noticesOf(alice);
    expect(await alice.session.receive(await sealBy(bob, 1, keysOf(alice, ['Bob'])))).toEqual([{ ok: false, reason: 'excluded', detail: 'waiting to be let in' }]);
    expect(noticesOf(alice)).toEqual(before);
  });

  it.each([
    ['a room change it does not know (a NUL first)', { body: '\u0000dance' }, 'unknown room change'],
    ['a file offer that does not parse', { body: 'not an offer', kind: 'file' as const }, null],
  ])('refuses %s, signed and encrypted as it may be, and shows nothing of it', async (_, content, detail) => {
    const { alice, bob } = await pair();
    const [verdict] = await alice.session.receive(await sealedFrame(bob, keysOf(alice), { seq: 1, ...content }));
    expect(verdict).toMatchObject({ ok: false, reason: 'malformed', ...(detail === null ? {} : { detail }) });
    expect(alice.session.view().timeline.filter((e) => e.kind !== 'notice')).toEqual([]);
    expect(noticesOf(alice)).toEqual([noticeFor('malformed')]);
  });

  it('warns once when a member’s messages are encrypted for another member list than mine, past the grace period', async () => {
    const room = await makeRoom(['Alice', 'Bob', 'Carol']);
    const [alice, bob, carol] = room.members as [TestMember, TestMember, TestMember];
    // Bob believes Carol left: he encrypts for Alice and himself only.
    await bob.session.receive(encodeServerFrame({ t: 'leave', fp: carol.identity.fp }));
    const hear = async (from: TestMember, text: string) => expect(await alice.session.receive(await post(from, text))).toEqual([{ ok: true }]);
    await hear(bob, 'one');
    await hear(carol, 'one');
    expect(noticesOf(alice)).toEqual([]);
    advance(ROSTER_AGREE_GRACE_MS);
    await hear(bob, 'two');
    await hear(carol, 'two');
    await hear(bob, 'three');
    expect(noticesOf(alice)).toEqual(['Bob sees a different member list.']);
    expect(noticeEntries(alice)[0]?.tone).toBe('warning');
    expect(messagesOf(alice)).toEqual(['Bob: one', 'Carol: one', 'Bob: two', 'Carol: two', 'Bob: three']);
  });

  it('compares a message’s list with the members who are in: one who waits to be let in is not encrypted for', async () => {
    const { room, alice, bob } = await pair();
    const lobby = { on: true, ver: 1, by: bob.identity.fp };
    await alice.session.receive(await roomStatement(room.keys, bob.identity, 1, { lobby, admitted: [alice.identity.fp, bob.identity.fp].sort() }));
    const carol = await makeMember(room.keys, 'Carol');
    await alice.session.receive(encodeServerFrame({ t: 'join', hello: carol.hello }));
    expect(alice.session.view().members.find((m) => m.name === 'Carol')?.standing).toBe('waiting');
    await alice.session.receive(await post(bob, 'one'));
    advance(ROSTER_AGREE_GRACE_MS);
    await alice.session.receive(await post(bob, 'two'));
    expect(messagesOf(alice)).toEqual(['Bob: one', 'Bob: two']);
    expect(noticesOf(alice).filter((t) => t.includes('different member list'))).toEqual([]);
  });

  it('says a message counted missing by a statement arrived late, as a warning', async () => {
    const { alice, bob } = await pair();
    await alice.session.receive(await post(bob, 'zero'));
    const first = await post(bob, 'first');
    await bob.session.confirmRoster();
    await alice.session.receive(statement(lastStatementOf(bob)));
    expect(noticesOf(alice)).toEqual(['1 message from Bob was not delivered to you.']);
    await alice.session.receive(first);
    expect(noticeEntries(alice)).toMatchObject([{ text: 'The next message from {who} arrived late, out of order.', tone: 'warning' }]);
  });
});

describe('a removed member’s successors', () => {
  it('shuts out a key that claims to continue a removed one, even when the claim does not check out', async () => {
    const room = await makeRoom(['Alice', 'Bob', 'Mallory']);
    const [alice, bob, mallory] = room.members as [TestMember, TestMember, TestMember];
    await alice.session.receive(await roomStatement(room.keys, bob.identity, 1, { removed: [mallory.identity.fp] }));
    await alice.session.receive(encodeServerFrame({ t: 'leave', fp: mallory.identity.fp }));
    // Signed by a key of her own, not by Mallory's old one.
    const other = await generateIdentity();
    const hello = await makeHello(room.keys, await generateIdentity(), 'Mallory', { fp: mallory.identity.fp, sigPriv: other.sigPriv });
    expect(await alice.session.receive(encodeServerFrame({ t: 'join', hello }))).toEqual([{ ok: true }]);
    expect(alice.session.view().members.find((m) => m.name === 'Mallory')?.standing).toBe('removed');
  });
});

describe('a member who waits decides nothing', () => {
  it('leaves a knock alone in a locked room while it waits itself: turning away is for members who are in', async () => {
    const { room, alice, bob } = await pair();
    const on = { on: true, ver: 1, by: bob.identity.fp };
    await alice.session.receive(await roomStatement(room.keys, bob.identity, 1, { lobby: on, lock: on, admitted: [bob.identity.fp] }));
    expect(alice.session.view().membership.me).toBe('waiting');
    const before = noticesOf(alice);
    const dave = await makeMember(room.keys, 'Dave');
    await alice.session.receive(encodeServerFrame({ t: 'join', hello: dave.hello }));
    expect(alice.session.view().members.find((m) => m.name === 'Dave')?.standing).toBe('waiting');
    expect(noticesOf(alice)).toEqual(before);
  });

  it('states nothing while it waits: its statement would only be ignored', async () => {
    const { room, alice, bob } = await pair();
    const on = { on: true, ver: 1, by: bob.identity.fp };
    await alice.session.receive(await roomStatement(room.keys, bob.identity, 1, { lobby: on, admitted: [bob.identity.fp] }));
    const states = () => alice.sent.filter((f) => f.includes('"t":"state"')).length;
    const before = states();
    // A change of roster, and the refresh that would send the statement it makes.
    await alice.session.receive(encodeServerFrame({ t: 'join', hello: (await makeMember(room.keys, 'Dave')).hello }));
    alice.session.refresh();
    await alice.session.confirmRoster();
    expect(states()).toBe(before);
  });
});

describe('moves to a new link', () => {
  /** A message with this body, signed by `from` and encrypted for everyone `to` sees. */
  const moveBy = (from: TestMember, to: TestMember, body: string, seq = 1) => sealedFrame(from, keysOf(to), { seq, body });

  it.each([
    ['one that does not parse', (_bob: TestMember) => `${MOVE_PREFIX}not a secret|nobody`],
    ['one whose sender removes itself', (bob: TestMember) => moveBody(toB64u(randomBytes(32)), bob.identity.fp)],
  ])('refuses %s, and stays', async (_, body) => {
    const { alice, bob } = await pair();
    expect(await alice.session.receive(await moveBy(bob, alice, body(bob)))).toEqual([{ ok: false, reason: 'malformed', detail: 'move is malformed' }]);
    // Still here: the next message is read.
    expect(await alice.session.receive(await moveBy(bob, alice, 'after', 2))).toEqual([{ ok: true }]);
    expect(messagesOf(alice)).toEqual(['Bob: after']);
  });

  it('says so when a move removes me, though it was encrypted for me', async () => {
    const { alice, bob } = await pair();
    expect(await alice.session.receive(await moveBy(bob, alice, moveBody(toB64u(randomBytes(32)), alice.identity.fp)))).toEqual([{ ok: true }]);
    expect(noticesOf(alice).at(-1)).toBe('Bob removed you. Moving to the room’s new link…');
  });
});
