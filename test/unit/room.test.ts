import { beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, importPeerKeys, sealMessage } from '../../client/crypto';
import { ROSTER_AGREE_GRACE_MS } from '../../client/timing';
import { RoomSession } from '../../client/room';
import { advance, envOf, frameOf, makeMember, makeRoom, messagesOf, noticesOf, post, tick, uploadText, type TestRoom } from '../support/members';

describe('a room of three in memory', () => {
  let room: TestRoom;
  beforeAll(async () => {
    room = await makeRoom(['Alice', 'Bob', 'Carol']);
  });

  it('shows every member the same roster', () => {
    for (const m of room.members) {
      expect(m.session.view().members.map((x) => x.name).sort()).toEqual(['Alice', 'Bob', 'Carol']);
    }
  });

  it('delivers each message, in order, to the other two and back to the sender', async () => {
    const [alice, bob, carol] = room.members as [typeof room.members[0], typeof room.members[0], typeof room.members[0]];
    const frames = [await post(alice, 'hello from Alice'), await post(bob, 'hi Alice'), await post(alice, 'how are you?')];
    for (const frame of frames) {
      for (const m of room.members) expect(await m.session.receive(frame)).toEqual([{ ok: true }]);
    }
    const expected = ['Alice: hello from Alice', 'Bob: hi Alice', 'Alice: how are you?'];
    for (const m of [alice, bob, carol]) expect(messagesOf(m)).toEqual(expected);
    // The sender's pending copy was replaced by the relayed one, not duplicated.
    expect(alice.session.view().timeline.filter((e) => e.kind === 'message' && e.isPending)).toEqual([]);
  });
});

describe('a sender’s own echo', () => {
  /** RSA-OAEP decryptions (unwraps) made while `run` runs. */
  async function unwrapsDuring(run: () => Promise<unknown>): Promise<number> {
    const subtle = globalThis.crypto.subtle;
    const decrypt = subtle.decrypt;
    let count = 0;
    subtle.decrypt = function counted(this: SubtleCrypto, ...args: Parameters<SubtleCrypto['decrypt']>) {
      const [algorithm] = args;
      if ((typeof algorithm === 'string' ? algorithm : algorithm.name) === 'RSA-OAEP') count += 1;
      return decrypt.apply(this, args);
    } as SubtleCrypto['decrypt'];
    try {
      await run();
    } finally {
      subtle.decrypt = decrypt;
    }
    return count;
  }

  it('is opened with the K its sender made, not by unwrapping its own wrap; the others unwrap theirs', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestRoom['members'][0], TestRoom['members'][0]];
    const frame = await post(alice, 'to us both');
    expect(await unwrapsDuring(async () => expect(await alice.session.receive(frame)).toEqual([{ ok: true }]))).toBe(0);
    expect(await unwrapsDuring(async () => expect(await bob.session.receive(frame)).toEqual([{ ok: true }]))).toBe(1);
    expect(messagesOf(alice)).toEqual(['Alice: to us both']);
    expect(alice.session.view().timeline.filter((e) => e.kind === 'message' && e.isPending)).toEqual([]);
  });

  it('keeps its K when another member’s message reuses its id first', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestRoom['members'][0], TestRoom['members'][0]];
    const mine = await post(alice, 'mine');
    const recipients = alice.session.view().members.map((m) => m.keys);
    const squat = await sealMessage(room.keys, bob.identity, { msgId: envOf(mine).msgId, seq: 1, ts: tick(), body: 'same id' }, recipients);
    expect(await unwrapsDuring(async () => expect(await alice.session.receive(frameOf(squat))).toEqual([{ ok: true }]))).toBe(1);
    expect(await unwrapsDuring(async () => expect(await alice.session.receive(mine)).toEqual([{ ok: true }]))).toBe(0);
  });

  it('is unwrapped like every other message once its K is no longer kept (a replay of it is still refused)', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice] = room.members as [TestRoom['members'][0], TestRoom['members'][0]];
    const first = await post(alice, 'first');
    // The K of 256 later messages pushes out the first's.
    const later: string[] = [];
    for (let i = 0; i < 256; i++) later.push(await post(alice, `later ${i}`));
    expect(await unwrapsDuring(async () => expect(await alice.session.receive(first)).toEqual([{ ok: true }]))).toBe(1);
    expect(await unwrapsDuring(async () => expect(await alice.session.receive(later[0] as string)).toEqual([{ ok: true }]))).toBe(0);
    expect(await alice.session.receive(first)).toMatchObject([{ ok: false, reason: 'replay' }]);
  });
});

