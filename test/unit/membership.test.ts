/**
 * Ask to join, let in, turn away, lock and remove (PROTOCOL.md §11), with
 * real RoomConnections on an in-memory relay: what each person sees, and
 * what a relay that replays, forges, hides or keeps relaying cannot do.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../client/crypto';
import { MemRelay, person, type Person } from '../support/mem-relay';

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

    // Bob's tab reconnects with new keys: the replay is still a replay.
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
