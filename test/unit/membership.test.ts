/**
 * Ask to join, let in, turn away, lock and remove (PROTOCOL.md §12), with
 * real RoomConnections on an in-memory relay: what each person sees, and
 * what a relay that replays, forges, hides or keeps relaying cannot do.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deriveRoomKeys, generateIdentity, makeHello, randomBytes, sealMessage, type Identity, type RoomKeys } from '../../client/crypto';
import { encodeClientFrame, encodeServerFrame, toB64u, type RoomStatement } from '../../client/protocol';
import { ROSTER_AGREE_GRACE_MS } from '../../client/timing';
import { joinRoom } from '../../client/join-room';
import { Membership, START, signRoomStatement } from '../../client/room-state';
import { MemRelay, person, type Person } from '../support/mem-relay';
import { RelayedSession, advance, envOf, frameOf, makeMember, makeRoom, messagesOf, noticesOf, post, tick, uploadText, type TestMember } from '../support/members';

const people: Person[] = [];
afterEach(() => {
  for (const p of people.splice(0)) p.connection.dispose();
});

async function room(...names: string[]): Promise<{ relay: MemRelay; secret: Uint8Array; ps: Person[] }> {
  const relay = new MemRelay();
  const secret = randomBytes(32);
  const ps: Person[] = [];
  for (const name of names) {
    const p = person(relay, secret, name);
    people.push(p);
    ps.push(p);
    // One at a time, so the first one starts the room.
    await p.until(() => p.view().membership.me === 'in' && p.view().members.length === ps.length, 'joining');
  }
  for (const p of ps) await p.until(() => p.view().members.length === ps.length, 'seeing everyone');
  return { relay, secret, ps };
}

const knock = (relay: MemRelay, secret: Uint8Array, name: string): Person => {
  const p = person(relay, secret, name);
  people.push(p);
  return p;
};

const standingOf = (viewer: Person, name: string) => viewer.view().members.find((m) => m.name === name)?.standing;

describe('ask to join', () => {
  it('shows a newcomer as waiting, with its safety code, and lets nobody encrypt for it until a member lets it in', async () => {
    const { relay, secret, ps: [alice, bob] } = await room('Alice', 'Bob') as { relay: MemRelay; secret: Uint8Array; ps: [Person, Person] };
    await alice.connection.setSwitch('lobby', true);
    await bob.until(() => bob.view().membership.lobby, 'learning the lobby is on');
    expect(bob.notices()).toContain('Alice turned on Ask to join: newcomers wait until someone in the room lets them in.');

    const dave = knock(relay, secret, 'Dave');
    await alice.until(() => standingOf(alice, 'Dave') === 'waiting', 'seeing Dave knock');
    await bob.until(() => standingOf(bob, 'Dave') === 'waiting' && bob.view().members.find((m) => m.name === 'Dave')?.code !== null, 'seeing Dave knock');
    expect(alice.notices().at(-1)).toBe('Dave is asking to join. Compare their safety code, then let them in or turn them away.');
    await dave.until(() => dave.view().membership.me === 'waiting' && dave.view().membership.lobby, 'Dave learning he waits');
    expect(dave.view().membership.canDecide).toBe(false);
    await expect(dave.connection.send('let me in')).rejects.toThrow('you are waiting to be let in');

    await alice.connection.send('before Dave is in');
    await bob.until(() => bob.messages().includes('Alice: before Dave is in'), 'Bob reading Alice');
    await new Promise((r) => setTimeout(r, 200));
    expect(dave.messages()).toEqual([]);
    // Waiting is no alarm: no "excluded you" warning for a message not meant for him.
    expect(dave.notices().filter((n) => n.includes('excluded'))).toEqual([]);

    await bob.connection.letIn(bob.fpOf('Dave'));
    await dave.until(() => dave.view().membership.me === 'in', 'Dave let in');
    await alice.until(() => standingOf(alice, 'Dave') === 'in', 'Alice seeing Dave in');
    expect(alice.notices()).toContain('Bob let Dave in.');
    expect(dave.notices()).toContain('Bob let you in. You can read and write from now on.');
    await alice.connection.send('welcome Dave');
    await dave.until(() => dave.messages().includes('Alice: welcome Dave'), 'Dave reading Alice');
    expect(dave.messages()).toEqual(['Alice: welcome Dave']);
    await dave.connection.send('thanks');
    await bob.until(() => bob.messages().includes('Dave: thanks'), 'Bob reading Dave');
  }, 120_000);

  it('ends a turned-away newcomer’s visit with who turned it away, and never shows what it sends', async () => {
    const { relay, secret, ps: [alice, bob] } = await room('Alice', 'Bob') as { relay: MemRelay; secret: Uint8Array; ps: [Person, Person] };
    await alice.connection.setSwitch('lobby', true);
    const eve = knock(relay, secret, 'Eve');
    await alice.until(() => standingOf(alice, 'Eve') === 'waiting', 'Eve knocking');
    await alice.connection.turnAway(alice.fpOf('Eve'));
    await eve.until(() => eve.connection.phase.kind === 'ended', 'Eve ended');
    expect(eve.connection.phase).toEqual({ kind: 'ended', reason: 'Alice turned you away' });
    await bob.until(() => bob.notices().includes('Alice turned Eve away.'), 'Bob told');
  }, 120_000);
});

describe('lock', () => {
  it('turns a knock away at once while the room is locked', async () => {
    const { relay, secret, ps: [alice, bob] } = await room('Alice', 'Bob') as { relay: MemRelay; secret: Uint8Array; ps: [Person, Person] };
    await bob.connection.setSwitch('lock', true);
    await alice.until(() => alice.view().membership.locked, 'Alice learning of the lock');
    expect(alice.notices()).toContain('Bob locked the room: nobody new can join.');
    const eve = knock(relay, secret, 'Eve');
    await eve.until(() => eve.connection.phase.kind === 'ended', 'Eve turned away');
    expect(eve.connection.phase.kind === 'ended' && eve.connection.phase.reason).toMatch(/^(Alice|Bob) turned you away$/);
    expect(alice.messages()).toEqual([]);
  }, 120_000);
});

describe('what a relay cannot do', () => {
  it('refuses an old room statement replayed over a newer one, also after a reconnect carried the state over', async () => {
    const { relay, ps: [alice, bob] } = await room('Alice', 'Bob') as { relay: MemRelay; secret: Uint8Array; ps: [Person, Person] };
    const bobFp = bob.me();
    await alice.connection.setSwitch('lobby', true);
    await bob.until(() => bob.view().membership.lobby, 'lobby on');
    const old = (relay.delivered.get(bobFp) ?? []).filter((f) => f.includes('"t":"state"') && f.includes('"lobby":{"on":true'));
    expect(old.length).toBeGreaterThan(0);
    await alice.connection.setSwitch('lobby', false);
    await bob.until(() => !bob.view().membership.lobby, 'lobby off');
    const replayedBefore = bob.view().blocked.replayed;
    for (const f of old) relay.inject(bobFp, f);
    await bob.until(() => bob.view().blocked.replayed > replayedBefore, 'refusing the replay');
    expect(bob.view().membership.lobby).toBe(false);

    // Bob's tab reconnects with new keys, and the relay withholds Alice's fresh statements from
    // the new connection: only the counters carried over can tell the replay.
    const aliceFp = alice.me();
    relay.tap = (frame, to) => (to.fp !== aliceFp && to.fp !== bobFp && frame.includes('"t":"state"') ? null : frame);
    relay.drop(bobFp);
    await bob.until(() => bob.me() !== bobFp && bob.connection.phase.kind === 'joined' && bob.view().members.length === 2, 'reconnecting', 60_000);
    const replayedAfter = bob.view().blocked.replayed;
    for (const f of old) relay.inject(bob.me(), f);
    await bob.until(() => bob.view().blocked.replayed > replayedAfter, 'refusing the replay after reconnecting');
    expect(bob.view().membership.lobby).toBe(false);
  }, 120_000);

  it('cannot hide Ask to join from a newcomer to get it let in: the members still refuse it and never encrypt for it', async () => {
    const { relay, secret, ps: [alice, bob] } = await room('Alice', 'Bob') as { relay: MemRelay; secret: Uint8Array; ps: [Person, Person] };
    await alice.connection.setSwitch('lobby', true);
    await bob.until(() => bob.view().membership.lobby, 'lobby on');
    let isHiding = true;
    const insiders = new Set([alice.me(), bob.me()]);
    relay.tap = (frame, to) => (isHiding && !insiders.has(to.fp ?? '') && frame.includes('"t":"state"') ? null : frame);
    const dave = knock(relay, secret, 'Dave');
    await alice.until(() => standingOf(alice, 'Dave') === 'waiting', 'Dave knocking');
    // Without any room statement, Dave's page does not claim he is in.
    await dave.until(() => dave.view().members.length === 3, 'Dave seeing the room');
    expect(dave.view().membership.me).toBe('waiting');
    expect(dave.view().membership.canDecide).toBe(false);
    // His client, fooled into thinking the room open, sends anyway: nobody shows it.
    await dave.connection.send('am I in?');
    await alice.connection.send('members only');
    await bob.until(() => bob.messages().includes('Alice: members only'), 'Bob reading Alice');
    await new Promise((r) => setTimeout(r, 300));
    expect(alice.messages()).toEqual(['Alice: members only']);
    expect(bob.messages()).toEqual(['Alice: members only']);
    expect(dave.messages()).toEqual(['Dave: am I in?']);
    expect(bob.notices()).toContain('Dave is not let into the room: what they sent was not shown or followed.');
    // Once one statement gets through, Dave's page knows he waits.
    isHiding = false;
    await alice.connection.setSwitch('lock', false);
    await bob.connection.setSwitch('lock', true);
    await dave.until(() => dave.connection.phase.kind === 'ended', 'Dave turned away by the lock');
  }, 120_000);
});

describe('remove', () => {
  it('moves everyone else to a new link with verified marks intact, and tells the removed member who removed them', async () => {
    const { relay, secret, ps: [alice, bob, mallory] } = await room('Alice', 'Bob', 'Mallory') as { relay: MemRelay; secret: Uint8Array; ps: [Person, Person, Person] };
    const oldRoom = alice.connection.roomId;
    alice.connection.setVerified(alice.fpOf('Bob'), true);
    bob.connection.setVerified(bob.fpOf('Alice'), true);
    const malloryFp = mallory.me();
    const bobFp = bob.me();

    await alice.connection.removeMember(alice.fpOf('Mallory'));
    await mallory.until(() => mallory.connection.phase.kind === 'ended', 'Mallory removed');
    expect(mallory.connection.phase).toEqual({ kind: 'ended', reason: 'Alice removed you from the room' });
    for (const p of [alice, bob]) {
      await p.until(() => p.connection.phase.kind === 'joined' && p.connection.roomId !== oldRoom && p.view().members.length === 2 && p.moves.length === 1, 'moving');
    }
    expect(alice.moves).toEqual(bob.moves);
    expect(alice.connection.roomId).toBe(bob.connection.roomId);
    expect(mallory.moves).toEqual([]);
    expect(bob.notices()).toContain('Alice removed Mallory. Moving to the room’s new link…');
    expect(alice.notices()).toContain('You removed Mallory. Moving everyone else to a new link…');
    // Each one's previous key vouched for its new one: verified stays verified, without comparing again.
    await alice.until(() => alice.view().members.find((m) => m.name === 'Bob')?.trust === 'verified', 'Bob still verified');
    await bob.until(() => bob.view().members.find((m) => m.name === 'Alice')?.trust === 'verified', 'Alice still verified');
    expect(bob.me()).not.toBe(bobFp);

    await alice.connection.send('without Mallory');
    await bob.until(() => bob.messages().includes('Alice: without Mallory'), 'Bob reading in the new room');

    // Mallory tries the old link again: an empty room, nothing new to read.
    const again = person(relay, secret, 'Mallory');
    people.push(again);
    await again.until(() => again.connection.phase.kind === 'joined', 'Mallory back on the old link');
    await new Promise((r) => setTimeout(r, 300));
    expect(again.view().members.map((m) => m.name)).toEqual(['Mallory']);
    expect(again.messages()).toEqual([]);
    // A relay that keeps relaying the new room's frames to her shows her nothing either.
    const fromNewRoom = relay.delivered.get(bob.me()) ?? [];
    expect(fromNewRoom.some((f) => f.includes('"t":"msg"'))).toBe(true);
    for (const f of fromNewRoom) relay.inject(again.me(), f);
    await again.until(() => again.view().blocked.tampered > 0, 'refusing frames of another room');
    expect(again.messages()).toEqual([]);
    expect(relay.membersOf(oldRoom ?? '')).not.toContain(malloryFp);
  }, 180_000);

  it('converges when two members remove two others at once: the two remaining share one room', async () => {
    const { ps: [alice, bob, carol, mallory] } = await room('Alice', 'Bob', 'Carol', 'Mallory') as { relay: MemRelay; secret: Uint8Array; ps: [Person, Person, Person, Person] };
    const oldRoom = alice.connection.roomId;
    await Promise.all([alice.connection.removeMember(alice.fpOf('Mallory')), bob.connection.removeMember(bob.fpOf('Carol'))]);
    for (const p of [mallory, carol]) await p.until(() => p.connection.phase.kind === 'ended', 'removed', 60_000);
    await alice.until(() => alice.connection.roomId !== oldRoom && alice.connection.roomId === bob.connection.roomId
      && alice.view().members.length === 2 && bob.view().members.length === 2 && alice.connection.phase.kind === 'joined', 'meeting in one room', 90_000);
    expect(alice.view().members.map((m) => m.name).sort()).toEqual(['Alice', 'Bob']);
    expect(mallory.connection.phase).toEqual({ kind: 'ended', reason: 'Alice removed you from the room' });
    expect(carol.connection.phase).toEqual({ kind: 'ended', reason: 'Bob removed you from the room' });
    await bob.connection.send('just us two');
    await alice.until(() => alice.messages().includes('Bob: just us two'), 'Alice reading Bob');
  }, 180_000);
});

/** Delivers every frame the members sent, as the relay would (msg to all, statements to the others), until none is left. */
async function exchange(members: TestMember[], skip: (frame: string, to: TestMember) => boolean = () => false): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const batch = members.flatMap((from) => from.sent.splice(0).map((frame) => ({ from, frame })));
    if (batch.length === 0) return;
    for (const { from, frame } of batch) {
      for (const to of members) {
        if ((to === from && !frame.includes('"t":"msg"')) || skip(frame, to)) continue;
        await to.session.receive(frame);
      }
    }
  }
  throw new Error('the members never stopped sending');
}

