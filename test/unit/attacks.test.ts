/**
 * Hush against a hostile relay, attack by attack (issue #4). Each test plays
 * the relay against the real client core (RoomSession, real WebCrypto) and
 * asserts both the receive path's verdict and what the person sees: the
 * notice, and that no forged or tampered content is rendered.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ecdsaSign,
  generateIdentity,
  importPeerKeys,
  makeHello,
  randomBytes,
  rosterHash,
  sealMessage,
  wrapHash,
  type Identity,
  type PeerKeys,
  type Sealed,
} from '../../client/crypto';
import { WRAP_BYTES, WRAP_HASH_BYTES, envelopeSignedBytes, fromB64u, toB64u, type Envelope, type Hello } from '../../client/protocol';
import { STATEMENT_STALE_MS } from '../../client/timing';
import { advance, deliveryOf, envOf, frameOf, makeMember, makeRoom, messagesOf, noticesOf, post, sealedOf, tick, type TestMember, type TestRoom } from '../support/members';

const N = 'A message that was not correctly formed was blocked.';
const FORGED = (name: string) => `A message claiming to be from ${name} failed verification and was blocked.`;
const DAMAGED = (name: string) => `A message claiming to be from ${name} had a damaged recipient list and was blocked.`;
const BAD_HELLO = 'Someone tried to join without a valid key or this room’s link, and was blocked.';

/** Flips one bit in a base64url field at byte `at` (default: the middle), keeping it canonical. */
function flip(field: string, at?: number): string {
  const bytes = fromB64u(field) as Uint8Array;
  const i = at ?? Math.floor(bytes.length / 2);
  bytes[i] = (bytes[i] as number) ^ 0x01;
  return toB64u(bytes);
}

let room: TestRoom;
let alice: TestMember;
let bob: TestMember;
let carol: TestMember;
let relayKey: Identity;
let everyone: PeerKeys[];

beforeAll(async () => {
  room = await makeRoom(['Alice', 'Bob', 'Carol']);
  [alice, bob, carol] = room.members as [TestMember, TestMember, TestMember];
  relayKey = await generateIdentity();
  everyone = bob.session.view().members.map((m) => m.keys);
});

const COUNT = / \(×(\d+)\)$/;
/** How often Bob was shown `notice`: its lines, each counted by its "(×N)" (a repeat within a minute is one counted line). */
const timesShown = (notice: string): number => noticesOf(bob).reduce((n, line) => {
  const count = COUNT.exec(line);
  return (count === null ? line : line.slice(0, count.index)) === notice ? n + Number(count?.[1] ?? 1) : n;
}, 0);

/** Delivers `frame` to Bob and checks the verdict, the notice (the newest line, counted once more), and that Bob's messages did not change. */
async function expectBlocked(frame: string, reason: string, notice: string) {
  const before = messagesOf(bob);
  const shown = timesShown(notice);
  const [verdict] = await bob.session.receive(frame);
  expect(verdict).toMatchObject({ ok: false, reason });
  expect(noticesOf(bob).at(-1)?.replace(COUNT, '')).toBe(notice);
  expect(timesShown(notice)).toBe(shown + 1);
  expect(messagesOf(bob)).toEqual(before);
}

/** Re-signs an envelope as `who`, as a member (not the relay) could. */
async function resign(env: Envelope, who: Identity): Promise<Envelope> {
  const unsigned = { ...env, sender: who.fp };
  return { ...unsigned, sig: await ecdsaSign(who.sigPriv, envelopeSignedBytes(unsigned)) };
}