describe('the receiver’s checks', () => {
  let room: TestRoom;
  beforeAll(async () => {
    room = await makeRoom(['Alice', 'Bob', 'Carol']);
  });
  const bob = () => room.members[1] as TestRoom['members'][0];

  it('rejects a message from a key that never joined', async () => {
    const mallory = await generateIdentity();
    const recipients = room.members.map((m) => m.session.view().members.find((x) => x.isSelf)?.keys).filter((k) => k !== undefined);
    const self = await importPeerKeys(mallory.encSpki, mallory.sigSpki);
    if (self instanceof Error) throw self;
    const forged = await sealMessage(room.keys, mallory, { msgId: 'mallorymallorymallory', seq: 1, ts: tick(), body: 'hi' }, [...recipients, self]);
    const [verdict] = await bob().session.receive(frameOf(forged));
    expect(verdict).toMatchObject({ ok: false, reason: 'unknown-sender' });
    expect(noticesOf(bob()).at(-1)).toBe('A message from someone who is not in this room was blocked.');
  });

});

describe('order and lateness', () => {
  it('accepts a signed jump far ahead as a gap rather than locking the sender out', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestRoom['members'][0], TestRoom['members'][0]];
    await bob.session.receive(await post(alice, 'first'));
    const recipients = bob.session.view().members.map((m) => m.keys);
    const far = await sealMessage(room.keys, alice.identity, { msgId: 'farfarfarfarfarfarfar', seq: 5000, ts: tick(), body: 'much later' }, recipients);
    expect(await bob.session.receive(frameOf(far))).toEqual([{ ok: true }]);
    expect(noticesOf(bob).at(-1)).toBe('4998 messages from Alice were not delivered to you.');
    expect(messagesOf(bob).at(-1)).toBe('Alice: much later');
  });
});

describe('joining and leaving', () => {
  it('refuses a replayed hello of a member who left', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestRoom['members'][0], TestRoom['members'][0]];
    await alice.session.receive(JSON.stringify({ t: 'leave', fp: bob.identity.fp }));
    const [verdict] = await alice.session.receive(JSON.stringify({ t: 'join', hello: bob.hello }));
    expect(verdict).toMatchObject({ ok: false, reason: 'stale-hello' });
    expect(alice.session.view().members.map((m) => m.name)).toEqual(['Alice']);
    expect(noticesOf(alice).at(-1)).toBe('An old join announcement of Bob, who has left, was replayed and blocked.');
  });

  it('refuses a second welcome, which would add members without a notice', async () => {
    const room = await makeRoom(['Alice']);
    const alice = room.members[0] as TestRoom['members'][0];
    const dave = await makeMember(room.keys, 'Dave');
    const [verdict] = await alice.session.receive(JSON.stringify({ t: 'welcome', members: [dave.hello] }));
    expect(verdict).toMatchObject({ ok: false, reason: 'malformed', detail: 'second welcome' });
    expect(alice.session.view().members.map((m) => m.name)).toEqual(['Alice']);
  });

  it('tells a newcomer, without alarm, that a message sealed just before it joined was not for it', async () => {
    const room = await makeRoom(['Alice']);
    const alice = room.members[0] as TestRoom['members'][0];
    const frame = await post(alice, 'sealed before Dave');
    const dave = await makeMember(room.keys, 'Dave');
    await dave.session.receive(JSON.stringify({ t: 'welcome', members: [alice.hello] }));
    const [verdict] = await dave.session.receive(frame);
    expect(verdict).toMatchObject({ ok: false, reason: 'excluded' });
    expect(dave.session.view().timeline.at(-1)).toMatchObject({ kind: 'notice', tone: 'info' });
    expect(noticesOf(dave).at(-1)).toBe('Alice sent a message just before you joined; it was not encrypted for you.');
  });

  it('adds a member on a valid join and removes them on leave', async () => {
    const room = await makeRoom(['Alice']);
    const alice = room.members[0] as TestRoom['members'][0];
    const dave = await makeMember(room.keys, 'Dave');
    await alice.session.receive(JSON.stringify({ t: 'join', hello: dave.hello }));
    expect(alice.session.view().members.map((m) => m.name)).toEqual(['Alice', 'Dave']);
    await alice.session.receive(JSON.stringify({ t: 'leave', fp: dave.identity.fp }));
    expect(alice.session.view().members.map((m) => m.name)).toEqual(['Alice']);
    expect(noticesOf(alice)).toEqual(['Dave joined. Compare safety codes to know it is really them.', 'Dave lost connection.']);
  });
});

