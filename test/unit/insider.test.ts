/**
 * What a member with the link, or a relay without it, could do to other
 * members' tabs (issue 13), each against the real client core: the verdict,
 * and what the person sees.
 */
import { describe, expect, it } from 'vitest';
import { ecdsaSign, generateIdentity, hkdf, makeHello, randomBytes, rosterHash, sealMessage, sha256, signRosterConfirm, wrapHash, type Identity, type PeerKeys, type RoomKeys, type Sealed } from '../../client/crypto';
import { PAD_BUCKET_BYTES, enc, encodeServerFrame, envelopeHeader, envelopeSignedBytes, helloMacBytes, helloSignedBytes, toB64u, wrapLabel, type Hello } from '../../client/protocol';
import { ROSTER_STATEMENT_MS, SEQ_WINDOW, STATEMENT_STALE_MS } from '../../client/timing';
import { RelayedSession, advance, frameOf, lastStatement, sealedOf, makeMember, makeRoom, messagesOf, noticesOf, post, tick, uploadText, type TestMember, type TestRoom } from '../support/members';

const trio = async (): Promise<[TestRoom, TestMember, TestMember, TestMember]> => {
  const room = await makeRoom(['Alice', 'Bob', 'Carol']);
  const [a, b, c] = room.members as [TestMember, TestMember, TestMember];
  return [room, a, b, c];
};
const recipientsOf = (m: TestMember) => m.session.view().members.map((x) => x.keys);
const leaveOf = (m: TestMember) => encodeServerFrame({ t: 'leave', fp: m.identity.fp });
const joinOf = (hello: Hello) => encodeServerFrame({ t: 'join', hello });

/** A new connection of `m`'s tab: new keys, carrying over what the last one knew. */
async function reconnect(room: TestRoom, m: TestMember): Promise<TestMember> {
  const sent: string[] = [];
  const identity = await generateIdentity();
  const session = new RelayedSession(room.keys, identity, m.name, (f) => sent.push(uploadText(f)), { now: tick, carry: m.session.carryOver() });
  await session.start();
  const hello = (JSON.parse(sent.shift() ?? '{}') as { hello: Hello }).hello;
  return { name: m.name, identity, session, hello, sent };
}

describe('1. timestamps', () => {
  it('refuses a message stamped past the last date a browser can show', async () => {
    const [, alice, bob] = await trio();
    const sealed = await sealMessage((await makeRoom([])).keys, alice.identity, { msgId: 'farFutureFarFutureFar', seq: 1, ts: 8.7e15, body: 'boom' }, recipientsOf(bob));
    const [verdict] = await bob.session.receive(frameOf({ ...sealed, env: { ...sealed.env, room: bob.session.keys.roomId } }));
    expect(verdict).toMatchObject({ ok: false, reason: 'malformed' });
    expect(messagesOf(bob)).toEqual([]);
  });

  it('shows a message from a clock more than a day off at the time it arrived, and says so', async () => {
    const [room, alice, bob] = await trio();
    const env = await sealMessage(room.keys, alice.identity, { msgId: 'skewedClockSkewedCloc', seq: 1, ts: tick() + 3 * 86_400_000, body: 'from the future' }, recipientsOf(bob));
    const before = tick();
    expect(await bob.session.receive(frameOf(env))).toEqual([{ ok: true }]);
    const shown = bob.session.view().timeline.find((e) => e.kind === 'message');
    expect(shown?.ts).toBeGreaterThan(before);
    expect(shown?.ts).toBeLessThan(before + 1000);
    expect(noticesOf(bob).at(-1)).toBe('Alice’s clock is more than a day off: their message shows the time it arrived.');
  });
});

describe('3. look-alike names', () => {
  it('shows a name with invisible characters without them, and tells it apart from the name it imitates', async () => {
    const [room, alice, bob] = await trio();
    const fake = await makeMember(room.keys, 'Alice\u2060');
    await bob.session.receive(joinOf(fake.hello));
    const names = bob.session.view().members.filter((m) => m.fp !== bob.identity.fp).map((m) => m.name);
    expect(names.filter((n) => n === 'Alice')).toHaveLength(2);
    const labels = bob.session.view().members.filter((m) => m.name === 'Alice').map((m) => m.label);
    expect(new Set(labels).size).toBe(2);
    expect(labels.every((l) => l.startsWith('Alice #'))).toBe(true);
    void alice;
  });

  it('refuses a hello whose name has nothing visible', async () => {
    const [room, alice] = await trio();
    const ghost = await makeMember(room.keys, '\u200b\u2060');
    expect(await alice.session.receive(joinOf(ghost.hello))).toMatchObject([{ ok: false, reason: 'bad-hello', detail: 'a name needs at least one visible character' }]);
  });

  it('warns of a new key when a look-alike of a member who left joins', async () => {
    const [room, alice, bob] = await trio();
    await alice.session.receive(leaveOf(bob));
    const fake = await makeMember(room.keys, 'Bob\u200b');
    await alice.session.receive(joinOf(fake.hello));
    expect(noticesOf(alice).at(-1)).toBe('Bob rejoined with a new key — verify again.');
    expect(alice.session.view().members.find((m) => m.fp === fake.identity.fp)?.trust).toBe('changed');
  });
});