const stateFrame = async (keys: RoomKeys, signer: Identity, sender: string, n: number, facts: Partial<Parameters<typeof signRoomStatement>[3]>) => {
  const st = await signRoomStatement(keys, signer, n, { lobby: START, lock: START, admitted: [], turnedAway: [], removed: [], ...facts });
  return encodeClientFrame({ t: 'state', st: { ...st, sender } });
};

describe('decisions only members who are in can make', () => {
  it('refuses a removal the relay forged, and a removed member’s attempt to let itself back in', async () => {
    const room = await makeRoom(['Alice', 'Bob', 'Mallory']);
    const [alice, bob, mallory] = room.members as [TestMember, TestMember, TestMember];
    await exchange(room.members);
    expect(bob.session.view().membership.canDecide).toBe(true);

    // The relay signs with a key of its own, claiming to be Alice.
    const relayKey = await generateIdentity();
    const forgedBefore = bob.session.view().blocked.forged;
    const [forged] = await bob.session.receive(await stateFrame(room.keys, relayKey, alice.identity.fp, 99, { removed: [bob.identity.fp].sort() }));
    expect(forged).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(bob.session.view().blocked.forged).toBe(forgedBefore + 1);
    expect(bob.session.view().membership.me).toBe('in');

    // Alice removes Mallory; the public removal reaches Bob and Mallory.
    await alice.session.removeFromRoom(mallory.identity.fp);
    const move = alice.sent.find((f) => f.includes('"t":"msg"'));
    await exchange(room.members, (frame) => frame.includes('"t":"msg"'));
    expect(bob.session.view().members.find((m) => m.name === 'Mallory')?.standing).toBe('removed');
    expect(noticesOf(mallory).at(-1)).toBe('Alice removed you from the room.');

    // Mallory's own signed statement, lobby off and herself let in: refused.
    const [undo] = await bob.session.receive(await stateFrame(room.keys, mallory.identity, mallory.identity.fp, 50, { admitted: [mallory.identity.fp], lobby: { on: false, ver: 99, by: mallory.identity.fp } }));
    expect(undo).toMatchObject({ ok: false, reason: 'not-admitted' });
    expect(bob.session.view().members.find((m) => m.name === 'Mallory')?.standing).toBe('removed');
    // Her messages are not shown; the move was not encrypted for her.
    const sealed = await sealMessage(room.keys, mallory.identity, { msgId: 'malloryStillHereXXXXX', seq: 1, ts: Date.now(), body: 'still here' }, bob.session.view().members.map((m) => m.keys));
    expect(await bob.session.receive(frameOf(sealed))).toMatchObject([{ ok: false, reason: 'not-admitted' }]);
    expect(messagesOf(bob)).toEqual([]);
    expect(move === undefined ? [] : envOf(move).recipients).not.toContain(mallory.identity.fp);
  }, 120_000);

  it('ends two members switching at once with the same lobby and lock in every tab', async () => {
    const room = await makeRoom(['Alice', 'Bob', 'Carol']);
    const [alice, bob, carol] = room.members as [TestMember, TestMember, TestMember];
    await exchange(room.members);
    // Neither has heard the other: same version, opposite wishes.
    await alice.session.setSwitch('lobby', true);
    await bob.session.setSwitch('lock', true);
    await bob.session.setSwitch('lock', false);
    await carol.session.setSwitch('lock', true);
    await exchange(room.members);
    const states = [alice, bob, carol].map((m) => ({ lobby: m.session.view().membership.lobby, locked: m.session.view().membership.locked }));
    expect(states[0]).toEqual({ lobby: true, locked: false });
    expect(states[1]).toEqual(states[0]);
    expect(states[2]).toEqual(states[0]);
  }, 120_000);
});

