import { createCipheriv, createHash, createHmac, createPrivateKey, createPublicKey, hkdfSync, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ROOM_LABELS,
  decryptName,
  deriveRoomKeys,
  displayableFingerprint,
  doorSeedOf,
  ecdsaSign,
  encryptName,
  importPeerKeys,
  isWrapFor,
  newRoomSecret,
  openMessage,
  randomBytes,
  sealMessage,
  verifyContinuity,
  generateIdentity,
  hkdf,
  makeHello,
  openHello,
  safetyCode,
  signDoor,
  type Identity,
  type RoomKeys,
} from '../../client/crypto';
import { ENC_SPKI_BYTES, MAX_BODY_BYTES, MAX_NAME_BYTES, PAD_BUCKET_BYTES, SIG_SPKI_BYTES, doorSignedBytes, enc, envelopeHeader, fromB64u, helloMacBytes, helloSignedBytes, toB64u, wrapLabel, type Envelope, type Hello } from '../../client/protocol';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const SECRET = Uint8Array.from({ length: 32 }, (_, i) => i);

describe('room key derivation (HKDF-SHA256, secret = 00 01 … 1f)', () => {
  it.each([
    [ROOM_LABELS.doorSeed, 32, '4c6d38ab51e60093a9d858a513b6bc3f44f1580528cb824318588c8b1ba5e561'],
    [ROOM_LABELS.kHello, 32, '49daa04d0cbadb35147685e74e6370c4ed2e415534a5ac83a0507f266ac8cef5'],
    [ROOM_LABELS.kName, 32, '5d286a88be662c19c970811ba887cfd02e3675cd4f2d8e7335acea859aa41354'],
    [ROOM_LABELS.msgSalt, 32, '48e393d476694ed66ca869adba402577d7bc34d9249c3b1037a30c0bb624001f'],
  ])('derives %s as the known vector, and as Node’s own HKDF does', async (label, length, expected) => {
    const ours = await hkdf(SECRET, new Uint8Array(0), label, length);
    expect(Buffer.from(ours).toString('hex')).toBe(expected);
    expect(Buffer.from(hkdfSync('sha256', SECRET, new Uint8Array(0), label, length)).toString('hex')).toBe(expected);
  });

  it('puts the derived values into the room keys', async () => {
    const keys = await deriveRoomKeys(SECRET);
    // The door key is the Ed25519 key of that seed (RFC 8032), and the room id commits to it.
    expect(Buffer.from(keys.doorPub, 'base64url').toString('hex')).toBe('05f480f5aad3ed39c165085cd2ebba0d40bbbe1867ad7b2b59ec42bf71ca20b5');
    expect(keys.roomId).toBe('ZP7jU9KOBXwF8VINCsMQcw');
    expect(toB64u(createHash('sha256').update(enc('v1/room-id', fromB64u(keys.doorPub) as Uint8Array)).digest().subarray(0, 16))).toBe(keys.roomId);
    expect(keys.doorKey.extractable).toBe(false);
    expect(Buffer.from(keys.msgSalt).toString('hex')).toBe('48e393d476694ed66ca869adba402577d7bc34d9249c3b1037a30c0bb624001f');
    // kHello is non-extractable: show it is the derived key by what it computes.
    const data = new TextEncoder().encode('probe');
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', keys.kHello, data));
    expect(Buffer.from(mac)).toEqual(createHmac('sha256', hex('49daa04d0cbadb35147685e74e6370c4ed2e415534a5ac83a0507f266ac8cef5')).update(data).digest());
    expect(keys.kHello.extractable).toBe(false);
    expect(keys.kName.extractable).toBe(false);
  });

  it('signs the door with the link’s Ed25519 key, as Node verifies it', async () => {
    const keys = await deriveRoomKeys(SECRET);
    const door = await signDoor(keys, 'nonce', 'fp');
    const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(door.pub, 'base64url')]), format: 'der', type: 'spki' });
    expect(door.pub).toBe(keys.doorPub);
    expect(verify(null, doorSignedBytes(keys.roomId, 'nonce', 'fp'), pub, Buffer.from(door.sig, 'base64url'))).toBe(true);
    expect(verify(null, doorSignedBytes(keys.roomId, 'other nonce', 'fp'), pub, Buffer.from(door.sig, 'base64url'))).toBe(false);
  });

  it('refuses a secret of the wrong size', async () => {
    await expect(deriveRoomKeys(new Uint8Array(16))).rejects.toThrow(/32 bytes/);
  });

  // WebKitGTK refuses an Ed25519 seed whose first byte is zero, so such a seed is skipped
  // (PROTOCOL.md §2): secret 131 (big-endian in the last 4 bytes) has one, 136329 two in a row.
  const secretOf = (n: number) => { const s = new Uint8Array(32); new DataView(s.buffer).setUint32(28, n); return s; };
  it.each([
    [0, 'b02c1f3c0fe34a0ac06002a181ae8962ef43fc0b73df08971d2fb7a70b3be8fc'],
    [131, 'e45ce3123349246613a4c0126e513775fae4ab863f9d29e1ff1882ed86ca4425'],
    [136329, '39454a861d2a854a741168a8f8b8ce0184ff5d2b358766487e2b91a89de9d4af'],
  ])('takes the first door seed without a leading zero byte (secret %i)', async (n, expected) => {
    const secret = secretOf(n);
    const labels = ['v1/door-key', 'v1/door-key|1', 'v1/door-key|2'];
    const tried = labels.map((label) => Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), label, 32)).toString('hex'));
    expect(tried.slice(0, tried.indexOf(expected)).every((seed) => seed.startsWith('00'))).toBe(true);
    expect(Buffer.from(await doorSeedOf(secret)).toString('hex')).toBe(expected);
    // And the room's door key is the Ed25519 key of that seed, as Node derives it.
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(expected, 'hex')]);
    const nodePub = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }).subarray(12);
    expect((await deriveRoomKeys(secret)).doorPub).toBe(toB64u(nodePub));
  });
});

