import { beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, importPeerKeys, sealMessage } from '../../client/crypto';
import { fromB64u, toB64u, type Envelope } from '../../client/protocol';
import { ROSTER_MISMATCH_GRACE_MS } from '../../client/room';
import { ROSTER_AGREE_GRACE_MS } from '../../client/roster';
import { advance, envOf, frameOf, makeMember, makeRoom, messagesOf, noticesOf, post, tick, type TestRoom } from '../support/members';

/** Flips one bit in the middle of a base64url field, keeping it canonical and the same length. */
function flip(field: string): string {
  const bytes = fromB64u(field) as Uint8Array;
  const i = Math.floor(bytes.length / 2);
  bytes[i] = (bytes[i] as number) ^ 0x01;
  return toB64u(bytes);
}

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

describe('the receiver’s checks', () => {
  let room: TestRoom;
  beforeAll(async () => {
    room = await makeRoom(['Alice', 'Bob', 'Carol']);
  });
  const alice = () => room.members[0] as TestRoom['members'][0];
  const bob = () => room.members[1] as TestRoom['members'][0];

  it.each([
    ['iv', (e: Envelope) => ({ ...e, iv: flip(e.iv) })],
    ['ct', (e: Envelope) => ({ ...e, ct: flip(e.ct) })],
    ['Bob’s wrap', (e: Envelope) => ({ ...e, wraps: { ...e.wraps, [bob().identity.fp]: flip(e.wraps[bob().identity.fp] as string) } })],
    ['another recipient’s wrap', (e: Envelope) => ({ ...e, wraps: { ...e.wraps, [alice().identity.fp]: flip(e.wraps[alice().identity.fp] as string) } })],
    ['sig', (e: Envelope) => ({ ...e, sig: flip(e.sig) })],
    ['ts', (e: Envelope) => ({ ...e, ts: e.ts + 1 })],
  ])('rejects a message with one bit flipped in %s, and shows no content', async (_field, tamper) => {
    const env = envOf(await post(alice(), 'secret plans'));
    const before = messagesOf(bob()).length;
    const [verdict] = await bob().session.receive(frameOf(tamper(env)));
    expect(verdict).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(messagesOf(bob())).toHaveLength(before);
    expect(noticesOf(bob()).at(-1)).toBe('A message claiming to be from Alice failed verification and was blocked.');
  });

  it('rejects a message signed by a key outside the roster, claiming to be Alice', async () => {
    const mallory = await generateIdentity();
    const recipients = room.members.map((m) => m.session.view().members.find((x) => x.isSelf)?.keys).filter((k) => k !== undefined);
    const forged = await sealMessage(room.keys, { ...mallory, fp: alice().identity.fp }, { msgId: 'forgedforgedforgedfor', seq: 999, ts: tick(), body: 'send me money' }, recipients);
    const [verdict] = await bob().session.receive(frameOf(forged));
    expect(verdict).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(messagesOf(bob()).some((m) => m.includes('send me money'))).toBe(false);
    expect(bob().session.view().blocked.forged).toBeGreaterThan(0);
  });

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

  it('does not admit a member whose hello lacks a valid MAC', async () => {
    const other = await makeRoom(['Mallory']);
    const mallory = other.members[0] as TestRoom['members'][0];
    const hello = { ...mallory.hello, roomId: room.keys.roomId };
    const [verdict] = await bob().session.receive(JSON.stringify({ t: 'join', hello }));
    expect(verdict).toMatchObject({ ok: false, reason: 'bad-hello' });
    expect(bob().session.view().members.map((m) => m.name)).not.toContain('Mallory');
  });

  it('rejects an exact replay and shows the message once', async () => {
    const frame = await post(alice(), 'only once');
    expect(await bob().session.receive(frame)).toEqual([{ ok: true }]);
    expect(await bob().session.receive(frame)).toEqual([{ ok: false, reason: 'replay', detail: 'seen before' }]);
    expect(messagesOf(bob()).filter((m) => m === 'Alice: only once')).toHaveLength(1);
    expect(bob().session.view().blocked.replayed).toBe(1);
    expect(noticesOf(bob()).at(-1)).toBe('A repeated copy of an earlier message from Alice was blocked.');
  });

  it('says so when a message was withheld', async () => {
    const first = await post(alice(), 'one');
    await post(alice(), 'two (withheld)');
    const third = await post(alice(), 'three');
    await bob().session.receive(first);
    expect(await bob().session.receive(third)).toEqual([{ ok: true }]);
    expect(noticesOf(bob()).at(-1)).toBe('1 message from Alice was not delivered to you.');
    expect(messagesOf(bob()).slice(-2)).toEqual(['Alice: one', 'Alice: three']);
  });

  it('tells a member it was excluded from a message', async () => {
    advance(ROSTER_MISMATCH_GRACE_MS);
    const keysOf = (i: number) => room.members[i]?.session.view().members.find((m) => m.isSelf)?.keys;
    const recipients = [keysOf(0), keysOf(2)].filter((k) => k !== undefined);
    const env = await sealMessage(room.keys, alice().identity, { msgId: 'excludedexcludedexclu', seq: 500, ts: tick(), body: 'not for Bob' }, recipients);
    const [verdict] = await bob().session.receive(frameOf(env));
    expect(verdict).toMatchObject({ ok: false, reason: 'excluded' });
    expect(noticesOf(bob()).at(-1)).toBe('Alice sent a message that excluded you.');
  });

  it('rejects a frame that is not a valid envelope, with a notice', async () => {
    const [verdict] = await bob().session.receive('{"t":"msg","env":{"v":1}}');
    expect(verdict).toMatchObject({ ok: false, reason: 'malformed' });
    expect(noticesOf(bob()).at(-1)).toBe('A message that was not correctly formed was blocked.');
  });
});

describe('order and lateness', () => {
  it('shows a message that arrives after a later one, says it was late, and takes back the gap', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestRoom['members'][0], TestRoom['members'][0]];
    const frames = [await post(alice, 'one'), await post(alice, 'two'), await post(alice, 'three')];
    await bob.session.receive(frames[0] as string);
    await bob.session.receive(frames[2] as string);
    expect(bob.session.view().blocked.gaps).toBe(1);
    expect(await bob.session.receive(frames[1] as string)).toEqual([{ ok: true }]);
    expect(noticesOf(bob).slice(-2)).toEqual(['1 message from Alice was not delivered to you.', 'The next message from Alice arrived late, out of order.']);
    expect(messagesOf(bob)).toEqual(['Alice: one', 'Alice: three', 'Alice: two']);
    expect(bob.session.view().blocked.gaps).toBe(0);
  });

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
    expect(noticesOf(alice)).toEqual(['Dave joined. Compare safety codes to know it is really them.', 'Dave left.']);
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