describe('4. names are never replacement patterns', () => {
  it.each([["$'"], ['$&'], ['$`'], ['$$1']])('shows a member called %s by that name in every notice', async (name) => {
    const room = await makeRoom(['Alice']);
    const alice = room.members[0] as TestMember;
    const odd = await makeMember(room.keys, name);
    await alice.session.receive(joinOf(odd.hello));
    await alice.session.receive(leaveOf(odd));
    expect(noticesOf(alice)).toEqual([`${name} joined. Compare safety codes to know it is really them.`, `${name} lost connection.`]);
  });
});

describe('5. message ids are de-duplicated per sender', () => {
  it('shows Alice’s real message after a member squatted on its id', async () => {
    const [, alice, bob, carol] = await trio();
    const real = sealedOf(await post(alice, 'the real one'));
    const squat = await sealMessage(bob.session.keys, carol.identity, { msgId: real.env.msgId, seq: 1, ts: tick(), body: 'squatter' }, recipientsOf(bob));
    expect(await bob.session.receive(frameOf(squat))).toEqual([{ ok: true }]);
    expect(await bob.session.receive(frameOf(real))).toEqual([{ ok: true }]);
    expect(messagesOf(bob)).toEqual(['Carol: squatter', 'Alice: the real one']);
    // Both are on screen, each under its own key.
    expect(new Set(bob.session.view().timeline.map((e) => e.key)).size).toBe(bob.session.view().timeline.length);
  });

  it('still refuses the same id twice from the same sender', async () => {
    const [, alice, bob] = await trio();
    const first = sealedOf(await post(alice, 'one'));
    const again = await sealMessage(bob.session.keys, alice.identity, { msgId: first.env.msgId, seq: 2, ts: tick(), body: 'two' }, recipientsOf(bob));
    await bob.session.receive(frameOf(first));
    expect(await bob.session.receive(frameOf(again))).toMatchObject([{ ok: false, reason: 'replay' }]);
  });
});

describe('6. statements prove they are fresh', () => {
  it('tells a member cut off and fed banked statements within the staleness bound, and marks her messages unconfirmed', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestMember, TestMember];
    await bob.session.receive(lastStatement(alice));
    await alice.session.receive(lastStatement(bob));
    // The relay holds each of Bob's statements back two intervals (Alice's
    // still reach Bob): a delay short of the staleness bound goes unnoticed…
    const held: string[] = [];
    let isCut = false;
    const step = async () => {
      advance(ROSTER_STATEMENT_MS);
      await alice.session.confirmRoster();
      if (!isCut) await bob.session.receive(lastStatement(alice));
      await bob.session.confirmRoster();
      held.push(lastStatement(bob));
      if (held.length > 2) await alice.session.receive(held.shift() ?? '');
      alice.session.refresh();
    };
    for (let i = 0; i < 6; i++) await step();
    expect(alice.session.view().agreement).toEqual({ kind: 'same', count: 2 });
    // …then it cuts Alice off: her frames go nowhere, her own messages are
    // echoed back to her, and she keeps getting Bob's (held) statements.
    isCut = true;
    const cutAt = tick();
    const mine = await post(alice, 'does anyone read this?');
    await alice.session.receive(mine);
    let toldAfterMs: number | null = null;
    for (let i = 0; i < 8; i++) {
      await step();
      if (toldAfterMs === null && alice.session.view().agreement.kind === 'silent') toldAfterMs = tick() - cutAt;
    }
    expect(alice.session.view().agreement).toEqual({ kind: 'silent', who: ['Bob'] });
    expect(toldAfterMs).not.toBeNull();
    // Told within the staleness bound of the last statement of hers that Bob acknowledged.
    expect(toldAfterMs ?? Infinity).toBeLessThanOrEqual(STATEMENT_STALE_MS);
    const own = alice.session.view().timeline.find((e) => e.kind === 'message' && e.body === 'does anyone read this?');
    expect(own).toMatchObject({ isPending: false, isUnconfirmed: true });
    expect(alice.session.view().isAllVerified).toBe(false);
  });

  it('confirms a message once another member’s statement says it arrived', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestMember, TestMember];
    const mine = await post(alice, 'hello Bob');
    await alice.session.receive(mine);
    await bob.session.receive(mine);
    await bob.session.confirmRoster();
    await alice.session.receive(lastStatement(bob));
    advance(STATEMENT_STALE_MS);
    alice.session.refresh();
    const own = alice.session.view().timeline.find((e) => e.kind === 'message');
    expect(own?.kind === 'message' && own.isUnconfirmed).not.toBe(true);
  });
});