describe('safety codes (libsignal fingerprint algorithm)', () => {
  // libsignal rust/protocol/src/fingerprint.rs, fingerprint_test_v1.
  const ALICE_IDENTITY = hex('0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868');
  const BOB_IDENTITY = hex('05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b');
  const utf8 = (s: string) => new TextEncoder().encode(s);

  it('reproduces libsignal’s published displayable fingerprint', async () => {
    const alice = await displayableFingerprint(ALICE_IDENTITY, utf8('+14152222222'));
    const bob = await displayableFingerprint(BOB_IDENTITY, utf8('+14153333333'));
    const combined = alice < bob ? alice + bob : bob + alice;
    expect(combined).toBe('300354477692869396892869876765458257569162576843440918079131');
  });

  it('changes when either public key or the id changes', async () => {
    const id = await generateIdentity();
    const other = await generateIdentity();
    const roomId = toB64u(new Uint8Array(16));
    const code = async (room: string, encSpki: string, sigSpki: string) => (await safetyCode(room, encSpki, sigSpki)).digits;
    const base = await code(roomId, id.encSpki, id.sigSpki);
    expect(base).toMatch(/^\d{30}$/);
    expect(await code(roomId, id.encSpki, id.sigSpki)).toBe(base);
    expect(await code(roomId, other.encSpki, id.sigSpki)).not.toBe(base);
    expect(await code(roomId, id.encSpki, other.sigSpki)).not.toBe(base);
    expect(await code(toB64u(new Uint8Array(16).fill(1)), id.encSpki, id.sigSpki)).not.toBe(base);
  });
});