describe('knocks, as each tab tells them', () => {
  it('tells a member who is in of a knock, as a warning that offers to verify, and nobody who waits', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestMember, TestMember];
    await exchange(room.members);
    await alice.session.setSwitch('lobby', true);
    await exchange(room.members);
    const knock = async (name: string, present: TestMember[]) => {
      const m = await makeMember(room.keys, name);
      await m.session.receive(encodeServerFrame({ t: 'welcome', members: present.map((p) => p.hello) }));
      for (const p of present) await p.session.receive(encodeServerFrame({ t: 'join', hello: m.hello }));
      // The members' next statements (held back a second after the last) tell the newcomer the room's state.
      advance(1_000);
      for (const p of present) {
        p.session.refresh();
        await p.session.confirmRoster();
      }
      await exchange([...present, m]);
      return m;
    };
    const carol = await knock('Carol', [alice, bob]);
    expect(carol.session.view().membership.me).toBe('waiting');
    const asking = (m: TestMember) => m.session.view().timeline.filter((e) => e.kind === 'notice' && e.text.includes('asking to join'));
    // Only the knock: not a "joined" as well.
    expect(noticesOf(bob).at(-1)).toBe('Carol is asking to join. Compare their safety code, then let them in or turn them away.');
    expect(noticesOf(bob).filter((t) => t.startsWith('Carol'))).toHaveLength(1);
    expect(asking(bob)).toMatchObject([{ tone: 'warning', canVerify: true }]);
    await knock('Dave', [alice, bob, carol]);
    // Carol waits too: Dave's knock is not hers to answer.
    expect(asking(carol)).toEqual([]);
    expect(noticesOf(carol).some((t) => t.startsWith('Dave'))).toBe(false);
    expect(asking(alice)).toHaveLength(2);
  }, 60_000);
});

