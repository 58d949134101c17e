/**
 * The roster's trust rules, checked on the Roster itself with a clock the
 * test moves: what mutation testing of roster.ts showed no room-level test
 * pinned down. Real keys (one identity per member), no relay.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, importPeerKeys, type PeerKeys } from '../../client/crypto';
import { Roster } from '../../client/roster';
import { ROSTER_AGREE_GRACE_MS } from '../../client/timing';

let me: PeerKeys;
let bob: PeerKeys;
let carol: PeerKeys;
let bob2: PeerKeys;
beforeAll(async () => {
  const keys = await Promise.all([0, 1, 2, 3].map(async () => {
    const id = await generateIdentity();
    const k = await importPeerKeys(id.encSpki, id.sigSpki);
    if (k instanceof Error) throw k;
    return k;
  }));
  [me, bob, carol, bob2] = keys as [PeerKeys, PeerKeys, PeerKeys, PeerKeys];
}, 60_000);

function roomWith(...others: [PeerKeys, string][]) {
  let now = 1_000_000;
  const roster = new Roster(() => now);
  roster.add(me, 'Me', true);
  for (const [k, name] of others) roster.add(k, name, false);
  return { roster, tick: (ms: number) => { now += ms; }, trustOf: (fp: string) => roster.members().find((m) => m.fp === fp)?.trust };
}

describe('trust carried by a vouched-for key', () => {
  it('carries verified only from a verified key: an unverified member who reconnects stays unverified', () => {
    const { roster, trustOf } = roomWith([bob, 'Bob']);
    expect(roster.add(bob2, 'Bob', false, bob.fp)).toBe('continued');
    expect(trustOf(bob2.fp)).toBe('unverified');
  });

  it('carries verified from a verified key, and a key change from a changed one', () => {
    const first = roomWith([bob, 'Bob']);
    first.roster.setVerified(bob.fp, true);
    first.roster.add(bob2, 'Bob', false, bob.fp);
    expect(first.trustOf(bob2.fp)).toBe('verified');

    // Bob left, came back with a new key (changed), then reconnected: still changed.
    const second = roomWith([bob, 'Bob']);
    second.roster.remove(bob.fp);
    expect(second.roster.add(carol, 'Bob', false)).toBe('rejoined-new-key');
    second.roster.add(bob2, 'Bob', false, carol.fp);
    expect(second.trustOf(bob2.fp)).toBe('changed');
  });
});

describe('names and keys', () => {
  it('calls a newcomer with another name a join, not a key change of whoever left', () => {
    const { roster, trustOf } = roomWith([bob, 'Bob']);
    roster.remove(bob.fp);
    expect(roster.add(carol, 'Carol', false)).toBe('joined');
    expect(trustOf(carol.fp)).toBe('unverified');
  });

  it('does not mark a member who was there first as a key change when a later look-alike leaves', () => {
    const { roster, tick, trustOf } = roomWith([bob, 'Bob']);
    tick(1_000);
    roster.add(carol, 'Bob', false);
    const gone = roster.remove(carol.fp);
    expect(gone?.successor).toBeNull();
    expect(trustOf(bob.fp)).toBe('unverified');
  });

  it('names a leaving look-alike by its label, the one the room showed', () => {
    const { roster } = roomWith([bob, 'Bob'], [carol, 'Bob']);
    const label = roster.members().find((m) => m.fp === carol.fp)?.label ?? '';
    expect(label).toMatch(/^Bob #/);
    expect(roster.remove(carol.fp)?.removedLabel).toBe(label);
  });
});

describe('verified marks', () => {
  it('takes a mark back, and ignores one for a key not in the room', () => {
    const { roster, trustOf } = roomWith([bob, 'Bob']);
    roster.setVerified(bob.fp, true);
    expect(trustOf(bob.fp)).toBe('verified');
    roster.setVerified(bob.fp, false);
    expect(trustOf(bob.fp)).toBe('unverified');
    roster.setVerified(carol.fp, true);
    roster.add(carol, 'Carol', false);
    expect(trustOf(carol.fp)).toBe('unverified');
  });

  it('says everyone is verified only when every other member is, and never when alone', () => {
    const alone = roomWith();
    expect(alone.roster.isAllVerified()).toBe(false);
    const { roster } = roomWith([bob, 'Bob'], [carol, 'Carol']);
    const facts = (fps: string[]) => ({ n: 1, members: fps.sort(), heard: fps.map(() => 0), acks: fps.map(() => 0), isLeaving: false });
    const all = [me.fp, bob.fp, carol.fp];
    roster.acceptStatement(bob.fp, facts([...all]));
    roster.acceptStatement(carol.fp, facts([...all]));
    roster.setVerified(bob.fp, true);
    expect(roster.isAllVerified()).toBe(false);
    roster.setVerified(carol.fp, true);
    expect(roster.isAllVerified()).toBe(true);
  });
});

describe('statements', () => {
  const facts = (n: number, fps: string[]) => ({ n, members: [...fps].sort(), heard: fps.map(() => 0), acks: fps.map(() => 0), isLeaving: false });

  it('refuses a statement whose counter is not past the last one, equal included', () => {
    const { roster } = roomWith([bob, 'Bob']);
    expect(roster.acceptStatement(bob.fp, facts(2, [me.fp, bob.fp]))).toBe('ok');
    expect(roster.acceptStatement(bob.fp, facts(2, [me.fp, bob.fp]))).toBe('replay');
    expect(roster.acceptStatement(bob.fp, facts(1, [me.fp, bob.fp]))).toBe('replay');
    expect(roster.acceptStatement(bob.fp, facts(3, [me.fp, bob.fp]))).toBe('ok');
  });

  it('reports a different list only after the grace period, and keeps its start across statements', () => {
    const { roster, tick } = roomWith([bob, 'Bob']);
    roster.acceptStatement(bob.fp, facts(1, [bob.fp]));
    expect(roster.agreement().kind).toBe('checking');
    tick(ROSTER_AGREE_GRACE_MS - 1);
    // A second statement with the same difference does not restart the clock.
    roster.acceptStatement(bob.fp, facts(2, [bob.fp]));
    expect(roster.agreement().kind).toBe('checking');
    tick(1);
    expect(roster.agreement()).toEqual({ kind: 'different', who: [{ label: 'Bob', plus: [], minus: ['you'] }] });
  });

  it('names a member only the other list holds as someone not in my list', () => {
    const { roster, tick } = roomWith([bob, 'Bob']);
    roster.acceptStatement(bob.fp, facts(1, [me.fp, bob.fp, carol.fp]));
    tick(ROSTER_AGREE_GRACE_MS);
    expect(roster.agreement()).toEqual({ kind: 'different', who: [{ label: 'Bob', plus: ['someone not in your list'], minus: [] }] });
  });
});

describe('late and loose ends', () => {
  it('says it is still checking while a newcomer has not stated its list, within the grace period', () => {
    const { roster, tick } = roomWith([bob, 'Bob']);
    expect(roster.agreement()).toEqual({ kind: 'checking' });
    tick(ROSTER_AGREE_GRACE_MS);
    expect(roster.agreement()).toMatchObject({ kind: 'silent' });
  });

  it('drops a safety code that arrives after its member left, and has no name for a stranger', () => {
    const { roster } = roomWith([bob, 'Bob']);
    roster.remove(bob.fp);
    expect(() => roster.setCode(bob.fp, { digits: '1'.repeat(30), emoji: [] })).not.toThrow();
    expect(roster.members().map((m) => m.name)).toEqual(['Me']);
    expect(roster.nameOf(carol.fp)).toBeUndefined();
  });

  it('tells two members of one name apart by their safety codes once the codes arrive', () => {
    const { roster } = roomWith([bob, 'Bob'], [carol, 'Bob']);
    const labelOf = (fp: string) => roster.members().find((m) => m.fp === fp)?.label;
    // Before the codes: by fingerprint.
    expect(labelOf(bob.fp)).toBe(`Bob #${bob.fp.slice(0, 5)}`);
    roster.setCode(bob.fp, { digits: '1'.repeat(30), emoji: [] });
    roster.setCode(carol.fp, { digits: '2'.repeat(30), emoji: [] });
    expect([labelOf(bob.fp), labelOf(carol.fp)]).toEqual(['Bob #11111', 'Bob #22222']);
  });
});