describe('6, the clock: what refresh() marks', () => {
  it('marks my message unconfirmed only once nobody acknowledged it for the staleness bound', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice] = room.members as [TestMember, TestMember];
    await alice.session.post('anyone?');
    const isUnconfirmed = () => alice.session.view().timeline.some((e) => e.kind === 'message' && e.isUnconfirmed === true);
    alice.session.refresh();
    expect(isUnconfirmed()).toBe(false);
    advance(STATEMENT_STALE_MS - 100);
    alice.session.refresh();
    expect(isUnconfirmed()).toBe(false);
    advance(200);
    alice.session.refresh();
    expect(isUnconfirmed()).toBe(true);
  });

  it('sends at the next refresh the room statement a burst of changes held back', async () => {
    const room = await makeRoom(['Alice', 'Bob', 'Carol']);
    const [alice] = room.members as [TestMember, TestMember, TestMember];
    const states = () => alice.sent.filter((f) => f.includes('"t":"state"')).length;
    // Her first statement went out at her start; the welcome's joins, a moment later, wait (one a second at most).
    const before = states();
    await alice.session.confirmRoster();
    expect(states()).toBe(before);
    alice.session.refresh();
    // Queued after the refresh's, so done after it (and held back itself: under a second since the last).
    await alice.session.confirmRoster();
    expect(states()).toBe(before + 1);
  });
});

describe('7. leaves', () => {
  it('reads a leave the member did not sign as a lost connection', async () => {
    const [, alice, bob] = await trio();
    await alice.session.receive(leaveOf(bob));
    expect(noticesOf(alice).at(-1)).toBe('Bob lost connection.');
  });

  it('reads a signed goodbye as “left”, before or without the server’s leave', async () => {
    const [, alice, bob] = await trio();
    const bye = bob.session.goodbye();
    expect(bye).not.toBeNull();
    expect(await alice.session.receive(bye ?? '')).toEqual([{ ok: true }]);
    expect(noticesOf(alice).at(-1)).toBe('Bob left.');
    expect(alice.session.view().members.map((m) => m.name).sort()).toEqual(['Alice', 'Carol']);
    await alice.session.receive(leaveOf(bob));
    expect(noticesOf(alice).filter((n) => n.startsWith('Bob'))).toEqual(['Bob left.']);
  });

  it('refuses a goodbye the member did not sign', async () => {
    const [room, alice, bob] = await trio();
    const mallory = await generateIdentity();
    const forged = await signRosterConfirm(room.keys, { ...mallory, fp: bob.identity.fp }, 99, 0, [alice.identity.fp, bob.identity.fp], { isLeaving: true });
    expect(await alice.session.receive(encodeServerFrame({ t: 'roster', rc: forged }))).toMatchObject([{ ok: false, reason: 'bad-signature' }]);
    expect(alice.session.view().members.some((m) => m.name === 'Bob')).toBe(true);
  });
});

describe('8. a reconnect remembers who left and what arrived', () => {
  it('refuses a departed member’s old hello replayed into the next welcome, and never calls the room all verified', async () => {
    const [room, alice, bob, carol] = await trio();
    alice.session.setVerified(bob.identity.fp, true);
    alice.session.setVerified(carol.identity.fp, true);
    await alice.session.receive(bob.session.goodbye() ?? '');
    const again = await reconnect(room, alice);
    const verdicts = await again.session.receive(encodeServerFrame({ t: 'welcome', members: [carol.hello, bob.hello] }));
    expect(verdicts).toMatchObject([{ ok: true }, { ok: false, reason: 'stale-hello' }]);
    expect(again.session.view().members.map((m) => m.name).sort()).toEqual(['Alice', 'Carol']);
  });

  it('treats an old message replayed after a reconnect as a replay, not as one that excluded me', async () => {
    const [room, alice, bob] = await trio();
    const old = await post(bob, 'before the reconnect');
    await alice.session.receive(old);
    const again = await reconnect(room, alice);
    await again.session.receive(encodeServerFrame({ t: 'welcome', members: room.members.filter((m) => m !== alice).map((m) => m.hello) }));
    advance(STATEMENT_STALE_MS);
    expect(await again.session.receive(old)).toMatchObject([{ ok: false, reason: 'replay' }]);
    expect(noticesOf(again).at(-1)).toBe('A repeated copy of an earlier message from Bob was blocked.');
  });

  it('shows a ghost of a verified member who never speaks as not heard from, never as all verified', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestMember, TestMember];
    alice.session.setVerified(bob.identity.fp, true);
    await alice.session.receive(lastStatement(bob));
    expect(alice.session.view().isAllVerified).toBe(true);
    advance(STATEMENT_STALE_MS);
    alice.session.refresh();
    expect(alice.session.view().isAllVerified).toBe(false);
  });
});

