/**
 * A reload of the tab (PROTOCOL.md §6.4): the signing key the tab kept
 * (tab-keys.ts in the page; here a store in memory with the same contract)
 * vouches for the new identity, so the others keep their verified marks of
 * it, and the tab keeps its own marks of them. Real RoomConnections on the
 * in-memory relay; a reload is the old connection disposed of and a new one
 * made on the same store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity, randomBytes } from '../../client/crypto';
import type { KeptKey, TabKeyStore } from '../../client/room-connection';
import { MemRelay, person, type Person } from '../support/mem-relay';
import { uploadText } from '../support/members';

/** One tab's store: take hands the record out once, as IndexedDB's take deletes it. */
function tabStore(): TabKeyStore & { record: KeptKey | null; puts: number } {
  const store = {
    record: null as KeptKey | null,
    puts: 0,
    take: async () => {
      const r = store.record;
      store.record = null;
      return r;
    },
    put: async (kept: KeptKey) => {
      store.record = kept;
      store.puts += 1;
    },
    drop: async () => {
      store.record = null;
    },
  };
  return store;
}

const people: Person[] = [];
afterEach(() => {
  for (const p of people.splice(0)) p.connection.dispose();
});

function open(relay: MemRelay, secret: Uint8Array, name: string, keep?: TabKeyStore): Person {
  const p = person(relay, secret, name, keep);
  people.push(p);
  return p;
}

const trustOf = (viewer: Person, name: string) => viewer.view().members.find((m) => m.name === name)?.trust;

/** Alice and Bob, each verified by the other; Bob's tab keeps its key in `bobStore`. */
async function verifiedPair(bobStore: TabKeyStore) {
  const relay = new MemRelay();
  const secret = randomBytes(32);
  const alice = open(relay, secret, 'Alice');
  await alice.until(() => alice.view().members.length === 1, 'Alice joining');
  const bob = open(relay, secret, 'Bob', bobStore);
  for (const p of [alice, bob]) await p.until(() => p.view().members.length === 2, 'seeing each other');
  alice.connection.setVerified(alice.fpOf('Bob'), true);
  bob.connection.setVerified(bob.fpOf('Alice'), true);
  return { relay, secret, alice, bob };
}

/** Bob's next page on `store`: Alice sees a new key, warned about and not verified. */
async function expectNewKey(relay: MemRelay, secret: Uint8Array, alice: Person, store: TabKeyStore, oldFp: string): Promise<void> {
  open(relay, secret, 'Bob', store);
  await alice.until(() => alice.view().members.some((m) => m.name === 'Bob' && m.fp !== oldFp), 'seeing Bob back');
  await alice.until(() => alice.notices().includes('Bob rejoined with a new key — verify again.'), 'the key-change warning');
  expect(trustOf(alice, 'Bob')).toBe('changed');
}

/** Bob's page goes away (a reload): the socket closes, nothing else is said. */
function reload(bob: Person): void {
  bob.connection.dispose();
}

/** The verified pair, once Bob's key is kept, after Bob's page went away: what his next page would find. */
async function reloadedPair() {
  const store = tabStore();
  const pair = await verifiedPair(store);
  await pair.bob.until(() => store.record !== null, 'Bob keeping his key');
  const oldFp = pair.bob.me();
  reload(pair.bob);
  const kept = store.record;
  if (kept === null) throw new Error('no record');
  return { ...pair, store, oldFp, kept };
}