describe('identity, names and hellos', () => {
  let keys: RoomKeys;
  let otherRoom: RoomKeys;
  let alice: Identity;
  let bob: Identity;
  beforeAll(async () => {
    keys = await deriveRoomKeys(SECRET);
    otherRoom = await deriveRoomKeys(crypto.getRandomValues(new Uint8Array(32)));
    [alice, bob] = await Promise.all([generateIdentity(), generateIdentity()]);
  });

  it('makes RSA-3072 and P-256 keys whose private halves cannot be exported', () => {
    expect((fromB64u(alice.encSpki) as Uint8Array).length).toBe(ENC_SPKI_BYTES);
    expect((fromB64u(alice.sigSpki) as Uint8Array).length).toBe(SIG_SPKI_BYTES);
    expect(alice.encPriv.extractable).toBe(false);
    expect(alice.sigPriv.extractable).toBe(false);
    expect(alice.fp).not.toBe(bob.fp);
  });

  it('encrypts a name to a fixed size that only this link, for these keys, opens', async () => {
    const short = await encryptName(keys, alice.encSpki, alice.sigSpki, 'Al');
    const long = await encryptName(keys, alice.encSpki, alice.sigSpki, 'Alexandria Ocasio-Cortez the Third');
    expect(short.length).toBe(long.length);
    expect(await decryptName(keys, alice.encSpki, alice.sigSpki, short)).toBe('Al');
    expect(await decryptName(otherRoom, alice.encSpki, alice.sigSpki, short)).toBeInstanceOf(Error);
    expect(await decryptName(keys, bob.encSpki, bob.sigSpki, short)).toBeInstanceOf(Error);
  });

  it('opens a valid hello and reads the name', async () => {
    const hello = await makeHello(keys, alice, 'Alice');
    const opened = await openHello(keys, hello);
    expect(opened).not.toBeInstanceOf(Error);
    expect(opened).toMatchObject({ name: 'Alice', fp: alice.fp });
  });

  it('rejects a hello made without the room link (MAC under another key)', async () => {
    const foreign = await makeHello(otherRoom, alice, 'Alice');
    const forged: Hello = { ...foreign, roomId: keys.roomId };
    expect(await openHello(keys, forged)).toEqual(new Error('hello was not made with this room link'));
  });

  it('rejects a hello from another room', async () => {
    expect(await openHello(keys, await makeHello(otherRoom, alice, 'Alice'))).toEqual(new Error('hello is for another room'));
  });

  it('rejects a hello whose encryption key was swapped, even with a fresh MAC', async () => {
    const hello = await makeHello(keys, alice, 'Alice');
    const swapped = { ...hello, encSpki: bob.encSpki };
    // A relay has no kHello; even an insider who re-MACs cannot re-sign as Alice.
    const mac = toB64u(new Uint8Array(await crypto.subtle.sign('HMAC', keys.kHello, helloMacBytes(swapped))));
    expect(await openHello(keys, { ...swapped, mac })).toEqual(new Error('hello signature is invalid'));
  });

  it('rejects an RSA-2048 key even when the hello is correctly signed and MAC’d', async () => {
    const weak = await crypto.subtle.generateKey({ name: 'RSA-OAEP', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, ['encrypt', 'decrypt']);
    const encSpki = toB64u(new Uint8Array(await crypto.subtle.exportKey('spki', weak.publicKey)));
    const sigPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const sigSpki = toB64u(new Uint8Array(await crypto.subtle.exportKey('spki', sigPair.publicKey)));
    const unsigned = { v: 1, roomId: keys.roomId, encSpki, sigSpki, nameCt: await encryptName(keys, encSpki, sigSpki, 'Weak') };
    const sig = toB64u(new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, sigPair.privateKey, helloSignedBytes(unsigned))));
    const mac = toB64u(new Uint8Array(await crypto.subtle.sign('HMAC', keys.kHello, helloMacBytes({ ...unsigned, sig }))));
    expect(await openHello(keys, { ...unsigned, sig, mac })).toEqual(new Error('encryption key is not RSA-3072 with e = 65537'));
  });
});