describe('a hostile relay', () => {
  it('1. forgery: wraps a key for everyone and signs as Alice with its own key', async () => {
    const forged = await sealMessage(room.keys, { ...relayKey, fp: alice.identity.fp }, { msgId: 'forgedByTheRelay00001', seq: 9_000, ts: tick(), body: 'wire the money' }, everyone);
    await expectBlocked(frameOf(forged), 'bad-signature', FORGED('Alice'));
  });

  it('2. sends a hello without the link’s MAC', async () => {
    const dave = await makeMember(room.keys, 'Dave');
    const hello: Hello = { ...dave.hello, mac: toB64u(new Uint8Array(32)) };
    await expectBlocked(JSON.stringify({ t: 'join', hello }), 'bad-hello', BAD_HELLO);
    expect(bob.session.view().members.map((m) => m.name)).not.toContain('Dave');
  });

  it.each(['encSpki', 'sigSpki'] as const)('3. swaps one public key (%s) in a hello', async (field) => {
    const dave = await makeMember(room.keys, 'Dave');
    const hello: Hello = { ...dave.hello, [field]: relayKey[field] };
    await expectBlocked(JSON.stringify({ t: 'join', hello }), 'bad-hello', BAD_HELLO);
    expect(bob.session.view().members.map((m) => m.name)).not.toContain('Dave');
  });

  it('4a. replays a hello from another room', async () => {
    const other = await makeRoom(['Eve']);
    await expectBlocked(JSON.stringify({ t: 'join', hello: (other.members[0] as TestMember).hello }), 'bad-hello', BAD_HELLO);
  });

  it('4b. replays a message from another room', async () => {
    const other = await makeRoom(['Alice']);
    const env = envOf(await post(other.members[0] as TestMember, 'from elsewhere'));
    await expectBlocked(deliveryOf(env), 'wrong-room', 'A message addressed to another room was blocked.');
  });

  it('5. replays a message exactly', async () => {
    const frame = await post(alice, 'pay once');
    expect(await bob.session.receive(frame)).toEqual([{ ok: true }]);
    await expectBlocked(frame, 'replay', 'A repeated copy of an earlier message from Alice was blocked.');
    expect(messagesOf(bob).filter((m) => m === 'Alice: pay once')).toHaveLength(1);
  });

  it('6. replays a message under a new msgId', async () => {
    const sealed = sealedOf(await post(alice, 'pay twice?'));
    await bob.session.receive(frameOf(sealed));
    await expectBlocked(frameOf({ ...sealed, env: { ...sealed.env, msgId: 'aFreshMessageId000001' } }), 'bad-signature', FORGED('Alice'));
  });

  it('7. delivers seq 3 before seq 2: both shown, the late one marked', async () => {
    const [one, two, three] = [await post(alice, 'seq one'), await post(alice, 'seq two'), await post(alice, 'seq three')];
    await bob.session.receive(one);
    await bob.session.receive(three);
    expect(await bob.session.receive(two)).toEqual([{ ok: true }]);
    expect(noticesOf(bob).at(-1)).toBe('The next message from Alice arrived late, out of order.');
    expect(messagesOf(bob).slice(-3)).toEqual(['Alice: seq one', 'Alice: seq three', 'Alice: seq two']);
  });

  it('8a. withholds one message: the next one reveals the gap', async () => {
    const first = await post(alice, 'before the gap');
    await post(alice, 'withheld');
    await bob.session.receive(first);
    const gapsBefore = bob.session.view().blocked.gaps;
    await bob.session.receive(await post(alice, 'after the gap'));
    expect(noticesOf(bob).at(-1)).toBe('1 message from Alice was not delivered to you.');
    expect(bob.session.view().blocked.gaps).toBe(gapsBefore + 1);
    expect(messagesOf(bob)).not.toContain('Alice: withheld');
  });

  it('8c. withholds a sender’s latest message: its next roster statement reveals the gap', async () => {
    const fresh = await makeRoom(['Alice', 'Bob']);
    const [a, b] = fresh.members as [TestMember, TestMember];
    await b.session.receive(await post(a, 'delivered'));
    await post(a, 'withheld, and nothing follows it');
    await a.session.confirmRoster();
    const statement = [...a.sent].reverse().find((f) => f.includes('"t":"roster"')) ?? '';
    await b.session.receive(statement);
    expect(noticesOf(b).at(-1)).toBe('1 message from Alice was not delivered to you.');
    expect(b.session.view().blocked.gaps).toBe(1);
  });

  it('8b. withholds all traffic to one member: the header names who has gone quiet', async () => {
    const fresh = await makeRoom(['Alice', 'Bob']);
    const [a, b] = fresh.members as [TestMember, TestMember];
    await b.session.receive([...a.sent].reverse().find((f) => f.includes('"t":"roster"')) ?? '');
    expect(b.session.view().agreement).toEqual({ kind: 'same', count: 2 });
    // From now on the relay passes Bob nothing, while Alice keeps restating her roster.
    await a.session.confirmRoster();
    advance(STATEMENT_STALE_MS);
    b.session.refresh();
    expect(b.session.view().agreement).toEqual({ kind: 'silent', who: ['Alice'] });
  });

  describe('9–11. recipients and wraps', () => {
    let sealed: Sealed;
    let env: Envelope;
    /** Bob's own wrap of this message, as the relay would hand it to him. */
    let bobsWrap: string;
    beforeEach(async () => {
      sealed = sealedOf(await post(alice, 'for all three of us'));
      env = sealed.env;
      bobsWrap = sealed.wraps[bob.identity.fp] as string;
    });
    const hashes = (e: Envelope): Uint8Array[] => {
      const all = fromB64u(e.wrapHashes) as Uint8Array;
      return e.recipients.map((_, i) => all.slice(i * WRAP_HASH_BYTES, (i + 1) * WRAP_HASH_BYTES));
    };
    const joined = (list: Uint8Array[]): string => {
      const out = new Uint8Array(list.length * WRAP_HASH_BYTES);
      list.forEach((h, i) => out.set(h, i * WRAP_HASH_BYTES));
      return toB64u(out);
    };
    /** The envelope without `fp`: out of the recipients and its hash out of the signed list, as a careful relay would strip it. */
    const without = (e: Envelope, fp: string): Envelope => {
      const keep = e.recipients.map((r) => r !== fp);
      return { ...e, recipients: e.recipients.filter((_, i) => keep[i]), wrapHashes: joined(hashes(e).filter((_, i) => keep[i])) };
    };

    it('9. strips Bob, his hash and his wrap from a message', async () => {
      await expectBlocked(deliveryOf(without(env, bob.identity.fp)), 'bad-recipients', DAMAGED('Alice'));
    });

    it('9. strips Bob, his hash and his wrap, and recomputes the roster hash', async () => {
      const stripped = without(env, bob.identity.fp);
      await expectBlocked(deliveryOf({ ...stripped, rosterHash: await rosterHash(stripped.recipients) }), 'bad-signature', FORGED('Alice'));
    });

    it('9. strips Bob from the recipients but leaves the hash list as it was: one hash too many', async () => {
      const stripped = { ...without(env, bob.identity.fp), wrapHashes: env.wrapHashes };
      await expectBlocked(deliveryOf({ ...stripped, rosterHash: await rosterHash(stripped.recipients) }), 'malformed', N);
    });

    it('9. withholds Bob’s wrap but leaves him a recipient', async () => {
      await expectBlocked(deliveryOf(env), 'malformed', N);
    });

    it('9. a member who really was left out is told so', async () => {
      // A room of its own: this message's seq must not disturb the others' replay windows.
      const fresh = await makeRoom(['Alice', 'Bob', 'Carol']);
      const [a, b] = fresh.members as [TestMember, TestMember];
      advance(STATEMENT_STALE_MS);
      const toAliceAndCarol = b.session.view().members.filter((m) => !m.isSelf).map((m) => m.keys);
      const excluding = await sealMessage(fresh.keys, a.identity, { msgId: 'notForBob000000000001', seq: 1, ts: tick(), body: 'behind Bob’s back' }, toAliceAndCarol);
      const [verdict] = await b.session.receive(frameOf(excluding));
      expect(verdict).toMatchObject({ ok: false, reason: 'excluded' });
      expect(noticesOf(b).at(-1)).toBe('Alice sent a message that excluded you.');
      expect(messagesOf(b)).toEqual([]);
    });

    it('9. hands a member who was left out someone else’s wrap', async () => {
      const fresh = await makeRoom(['Alice', 'Bob', 'Carol']);
      const [a, b, c] = fresh.members as [TestMember, TestMember, TestMember];
      advance(STATEMENT_STALE_MS);
      const toAliceAndCarol = b.session.view().members.filter((m) => !m.isSelf).map((m) => m.keys);
      const excluding = await sealMessage(fresh.keys, a.identity, { msgId: 'notForBobEither000001', seq: 1, ts: tick(), body: 'behind Bob’s back' }, toAliceAndCarol);
      const [verdict] = await b.session.receive(deliveryOf(excluding.env, excluding.wraps[c.identity.fp]));
      expect(verdict).toMatchObject({ ok: false, reason: 'malformed' });
      expect(noticesOf(b).at(-1)).toBe(N);
      expect(messagesOf(b)).toEqual([]);
    });

    it('10. adds an unknown recipient with a wrap and a hash', async () => {
      const recipients = [...env.recipients, relayKey.fp].sort();
      const at = recipients.indexOf(relayKey.fp);
      const list = hashes(env);
      list.splice(at, 0, await wrapHash(env.room, env.msgId, relayKey.fp, bobsWrap));
      const added = { ...env, recipients, wrapHashes: joined(list) };
      await expectBlocked(deliveryOf(added, bobsWrap), 'bad-recipients', DAMAGED('Alice'));
      await expectBlocked(deliveryOf({ ...added, rosterHash: await rosterHash(recipients) }, bobsWrap), 'bad-signature', FORGED('Alice'));
    });

    it('11. swaps wraps between two messages', async () => {
      const other = sealedOf(await post(alice, 'another one'));
      await expectBlocked(deliveryOf(env, other.wraps[bob.identity.fp]), 'bad-signature', FORGED('Alice'));
    });

    it('11. hands Bob Carol’s wrap', async () => {
      await expectBlocked(deliveryOf(env, sealed.wraps[carol.identity.fp]), 'bad-signature', FORGED('Alice'));
    });

    it('11. hands Bob Carol’s wrap and swaps their hashes in the list', async () => {
      const list = hashes(env);
      const [i, j] = [env.recipients.indexOf(bob.identity.fp), env.recipients.indexOf(carol.identity.fp)];
      [list[i], list[j]] = [list[j] as Uint8Array, list[i] as Uint8Array];
      await expectBlocked(deliveryOf({ ...env, wrapHashes: joined(list) }, sealed.wraps[carol.identity.fp]), 'bad-signature', FORGED('Alice'));
    });

    it('11. hands Bob a wrap of its own that matches no hash', async () => {
      await expectBlocked(deliveryOf(env, toB64u(randomBytes(WRAP_BYTES))), 'bad-signature', FORGED('Alice'));
    });

    it('11. hands Bob its own wrap and puts that wrap’s hash in his place in the list', async () => {
      const relaysWrap = toB64u(randomBytes(WRAP_BYTES));
      const list = hashes(env);
      list[env.recipients.indexOf(bob.identity.fp)] = await wrapHash(env.room, env.msgId, bob.identity.fp, relaysWrap);
      await expectBlocked(deliveryOf({ ...env, wrapHashes: joined(list) }, relaysWrap), 'bad-signature', FORGED('Alice'));
    });

    it('each member opens the message with its own wrap alone', async () => {
      expect(await bob.session.receive(deliveryOf(env, bobsWrap))).toEqual([{ ok: true }]);
      expect(await carol.session.receive(deliveryOf(env, sealed.wraps[carol.identity.fp]))).toEqual([{ ok: true }]);
      expect(messagesOf(bob).at(-1)).toBe('Alice: for all three of us');
      expect(messagesOf(carol).at(-1)).toBe('Alice: for all three of us');
    });
  });

  it('12. lets a member re-sign another member’s ciphertext as its own', async () => {
    const sealed = sealedOf(await post(alice, 'Alice’s words'));
    const stolen = await resign(sealed.env, carol.identity);
    await expectBlocked(frameOf({ ...sealed, env: stolen }), 'undecryptable', 'A message from Carol could not be decrypted.');
    expect(messagesOf(bob).some((m) => m.includes('Alice’s words'))).toBe(false);
  });

  it.each([
    ['iv', (s: Sealed) => deliveryOf({ ...s.env, iv: flip(s.env.iv) }, s.wraps[bob.identity.fp])],
    ['ct', (s: Sealed) => deliveryOf({ ...s.env, ct: flip(s.env.ct, 0) }, s.wraps[bob.identity.fp])],
    ['the GCM tag', (s: Sealed) => deliveryOf({ ...s.env, ct: flip(s.env.ct, (fromB64u(s.env.ct) as Uint8Array).length - 1) }, s.wraps[bob.identity.fp])],
    ['Bob’s wrap', (s: Sealed) => deliveryOf(s.env, flip(s.wraps[bob.identity.fp] as string))],
    ['the wrap hashes', (s: Sealed) => deliveryOf({ ...s.env, wrapHashes: flip(s.env.wrapHashes) }, s.wraps[bob.identity.fp])],
    ['the sig', (s: Sealed) => deliveryOf({ ...s.env, sig: flip(s.env.sig, 10) }, s.wraps[bob.identity.fp])],
  ])('14. flips one bit in %s', async (_field, tamper) => {
    const sealed = sealedOf(await post(alice, 'bit-exact'));
    await expectBlocked(tamper(sealed), 'bad-signature', FORGED('Alice'));
  });

  it.each([
    ['duplicate recipients', (e: Record<string, unknown>) => { const r = e.recipients as string[]; e.recipients = [r[0], ...r]; }],
    ['unsorted recipients', (e: Record<string, unknown>) => { (e.recipients as string[]).reverse(); }],
    ['an oversized ct', (e: Record<string, unknown>) => { e.ct = toB64u(new Uint8Array(8_000)); }],
    ['seq = 2^53', (e: Record<string, unknown>) => { e.seq = 2 ** 53; }],
    ['a __proto__ key', (e: Record<string, unknown>) => { Object.defineProperty(e, '__proto__', { value: { isAdmin: true }, enumerable: true }); }],
    ['an unknown key', (e: Record<string, unknown>) => { e.alg = 'none'; }],
    ['18. an unknown version', (e: Record<string, unknown>) => { e.v = 2; }],
    ['a hash list one hash short', (e: Record<string, unknown>) => { e.wrapHashes = (e.wrapHashes as string).slice(0, -43); }],
    ['a hash list one byte long', (e: Record<string, unknown>) => { e.wrapHashes = toB64u(new Uint8Array([...(fromB64u(e.wrapHashes as string) as Uint8Array), 0])); }],
    ['the wraps in the envelope, as the sender uploaded them', (e: Record<string, unknown>) => { e.wraps = {}; }],
  ])('15. sends an envelope with %s', async (_what, mutate) => {
    const sealed = sealedOf(await post(alice, 'well-formed'));
    const env = JSON.parse(JSON.stringify(sealed.env)) as Record<string, unknown>;
    mutate(env);
    await expectBlocked(JSON.stringify({ t: 'msg', env, wrap: sealed.wraps[bob.identity.fp] }), 'malformed', N);
  });

  it('15. forwards the sender’s upload, every wrap included, instead of Bob’s delivery', async () => {
    const frame = await post(alice, 'all the keys');
    const [verdict] = await bob.session.receive(JSON.stringify({ ...(JSON.parse(frame) as object), wrap: sealedOf(frame).wraps[bob.identity.fp] }));
    expect(verdict).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('18. sends a frame of an unknown type', async () => {
    await expectBlocked(JSON.stringify({ t: 'upgrade', alg: 'rsa-512' }), 'malformed', N);
  });

  it('17. substitutes the (r, n − s) twin of a valid signature, before the original', async () => {
    const sealed = sealedOf(await post(alice, 'one signature only'));
    const env = sealed.env;
    const sig = fromB64u(env.sig) as Uint8Array;
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const s = sig.subarray(32).reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
    const twin = new Uint8Array(sig);
    twin.set(Uint8Array.from({ length: 32 }, (_, i) => Number(((n - s) >> BigInt(8 * (31 - i))) & 0xffn)), 32);
    await expectBlocked(frameOf({ ...sealed, env: { ...env, sig: toB64u(twin) } }), 'bad-signature', FORGED('Alice'));
    expect(await bob.session.receive(frameOf(sealed))).toEqual([{ ok: true }]);
  });
});

describe('16. weak keys from a link holder', () => {
  async function helloWith(enc: RsaHashedKeyGenParams, curve: string): Promise<Hello> {
    const encPair = await crypto.subtle.generateKey(enc, true, ['encrypt', 'decrypt']);
    const sigPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: curve }, true, ['sign', 'verify']);
    const encSpki = toB64u(new Uint8Array(await crypto.subtle.exportKey('spki', encPair.publicKey)));
    const sigSpki = toB64u(new Uint8Array(await crypto.subtle.exportKey('spki', sigPair.publicKey)));
    const identity = { encPriv: encPair.privateKey, sigPriv: sigPair.privateKey, encSpki, sigSpki, fp: 'unused' };
    return makeHello(room.keys, identity, 'Weak');
  }
  const rsa = (bits: number, e: number[]) => ({ name: 'RSA-OAEP', hash: 'SHA-256', modulusLength: bits, publicExponent: new Uint8Array(e) });

  it.each([
    ['RSA-2048', rsa(2048, [1, 0, 1]), 'P-256'],
    ['e = 3', rsa(3072, [3]), 'P-256'],
    ['P-384', rsa(3072, [1, 0, 1]), 'P-384'],
  ])('refuses a correctly MAC’d hello with %s', async (_what, enc, curve) => {
    const hello = await helloWith(enc, curve);
    await expectBlocked(JSON.stringify({ t: 'join', hello }), 'malformed', N);
    expect(bob.session.view().members.map((m) => m.name)).not.toContain('Weak');
    // Past the size check, the key policy refuses it too.
    expect(await importPeerKeys(hello.encSpki, hello.sigSpki)).toBeInstanceOf(Error);
  });
});