describe('a locked room, as each tab tells it', () => {
  it('turns a knock away the moment it arrives, and keeps a member whose reconnect its old key vouched for', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestMember, TestMember];
    await exchange(room.members);
    await alice.session.setSwitch('lock', true);
    await exchange(room.members);
    const dave = await makeMember(room.keys, 'Dave');
    await alice.session.receive(encodeServerFrame({ t: 'join', hello: dave.hello }));
    // Before any statement about it: Alice's own tab turns it away.
    expect(alice.session.view().members.find((m) => m.name === 'Dave')?.standing).toBe('turned-away');
    expect(noticesOf(alice).at(-1)).toBe('The room is locked: Dave was turned away.');
    await alice.session.receive(encodeServerFrame({ t: 'leave', fp: bob.identity.fp }));
    const hello = await makeHello(room.keys, await generateIdentity(), 'Bob', { fp: bob.identity.fp, sigPriv: bob.identity.sigPriv });
    await alice.session.receive(encodeServerFrame({ t: 'join', hello }));
    expect(alice.session.view().members.find((m) => m.name === 'Bob')?.standing).toBe('in');
  }, 60_000);
});

describe('a removal another one overtook', () => {
  /**
   * Alice removes Mallory while Bob removes Carol; Alice's move comes first in
   * relay order, so everyone (Carol too) follows Alice to her new link, and
   * Bob's removal of Carol was overtaken. Returns Bob in the new link, and
   * the vouched-for hellos Alice and Carol arrive there with.
   */
  async function overtaken() {
    const room = await makeRoom(['Alice', 'Bob', 'Carol', 'Mallory']);
    const [alice, bob, carol, mallory] = room.members as [TestMember, TestMember, TestMember, TestMember];
    await exchange(room.members);
    await alice.session.removeFromRoom(mallory.identity.fp);
    await bob.session.removeFromRoom(carol.identity.fp);
    const aliceMove = alice.sent.find((f) => f.includes('"t":"msg"'));
    if (aliceMove === undefined) throw new Error('Alice sent no move');
    expect(await bob.session.receive(aliceMove)).toEqual([{ ok: true }]);
    // This connection is done: what still comes in on it is nobody's business, and shows nothing.
    const shown = bob.session.view().timeline.length;
    expect(await bob.session.receive(await post(alice, 'on the old link'))).toEqual([]);
    expect(bob.session.view().timeline).toHaveLength(shown);
    // The new link's keys: where they come from is not this test's business.
    const keys = await deriveRoomKeys(randomBytes(32));
    const sent: string[] = [];
    const next = await generateIdentity();
    const bob2 = new RelayedSession(keys, next, 'Bob', (f) => sent.push(uploadText(f)), { now: tick, carry: { ...bob.session.carryOver(), isMove: true } });
    await bob2.start();
    await bob2.receive(encodeServerFrame({ t: 'welcome', members: [] }));
    const successor = async (m: TestMember) => makeHello(keys, await generateIdentity(), m.name, { fp: m.identity.fp, sigPriv: m.identity.sigPriv });
    const moves = () => sent.filter((f) => f.includes('"t":"msg"')).map((f) => envOf(f).recipients);
    return { bob2, moves, aliceHello: await successor(alice), carolHello: await successor(carol) };
  }
  const fpOf = (s: RelayedSession, name: string) => s.view().members.find((m) => m.name === name)?.fp ?? '';
  /** Waits for what refresh() queued: a statement queued after it is sent after it. */
  const settle = (s: RelayedSession) => s.confirmRoster();

  it('is repeated in the new link once everyone who moved has arrived, and only once', async () => {
    const { bob2, moves, aliceHello, carolHello } = await overtaken();
    await bob2.receive(encodeServerFrame({ t: 'join', hello: carolHello }));
    const carol2 = fpOf(bob2, 'Carol');
    // Carol's new key stands where her removed one stood: removed, and never encrypted for.
    expect(bob2.view().members.find((m) => m.fp === carol2)?.standing).toBe('removed');
    bob2.refresh();
    await settle(bob2);
    // Alice moved too and has not arrived: her tab would not know of the removal yet.
    expect(moves()).toEqual([]);
    await bob2.receive(encodeServerFrame({ t: 'join', hello: aliceHello }));
    expect(bob2.view().members.find((m) => m.name === 'Alice')?.standing).toBe('in');
    expect(noticesOf({ session: bob2 }).at(-1)).toBe('Alice is in the new link with you (their previous key vouched for the new one).');
    bob2.refresh();
    await settle(bob2);
    bob2.refresh();
    await settle(bob2);
    expect(moves()).toHaveLength(1);
    expect(moves()[0]).toEqual([fpOf(bob2, 'Alice'), bob2.identity.fp].sort());
  }, 60_000);

  it('is repeated after the grace period when someone who moved never arrives', async () => {
    const { bob2, moves, carolHello } = await overtaken();
    await bob2.receive(encodeServerFrame({ t: 'join', hello: carolHello }));
    bob2.refresh();
    await settle(bob2);
    expect(moves()).toEqual([]);
    advance(ROSTER_AGREE_GRACE_MS);
    bob2.refresh();
    await settle(bob2);
    expect(moves()).toEqual([[bob2.identity.fp]]);
  }, 60_000);

  it('is dropped when the member leaves before it goes out', async () => {
    const { bob2, moves, carolHello } = await overtaken();
    await bob2.receive(encodeServerFrame({ t: 'join', hello: carolHello }));
    advance(ROSTER_AGREE_GRACE_MS);
    const carol2 = fpOf(bob2, 'Carol');
    // Her leave is queued first; the refresh's repeat runs after it.
    const left = bob2.receive(encodeServerFrame({ t: 'leave', fp: carol2 }));
    bob2.refresh();
    await left;
    await settle(bob2);
    expect(moves()).toEqual([]);
  }, 60_000);
});