describe('signatures, names and messages at their edges', () => {
  let keys: RoomKeys;
  let alice: Identity;
  let bob: Identity;
  beforeAll(async () => {
    keys = await deriveRoomKeys(SECRET);
    [alice, bob] = await Promise.all([generateIdentity(), generateIdentity()]);
  });
  const P256_HALF_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n / 2n;

  it('signs in low-s form every time, and Node verifies every signature', async () => {
    const spki = Buffer.from(alice.sigSpki, 'base64url');
    const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    // About half of raw ECDSA signatures have a high s: 48 make missing the flip practically impossible.
    for (let i = 0; i < 48; i++) {
      const data = new TextEncoder().encode(`payload ${i}`);
      const sig = Buffer.from(await ecdsaSign(alice.sigPriv, data), 'base64url');
      expect(BigInt(`0x${sig.subarray(32).toString('hex')}`) <= P256_HALF_N).toBe(true);
      expect(verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    }
  });

  it('refuses to encrypt an empty name or one past the limit, and takes one at the limit', async () => {
    await expect(encryptName(keys, alice.encSpki, alice.sigSpki, '')).rejects.toThrow(`a name is 1 to ${MAX_NAME_BYTES} bytes`);
    await expect(encryptName(keys, alice.encSpki, alice.sigSpki, 'x'.repeat(MAX_NAME_BYTES + 1))).rejects.toThrow(`a name is 1 to ${MAX_NAME_BYTES} bytes`);
    const atLimit = 'x'.repeat(MAX_NAME_BYTES);
    expect(await decryptName(keys, alice.encSpki, alice.sigSpki, await encryptName(keys, alice.encSpki, alice.sigSpki, atLimit))).toBe(atLimit);
    expect(await decryptName(keys, alice.encSpki, alice.sigSpki, await encryptName(keys, alice.encSpki, alice.sigSpki, 'x'))).toBe('x');
  });

  /** A name ciphertext of any plaintext, made as an insider with the link would (kName from the secret). */
  const nameCtOf = (pt: Uint8Array) => {
    const kName = hkdfSync('sha256', SECRET, new Uint8Array(0), 'v1/name', 32);
    const iv = Buffer.alloc(12, 7);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(kName), iv);
    cipher.setAAD(enc('v1/name', keys.roomId, alice.encSpki, alice.sigSpki));
    const ct = Buffer.concat([cipher.update(pt), cipher.final(), cipher.getAuthTag()]);
    return toB64u(Buffer.concat([iv, ct]));
  };
  it.each([
    ['a length of 0', () => new Uint8Array(1 + MAX_NAME_BYTES)],
    ['a length past the limit', () => { const pt = new Uint8Array(1 + MAX_NAME_BYTES); pt[0] = MAX_NAME_BYTES + 1; return pt; }],
    ['bytes after the name', () => { const pt = new Uint8Array(1 + MAX_NAME_BYTES); pt.set([3, 65, 66, 67, 1]); return pt; }],
  ])('refuses a name whose padded plaintext has %s', async (_what, make) => {
    expect(await decryptName(keys, alice.encSpki, alice.sigSpki, nameCtOf(make()))).toEqual(new Error('name is malformed'));
    // The same construction with a well-formed plaintext opens: the refusal is the check's.
    const good = new Uint8Array(1 + MAX_NAME_BYTES);
    good.set([3, 65, 66, 67]);
    expect(await decryptName(keys, alice.encSpki, alice.sigSpki, nameCtOf(good))).toBe('ABC');
  });

  it('refuses a name whose bytes are not UTF-8', async () => {
    const pt = new Uint8Array(1 + MAX_NAME_BYTES);
    pt.set([2, 0xff, 0xfe]);
    expect(await decryptName(keys, alice.encSpki, alice.sigSpki, nameCtOf(pt))).toEqual(new Error('name is not UTF-8'));
  });

  it('seals a message of exactly the limit and refuses one byte more', async () => {
    const bobKeys = await importPeerKeys(bob.encSpki, bob.sigSpki);
    if (bobKeys instanceof Error) throw bobKeys;
    const out = (body: string) => ({ msgId: 'm1', seq: 1, ts: 1, body });
    await expect(sealMessage(keys, alice, out('x'.repeat(MAX_BODY_BYTES)), [bobKeys])).resolves.toBeDefined();
    await expect(sealMessage(keys, alice, out('x'.repeat(MAX_BODY_BYTES + 1)), [bobKeys])).rejects.toThrow(`a message is at most ${MAX_BODY_BYTES} bytes`);
  });

  it('finds no wrap for someone the message is not for, and says so when opening without one', async () => {
    const bobKeys = await importPeerKeys(bob.encSpki, bob.sigSpki);
    if (bobKeys instanceof Error) throw bobKeys;
    const { env, wraps } = await sealMessage(keys, alice, { msgId: 'm2', seq: 1, ts: 1, body: 'hi' }, [bobKeys]);
    const bobWrap = wraps[bob.fp] ?? '';
    expect(await isWrapFor(env, bob.fp, bobWrap)).toBe(true);
    expect(await isWrapFor(env, alice.fp, bobWrap)).toBe(false);
    expect(await openMessage(keys, alice, env, undefined)).toEqual(new Error('no key for me'));
    expect(await openMessage(keys, bob, env, bobWrap)).toMatchObject({ body: 'hi', sender: alice.fp, seq: 1, kind: 'text' });
  });

  it('opens a sender’s own echo with the K it made, and still only with that K', async () => {
    const aliceKeys = await importPeerKeys(alice.encSpki, alice.sigSpki);
    if (aliceKeys instanceof Error) throw aliceKeys;
    const sealed = await sealMessage(keys, alice, { msgId: 'm4', seq: 1, ts: 1, body: 'my own' }, [aliceKeys]);
    expect(sealed.k).toHaveLength(32);
    // Not the wrap that opens it: one no key unwraps still gives the message with the sender's K …
    const junkWrap = toB64u(new Uint8Array(384));
    expect(await openMessage(keys, alice, sealed.env, junkWrap)).toEqual(new Error('message does not decrypt'));
    expect(await openMessage(keys, alice, sealed.env, junkWrap, sealed.k)).toMatchObject({ body: 'my own', sender: alice.fp, seq: 1 });
    // … and any other K fails as a wrong unwrap would.
    expect(await openMessage(keys, alice, sealed.env, sealed.wraps[alice.fp], randomBytes(32))).toEqual(new Error('message does not decrypt'));
  });

  /** Re-encrypts an envelope's content for Bob with a plaintext of the test's choosing, as a sender with every key could. */
  async function resealFor(env: Envelope, plaintext: Uint8Array<ArrayBuffer>): Promise<{ env: Envelope; wrap: string }> {
    const k = crypto.getRandomValues(new Uint8Array(32));
    const ikm = await crypto.subtle.importKey('raw', k, 'HKDF', false, ['deriveKey']);
    const msgKey = await crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(keys.msgSalt), info: new TextEncoder().encode(`v1/msg-key|${env.msgId}`) }, ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt']);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const aad = new Uint8Array(createHash('sha256').update(envelopeHeader(env)).digest());
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, msgKey, plaintext));
    const bobKeys = await importPeerKeys(bob.encSpki, bob.sigSpki);
    if (bobKeys instanceof Error) throw bobKeys;
    const wrap = new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP', label: wrapLabel(env.room, env.msgId, bob.fp) }, bobKeys.encPub, k));
    return { env: { ...env, iv: toB64u(iv), ct: toB64u(ct) }, wrap: toB64u(wrap) };
  }
  const padded = (inner: Uint8Array): Uint8Array<ArrayBuffer> => { const out = new Uint8Array(Math.ceil(inner.length / PAD_BUCKET_BYTES) * PAD_BUCKET_BYTES); out.set(inner); return out; };

  it.each([
    ['an unknown label', () => padded(enc('v1/outer', 'S', 'R', '1', 'hi')), 'inner encoding is malformed'],
    ['a seq of 0', () => padded(enc('v1/inner', 'S', 'R', '0', 'hi')), 'inner encoding is malformed'],
    ['a seq with a leading zero', () => padded(enc('v1/inner', 'S', 'R', '01', 'hi')), 'inner encoding is malformed'],
    ['a seq of 17 digits', () => padded(enc('v1/inner', 'S', 'R', '12345678901234567', 'hi')), 'inner encoding is malformed'],
    ['a seq with text after it', () => padded(enc('v1/inner', 'S', 'R', '1x', 'hi')), 'inner encoding is malformed'],
    ['no padding to the bucket', () => enc('v1/inner', 'S', 'R', '1', 'hi'), 'ciphertext is not padded'],
    ['a body that is not UTF-8', () => padded(enc('v1/inner', 'S', 'R', '1', new Uint8Array([0xff, 0xfe]))), 'inner text is not UTF-8'],
  ])('refuses a message whose plaintext has %s', async (_what, make, error) => {
    const bobKeys = await importPeerKeys(bob.encSpki, bob.sigSpki);
    if (bobKeys instanceof Error) throw bobKeys;
    const { env } = await sealMessage(keys, alice, { msgId: 'm3', seq: 1, ts: 1, body: 'hi' }, [bobKeys]);
    const bad = await resealFor(env, make());
    expect(await openMessage(keys, bob, bad.env, bad.wrap)).toEqual(new Error(error));
    // The same construction with a well-formed inner text opens, as a file offer or a chat message.
    const file = await resealFor(env, padded(enc('v1/inner-file', 'S', 'R', '16', 'offer')));
    expect(await openMessage(keys, bob, file.env, file.wrap)).toEqual({ sender: 'S', room: 'R', seq: 16, body: 'offer', kind: 'file' });
  });

  it('passes the hello’s continuity claim on, and it verifies only for the next identity', async () => {
    const next = await generateIdentity();
    const hello = await makeHello(keys, next, 'Alice', alice);
    const opened = await openHello(keys, hello);
    if (opened instanceof Error) throw opened;
    expect(opened.prev?.fp).toBe(alice.fp);
    const alicePub = await importPeerKeys(alice.encSpki, alice.sigSpki);
    if (alicePub instanceof Error || opened.prev === undefined) throw new Error('no claim');
    expect(await verifyContinuity(keys.roomId, opened.prev, alicePub.sigPub, next.fp)).toBe(true);
    expect(await verifyContinuity(keys.roomId, opened.prev, alicePub.sigPub, bob.fp)).toBe(false);
    const plain = await openHello(keys, await makeHello(keys, next, 'Alice'));
    expect(plain instanceof Error ? plain : 'prev' in plain).toBe(false);
  });

  it('refuses a 3072-bit key with an even modulus, which imports but cannot encrypt', async () => {
    const spki = Buffer.from(alice.encSpki, 'base64url');
    // The modulus ends just before the exponent's 02 03 01 00 01: make it even.
    spki[spki.length - 6] = (spki[spki.length - 6] ?? 0) & 0xfe;
    expect(await importPeerKeys(toB64u(spki), alice.sigSpki)).toEqual(new Error('encryption key does not work'));
    expect(await importPeerKeys(alice.encSpki, alice.sigSpki)).not.toBeInstanceOf(Error);
  });

  it('refuses a hello whose name was encrypted for other keys, even signed and MAC’d by its maker', async () => {
    const good = await makeHello(keys, alice, 'Alice');
    const { sig: _sig, mac: _mac, ...unsigned } = good;
    const moved = { ...unsigned, nameCt: await encryptName(keys, bob.encSpki, bob.sigSpki, 'Alice') };
    const sig = await ecdsaSign(alice.sigPriv, helloSignedBytes(moved));
    const mac = toB64u(new Uint8Array(await crypto.subtle.sign('HMAC', keys.kHello, helloMacBytes({ ...moved, sig }))));
    expect(await openHello(keys, { ...moved, sig, mac })).toEqual(new Error('name does not decrypt with this link'));
    expect(await openHello(keys, good)).toMatchObject({ name: 'Alice', fp: alice.fp });
  });

  it('refuses a message whose inner encoding runs past its end', async () => {
    const bobKeys = await importPeerKeys(bob.encSpki, bob.sigSpki);
    if (bobKeys instanceof Error) throw bobKeys;
    const { env } = await sealMessage(keys, alice, { msgId: 'm4', seq: 1, ts: 1, body: 'hi' }, [bobKeys]);
    const plaintext = new Uint8Array(PAD_BUCKET_BYTES).fill(0xff);
    const bad = await resealFor(env, plaintext);
    expect(await openMessage(keys, bob, bad.env, bad.wrap)).toEqual(new Error('truncated encoding'));
  });

  it('makes link secrets of 32 random bytes', () => {
    const a = newRoomSecret();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(newRoomSecret());
  });
});