describe('a reload of the tab', () => {
  it('keeps the verified marks both ways: the kept key vouches for the new one', async () => {
    const store = tabStore();
    const { relay, secret, alice, bob } = await verifiedPair(store);
    await bob.until(() => store.record?.verified.includes(bob.fpOf('Alice')) === true, 'Bob keeping his key and his mark of Alice');
    const oldFp = bob.me();
    expect(store.record?.previous.fp).toBe(oldFp);
    reload(bob);

    const again = open(relay, secret, 'Bob', store);
    await alice.until(() => alice.view().members.some((m) => m.name === 'Bob' && m.fp !== oldFp), 'seeing Bob back');
    await alice.until(() => alice.notices().includes('Bob reconnected (their previous key vouched for the new one).'), 'the vouching notice');
    expect(trustOf(alice, 'Bob')).toBe('verified');
    expect(alice.notices().join('\n')).not.toContain('rejoined with a new key');
    await again.until(() => trustOf(again, 'Alice') === 'verified', 'Bob seeing Alice verified again');
    expect(again.notices()).toContain('Back after reloading the page. Your key from before the reload vouched for your new one, so verified marks carry over.');
    // The store now holds the new identity's key.
    await again.until(() => store.record?.previous.fp === again.me(), 'the new key kept');
  });

  it('is one notice to the others, not a departure and a return', async () => {
    const { relay, secret, alice, store } = await reloadedPair();
    await alice.until(() => alice.notices().includes('Bob lost connection.'), 'the old socket closing');
    open(relay, secret, 'Bob', store);
    await alice.until(() => alice.notices().includes('Bob reconnected (their previous key vouched for the new one).'), 'the vouching notice');
    expect(alice.notices()).not.toContain('Bob lost connection.');
  });

  it('reads as a reload when the page said its signed goodbye on the way out', async () => {
    const store = tabStore();
    const { relay, secret, alice, bob } = await verifiedPair(store);
    await bob.until(() => store.record !== null, 'Bob keeping his key');
    // The goodbye exists once Bob's first statement is signed (null before, and then nothing is said).
    await bob.until(() => bob.connection['session']?.goodbye() != null, 'Bob’s goodbye signed');
    // What the page's pagehide handler does before the socket goes.
    bob.connection['sayGoodbye']();
    reload(bob);
    await alice.until(() => alice.notices().includes('Bob left.'), 'the goodbye');

    open(relay, secret, 'Bob', store);
    await alice.until(() => alice.notices().includes('Bob reloaded the page (their previous key vouched for the new one).'), 'the reload notice');
    expect(alice.notices()).not.toContain('Bob left.');
    expect(trustOf(alice, 'Bob')).toBe('verified');
  });

  it('says a goodbye that counts when the page goes the moment a statement or a message has left', async () => {
    for (const after of ['roster', 'msg'] as const) {
      const store = tabStore();
      const relay = new MemRelay();
      const secret = randomBytes(32);
      const alice = open(relay, secret, 'Alice');
      await alice.until(() => alice.view().members.length === 1, 'Alice joining');
      // Bob's page goes (pagehide, then the socket closes) in the same task as his next frame of this kind leaves.
      let isArmed = false;
      let bob: Person | undefined;
      const seqs: Record<'frame' | 'goodbye', number | undefined> = { frame: undefined, goodbye: undefined };
      const seqOf = (frame: string) => {
        const f = JSON.parse(frame) as { rc?: { seq: number }; env?: { seq: number } };
        return f.rc?.seq ?? f.env?.seq;
      };
      const openSocket = relay.openSocket;
      relay.openSocket = (roomId) => {
        const socket = openSocket(roomId);
        const send = socket.send.bind(socket);
        socket.send = (data) => {
          send(data);
          // A message upload is binary (PROTOCOL.md §4.3): read as its text ({t, env, wraps}).
          const text = uploadText(data);
          if (text.includes('"isLeaving":true')) seqs.goodbye = seqOf(text);
          else if (isArmed && text.startsWith(`{"t":"${after}"`)) {
            isArmed = false;
            seqs.frame = seqOf(text);
            bob?.connection['sayGoodbye']();
            bob?.connection.dispose();
          }
        };
        return socket;
      };
      bob = open(relay, secret, 'Bob', store);
      for (const p of [alice, bob]) await p.until(() => p.view().members.length === 2, 'seeing each other');
      await bob.until(() => bob.connection['session']?.goodbye() != null, 'Bob’s goodbye signed');
      isArmed = true;
      if (after === 'roster') void bob.connection['session']?.confirmRoster();
      else void bob.connection.send('last words');
      await alice.until(() => alice.notices().some((n) => n === 'Bob left.' || n === 'Bob lost connection.'), 'Bob gone');
      expect(alice.notices(), `after a ${after}`).toContain('Bob left.');
      expect(alice.notices()).not.toContain('Bob lost connection.');
      // The goodbye says the last message sent, this one too.
      expect(seqs.goodbye).toBe(seqs.frame);
    }
  });

  it('without a kept key is a new key to the others, who must verify again', async () => {
    const { relay, secret, alice, store, oldFp } = await reloadedPair();
    store.record = null;

    await expectNewKey(relay, secret, alice, store, oldFp);
  });

  it('hands the kept key to one page only: a duplicate of the tab is a new key', async () => {
    const { relay, secret, alice, store } = await reloadedPair();
    const first = open(relay, secret, 'Bob', store);
    const duplicate = open(relay, secret, 'Bob', store);
    for (const p of [first, duplicate]) await p.until(() => p.view().members.length >= 2, 'joining');
    await alice.until(() => alice.notices().some((n) => n.includes('vouched for the new one')) && alice.notices().some((n) => n.includes('rejoined with a new key') || n.includes('joined')), 'both Bobs');
    const bobs = alice.view().members.filter((m) => m.name === 'Bob');
    expect(bobs.map((m) => m.trust).filter((t) => t === 'verified')).toHaveLength(1);
  });

  it('does not use a key kept for another room', async () => {
    const { relay, secret, alice, store, oldFp, kept } = await reloadedPair();
    store.record = { ...kept, roomId: 'AAAAAAAAAAAAAAAAAAAAAA' };

    await expectNewKey(relay, secret, alice, store, oldFp);
  });

  it('does not pass on a verified mark when the kept key is not the previous identity’s', async () => {
    const { relay, secret, alice, store, oldFp, kept } = await reloadedPair();
    // The kept fp, but another key signs: the vouching does not verify.
    store.record = { ...kept, previous: { fp: kept.previous.fp, sigPriv: (await generateIdentity()).sigPriv } };

    await expectNewKey(relay, secret, alice, store, oldFp);
  });

  it('keeps its place in an Ask-to-join room: the vouched-for key is in without being let in again', async () => {
    const store = tabStore();
    const { relay, secret, alice, bob } = await verifiedPair(store);
    await alice.connection.setSwitch('lobby', true);
    await bob.until(() => bob.view().membership.lobby && store.record !== null, 'Bob learning the lobby is on');
    const oldFp = bob.me();
    reload(bob);

    const again = open(relay, secret, 'Bob', store);
    await alice.until(() => alice.view().members.some((m) => m.name === 'Bob' && m.fp !== oldFp), 'seeing Bob back');
    expect(alice.view().members.find((m) => m.name === 'Bob')?.standing).toBe('in');
    await again.until(() => again.view().membership.me === 'in', 'Bob counting himself in');
    await again.connection.send('back in');
    await alice.until(() => alice.messages().includes('Bob: back in'), 'Alice reading Bob');
  });

  it('joins without it when the store never answers', async () => {
    const relay = new MemRelay();
    const secret = randomBytes(32);
    const silent: TabKeyStore = { take: () => new Promise(() => undefined), put: async () => undefined, drop: async () => undefined };
    const bob = open(relay, secret, 'Bob', silent);
    await bob.until(() => bob.view().members.length === 1, 'joining', 10_000);
  });

  it('is forgotten on Leave', async () => {
    const store = tabStore();
    const { bob } = await verifiedPair(store);
    await bob.until(() => store.record !== null, 'Bob keeping his key');
    bob.connection.leave();
    await new Promise((r) => setTimeout(r, 20));
    expect(store.record).toBeNull();
  });
});