describe('9. a statement that overtakes the messages it counts', () => {
  it('takes the gap back when the messages arrive', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [TestMember, TestMember];
    await bob.session.receive(await post(alice, 'first'));
    const second = await post(alice, 'second');
    const third = await post(alice, 'third');
    await alice.session.confirmRoster();
    await bob.session.receive(lastStatement(alice));
    expect(noticesOf(bob).at(-1)).toBe('2 messages from Alice were not delivered to you.');
    expect(bob.session.view().blocked.gaps).toBe(2);
    await bob.session.receive(second);
    expect(noticesOf(bob)).toContain('1 message from Alice was not delivered to you.');
    await bob.session.receive(third);
    expect(bob.session.view().blocked.gaps).toBe(0);
    expect(noticesOf(bob).some((n) => n.includes('not delivered'))).toBe(false);
    expect(messagesOf(bob)).toEqual(['Alice: first', 'Alice: second', 'Alice: third']);
  });

  it('keeps replay state only within the window', () => {
    expect(SEQ_WINDOW).toBeGreaterThanOrEqual(1024);
  });
});

describe('10. a reconnect proves continuity', () => {
  it('keeps a verified mark silently when the old key vouches for the new one', async () => {
    const [room, alice, bob] = await trio();
    alice.session.setVerified(bob.identity.fp, true);
    const bob2 = await reconnect(room, bob);
    await alice.session.receive(leaveOf(bob));
    expect(await alice.session.receive(joinOf(bob2.hello))).toEqual([{ ok: true }]);
    const entry = alice.session.view().members.find((m) => m.name === 'Bob');
    expect(entry).toMatchObject({ fp: bob2.identity.fp, trust: 'verified' });
    expect(noticesOf(alice).at(-1)).toBe('Bob reconnected (their previous key vouched for the new one).');
  });

  it('keeps it when the new join overtakes the old connection’s leave, and drops the old identity', async () => {
    const [room, alice, bob] = await trio();
    alice.session.setVerified(bob.identity.fp, true);
    const bob2 = await reconnect(room, bob);
    await alice.session.receive(joinOf(bob2.hello));
    expect(alice.session.view().members.filter((m) => m.name === 'Bob')).toMatchObject([{ fp: bob2.identity.fp, trust: 'verified' }]);
    await alice.session.receive(leaveOf(bob));
    expect(noticesOf(alice).some((n) => n.includes('lost connection'))).toBe(false);
  });

  it('shows “new key” when the vouching signature was not made by the old key', async () => {
    const [room, alice, bob] = await trio();
    alice.session.setVerified(bob.identity.fp, true);
    const mallory = await generateIdentity();
    // A relay forces a reconnect and swaps in its own key, claiming Bob's old one vouched for it.
    const unsigned = { v: 1, roomId: room.keys.roomId, encSpki: mallory.encSpki, sigSpki: mallory.sigSpki, nameCt: '', prev: { fp: bob.identity.fp, sig: '' } };
    const honest = await makeHello(room.keys, mallory, 'Bob', { ...mallory, fp: bob.identity.fp });
    expect(honest.prev?.fp).toBe(bob.identity.fp);
    void unsigned;
    await alice.session.receive(leaveOf(bob));
    expect(await alice.session.receive(joinOf(honest))).toEqual([{ ok: true }]);
    expect(alice.session.view().members.find((m) => m.name === 'Bob')).toMatchObject({ fp: mallory.fp, trust: 'changed' });
    expect(noticesOf(alice).at(-1)).toBe('Bob rejoined with a new key — verify again.');
  });
});

/**
 * What an insider with the link could seal by hand: an envelope whose
 * encrypted inner header says something else than the signed outer one.
 */