describe('verification and key changes', () => {
  it('binds a verified mark to the key: a rejoin under the same name is “changed”, not verified', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestRoom['members'][0], TestRoom['members'][0]];
    alice.session.setVerified(bob.identity.fp, true);
    expect(alice.session.view().members.find((m) => m.name === 'Bob')?.trust).toBe('verified');
    expect(alice.session.view().isAllVerified).toBe(true);

    await alice.session.receive(JSON.stringify({ t: 'leave', fp: bob.identity.fp }));
    const bob2 = await makeMember(room.keys, 'Bob');
    await alice.session.receive(JSON.stringify({ t: 'join', hello: bob2.hello }));
    const again = alice.session.view().members.find((m) => m.name === 'Bob');
    expect(again?.fp).toBe(bob2.identity.fp);
    expect(again?.trust).toBe('changed');
    expect(alice.session.view().isAllVerified).toBe(false);
    expect(noticesOf(alice).at(-1)).toBe('Bob rejoined with a new key — verify again.');
  });

  it('notices a key change when the new tab’s join overtakes the old tab’s leave', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestRoom['members'][0], TestRoom['members'][0]];
    const bob2 = await makeMember(room.keys, 'Bob');
    await alice.session.receive(JSON.stringify({ t: 'join', hello: bob2.hello }));
    const labels = alice.session.view().members.filter((m) => m.name === 'Bob').map((m) => m.label);
    expect(labels).toHaveLength(2);
    for (const l of labels) expect(l).toMatch(/^Bob #(\d{5}|.{5})$/);
    expect(labels[0]).not.toBe(labels[1]);
    await alice.session.receive(JSON.stringify({ t: 'leave', fp: bob.identity.fp }));
    expect(alice.session.view().members.find((m) => m.name === 'Bob')?.trust).toBe('changed');
    expect(noticesOf(alice).at(-1)).toBe('Bob rejoined with a new key — verify again.');
  });
});

describe('names', () => {
  it('shows notices with each member’s current label, so a later namesake never makes them ambiguous', async () => {
    const room = await makeRoom(['Alice']);
    const alice = room.members[0] as TestRoom['members'][0];
    const bob1 = await makeMember(room.keys, 'Bob');
    const bob2 = await makeMember(room.keys, 'Bob');
    await alice.session.receive(JSON.stringify({ t: 'join', hello: bob1.hello }));
    expect(noticesOf(alice)).toEqual(['Bob joined. Compare safety codes to know it is really them.']);
    await alice.session.receive(JSON.stringify({ t: 'join', hello: bob2.hello }));
    const labelOf = (fp: string) => alice.session.view().members.find((m) => m.fp === fp)?.label;
    expect(labelOf(bob1.identity.fp)).not.toBe('Bob');
    expect(labelOf(bob1.identity.fp)).not.toBe(labelOf(bob2.identity.fp));
    expect(noticesOf(alice)).toEqual([
      `${labelOf(bob1.identity.fp)} joined. Compare safety codes to know it is really them.`,
      `${labelOf(bob2.identity.fp)} joined. Compare safety codes to know it is really them.`,
    ]);
  });
});

