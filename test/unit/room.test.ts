import { beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, importPeerKeys, sealMessage } from '../../client/crypto';
import { fromB64u, toB64u, type Envelope } from '../../client/protocol';
import { envOf, frameOf, makeMember, makeRoom, messagesOf, noticesOf, post, tick, type TestRoom } from '../support/members';

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

describe('joining and leaving', () => {
  it('adds a member on a valid join and removes them on leave', async () => {
    const room = await makeRoom(['Alice']);
    const alice = room.members[0] as TestRoom['members'][0];
    const dave = await makeMember(room.keys, 'Dave');
    await alice.session.receive(JSON.stringify({ t: 'join', hello: dave.hello }));
    expect(alice.session.view().members.map((m) => m.name)).toEqual(['Alice', 'Dave']);
    await alice.session.receive(JSON.stringify({ t: 'leave', fp: dave.identity.fp }));
    expect(alice.session.view().members.map((m) => m.name)).toEqual(['Alice']);
    expect(noticesOf(alice)).toEqual(['Dave joined.', 'Dave left.']);
  });
});