describe('the Security panel’s counts', () => {
  it('counts each kind of blocked or missing message in this tab only', async () => {
    const fresh = await makeRoom(['Alice', 'Bob', 'Carol']);
    const [a, b] = fresh.members as [TestMember, TestMember];
    const keys = b.session.view().members.map((m) => m.keys);
    advance(STATEMENT_STALE_MS);
    const first = await post(a, 'one');
    await post(a, 'withheld');
    const third = sealedOf(await post(a, 'three'));
    await b.session.receive(first);
    await b.session.receive(first); // replayed
    await b.session.receive(frameOf({ ...third, env: { ...third.env, ct: flip(third.env.ct) } })); // forged (signature no longer matches)
    await b.session.receive(frameOf({ ...third, env: { ...third.env, v: 2 } })); // tampered (malformed)
    await b.session.receive(frameOf(third)); // reveals the gap
    const excluding = await sealMessage(fresh.keys, a.identity, { msgId: 'leftOutOfThisOne00001', seq: 4, ts: tick(), body: 'x' }, keys.filter((k) => k.fp !== b.identity.fp));
    await b.session.receive(frameOf(excluding));
    expect(b.session.view().blocked).toEqual({ forged: 1, tampered: 1, replayed: 1, gaps: 1, excluded: 1 });
    expect(a.session.view().blocked).toEqual({ forged: 0, tampered: 0, replayed: 0, gaps: 0, excluded: 0 });
  });
});