describe('one shared roster', () => {
  const statementOf = (m: TestRoom['members'][0]) => {
    const frame = [...m.sent].reverse().find((f) => f.includes('"t":"roster"'));
    if (frame === undefined) throw new Error('no roster statement sent');
    return frame;
  };

  it('reports who sees a different list once the difference outlasts the grace period', async () => {
    const room = await makeRoom(['Alice', 'Bob', 'Carol']);
    const [alice, bob, carol] = room.members as [TestRoom['members'][0], TestRoom['members'][0], TestRoom['members'][0]];
    await alice.session.receive(statementOf(bob));
    await alice.session.receive(statementOf(carol));
    expect(alice.session.view().agreement).toEqual({ kind: 'same', count: 3 });

    // A relay hides Carol from Bob: Bob's next statement lacks her.
    await bob.session.receive(JSON.stringify({ t: 'leave', fp: carol.identity.fp }));
    await alice.session.receive(statementOf(bob));
    expect(alice.session.view().agreement).toEqual({ kind: 'checking' });
    advance(ROSTER_AGREE_GRACE_MS);
    alice.session.refresh();
    expect(alice.session.view().agreement).toEqual({ kind: 'different', who: [{ label: 'Bob', plus: [], minus: ['Carol'] }] });
  });

  it('refuses a replayed older statement and a statement not signed by its sender', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestRoom['members'][0], TestRoom['members'][0]];
    const old = statementOf(bob);
    await bob.session.confirmRoster();
    expect(await alice.session.receive(statementOf(bob))).toEqual([{ ok: true }]);
    expect(await alice.session.receive(old)).toMatchObject([{ ok: false, reason: 'replay' }]);
    const forged = JSON.parse(statementOf(bob)) as { rc: { n: number } };
    forged.rc.n += 10;
    expect(await alice.session.receive(JSON.stringify(forged))).toMatchObject([{ ok: false, reason: 'bad-signature' }]);
  });

  it('names members who never state their roster', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const alice = room.members[0] as TestRoom['members'][0];
    advance(ROSTER_AGREE_GRACE_MS);
    alice.session.refresh();
    expect(alice.session.view().agreement).toEqual({ kind: 'silent', who: ['Bob'] });
  });
});

describe('reconnecting with new keys', () => {
  it('carries the timeline, counts and verified keys over, and flags a name back under another key', async () => {
    const room = await makeRoom(['Alice', 'Bob', 'Carol']);
    const [alice, bob] = room.members as [TestRoom['members'][0], TestRoom['members'][0]];
    alice.session.setVerified(bob.identity.fp, true);
    await alice.session.post('sent but never confirmed');
    const carry = alice.session.carryOver();
    expect(carry.timeline.at(-1)).toMatchObject({ kind: 'message', body: 'sent but never confirmed', isPending: false, isUnconfirmed: true });

    // Alice's connection drops; Bob's does not; Carol also reconnected, with new keys.
    const carol2 = await makeMember(room.keys, 'Carol');
    const sent: string[] = [];
    const again = new RoomSession(room.keys, await generateIdentity(), 'Alice', (f) => sent.push(uploadText(f)), { now: tick, carry });
    await again.start();
    await again.receive(JSON.stringify({ t: 'welcome', members: [bob.hello, carol2.hello] }));
    const trust = Object.fromEntries(again.view().members.filter((m) => !m.isSelf).map((m) => [m.name, m.trust]));
    expect(trust).toEqual({ Bob: 'verified', Carol: 'changed' });
    expect(noticesOf({ session: again }).at(-1)).toBe('Carol rejoined with a new key — verify again.');
    expect(again.view().timeline.some((e) => e.kind === 'message' && e.body === 'sent but never confirmed')).toBe(true);
  });
});