async function sealWithInner(keys: RoomKeys, id: Identity, recipients: readonly PeerKeys[], outer: { seq: number; msgId: string }, inner: { sender: string; room: string; seq: number }): Promise<Sealed> {
  const sorted = [...recipients].sort((a, b) => (a.fp < b.fp ? -1 : 1));
  const fps = sorted.map((r) => r.fp);
  const hdr = { v: 1, room: keys.roomId, sender: id.fp, seq: outer.seq, msgId: outer.msgId, ts: tick(), rosterHash: await rosterHash(fps), recipients: fps };
  const k = randomBytes(32);
  const iv = randomBytes(12);
  const msgKey = await crypto.subtle.importKey('raw', await hkdf(k, keys.msgSalt, `v1/msg-key|${outer.msgId}`, 32), 'AES-GCM', false, ['encrypt']);
  const plain = enc('v1/inner', inner.sender, inner.room, inner.seq, 'not what it seems');
  const padded = new Uint8Array(Math.ceil(plain.length / PAD_BUCKET_BYTES) * PAD_BUCKET_BYTES);
  padded.set(plain);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: await sha256(envelopeHeader(hdr)) }, msgKey, padded));
  const wraps: Record<string, string> = {};
  for (const r of sorted) wraps[r.fp] = toB64u(new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP', label: wrapLabel(keys.roomId, outer.msgId, r.fp) }, r.encPub, k)));
  const hashes = await Promise.all(sorted.map((r) => wrapHash(keys.roomId, outer.msgId, r.fp, wraps[r.fp] as string)));
  const unsigned = { ...hdr, iv: toB64u(iv), ct: toB64u(ct), wrapHashes: toB64u(new Uint8Array(hashes.flatMap((h) => [...h]))) };
  return { env: { ...unsigned, sig: await ecdsaSign(id.sigPriv, envelopeSignedBytes(unsigned)) }, wraps };
}

describe('13. checks whose removal a test must notice', () => {
  it.each([
    ['seq', (room: TestRoom, a: TestMember) => ({ sender: a.identity.fp, room: room.keys.roomId, seq: 9 })],
    ['sender', (room: TestRoom, _a: TestMember, c: TestMember) => ({ sender: c.identity.fp, room: room.keys.roomId, seq: 1 })],
    ['room', (_room: TestRoom, a: TestMember) => ({ sender: a.identity.fp, room: 'AAAAAAAAAAAAAAAAAAAAAA', seq: 1 })],
  ] as const)('refuses a message whose encrypted inner %s differs from the signed envelope', async (_field, innerOf) => {
    const [room, alice, bob, carol] = await trio();
    const env = await sealWithInner(room.keys, alice.identity, recipientsOf(bob), { seq: 1, msgId: 'innerDiffersFromOuter' }, innerOf(room, alice, carol));
    const [verdict] = await bob.session.receive(frameOf(env));
    expect(verdict).toMatchObject({ ok: false, reason: 'inner-mismatch' });
    expect(noticesOf(bob).at(-1)).toBe('A message from Alice did not match its envelope and was blocked.');
    expect(messagesOf(bob)).toEqual([]);
  });


  it('refuses a hello with the link’s MAC whose signature was not made by its own signing key', async () => {
    const [room, alice] = await trio();
    const dave = await generateIdentity();
    const other = await generateIdentity();
    const hello = await makeHello(room.keys, dave, 'Dave');
    // Signed by another key, then MAC'd with the link: only the signature check can tell.
    const sig = await ecdsaSign(other.sigPriv, helloSignedBytes(hello));
    const mac = toB64u(new Uint8Array(await crypto.subtle.sign('HMAC', room.keys.kHello, helloMacBytes({ ...hello, sig }))));
    const [verdict] = await alice.session.receive(joinOf({ ...hello, sig, mac }));
    expect(verdict).toMatchObject({ ok: false, reason: 'bad-hello', detail: 'hello signature is invalid' });
    expect(alice.session.view().members.some((m) => m.name === 'Dave')).toBe(false);
  });

  it.each([
    ['ts', { ts: 1_700_000_999_999 }],
    ['seq', { seq: 7 }],
    ['msgId', { msgId: 'anotherIdAnotherIdAno' }],
  ] as const)('refuses an envelope whose %s the relay changed, as a forgery', async (_field, change) => {
    const [, alice, bob] = await trio();
    const sealed = sealedOf(await post(alice, 'signed header'));
    const [verdict] = await bob.session.receive(frameOf({ ...sealed, env: { ...sealed.env, ...change } }));
    expect(verdict).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(messagesOf(bob)).toEqual([]);
  });
});