describe('the room state merges the same in any order', () => {
  const fpA = 'A'.repeat(43);
  const fpB = 'B'.repeat(43);
  const dave = 'D'.repeat(43);
  const st = (sender: string, n: number, facts: Partial<RoomStatement>): RoomStatement =>
    ({ v: 1, room: 'r'.repeat(22), sender, n, lobby: START, lock: START, admitted: [], turnedAway: [], removed: [], sig: '', ...facts });
  const statements = [
    st(fpA, 1, { lobby: { on: true, ver: 3, by: fpA }, admitted: [dave] }),
    st(fpB, 1, { lobby: { on: false, ver: 3, by: fpB }, turnedAway: [dave] }),
    st(fpA, 2, { lock: { on: true, ver: 1, by: fpA } }),
  ];
  const orders = [[0, 1, 2], [2, 1, 0], [1, 0, 2], [1, 2, 0]];

  it.each(orders)('order %s, %s, %s: turned away beats let in, and the same version goes to the higher author', (...order) => {
    const m = new Membership();
    for (const i of order) {
      const s = statements[i];
      if (s !== undefined) m.merge(s);
    }
    expect(m.standing(dave)).toBe('turned-away');
    expect(m.lobby).toEqual({ on: false, ver: 3, by: fpB });
    expect(m.lock.on).toBe(true);
  });

  it('keeps a newer switch over an older one merged later', () => {
    const m = new Membership();
    m.merge(st(fpA, 2, { lobby: { on: false, ver: 2, by: fpA } }));
    m.merge(st(fpB, 1, { lobby: { on: true, ver: 1, by: fpB } }));
    expect(m.lobby).toEqual({ on: false, ver: 2, by: fpA });
    expect(m.isOpen()).toBe(true);
  });
});

describe('a bot (client/join-room.ts) in a room with Ask to join', () => {
  it('waits until a member lets it in, then talks', async () => {
    const { relay, secret, ps: [alice] } = await room('Alice') as { relay: MemRelay; secret: Uint8Array; ps: [Person] };
    await alice.connection.setSwitch('lobby', true);
    const link = `http://localhost/#${toB64u(secret)}`;
    const bot = joinRoom(link, { name: 'Bot', openSocket: (url) => relay.openSocket(url.slice(url.lastIndexOf('/') + 1)) });
    await bot.joined;
    let isIn = false;
    void bot.admitted.then(() => (isIn = true));
    await alice.until(() => standingOf(alice, 'Bot') === 'waiting', 'the bot knocking');
    await new Promise((r) => setTimeout(r, 300));
    expect(isIn).toBe(false);
    await expect(bot.send('hello?')).rejects.toThrow('you are waiting to be let in');
    await alice.connection.letIn(alice.fpOf('Bot'));
    await bot.admitted;
    await bot.send('thanks for letting me in');
    await alice.until(() => alice.messages().includes('Bot: thanks for letting me in'), 'reading the bot');
    await bot.leave();
  }, 120_000);
});
