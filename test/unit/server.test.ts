import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveRoomKeys, generateIdentity, makeHello, randomBytes, sealMessage, signDoor, signLogsRequest, signRosterConfirm, type Identity, type RoomKeys } from '../../client/crypto';
import { MAX_FRAME_BYTES, encodeClientFrame, encodeUpload, toB64u } from '../../client/protocol';
import { startServer, type RunningServer } from '../support/server';
import { TestSocket } from '../support/ws-client';
import { joinRoom, type NodeMember } from '../support/node-client';
import { noticesOf, uploadText, wireOf } from '../support/members';
import { framedUpload } from '../support/shapes';

let server: RunningServer;
let spare: Identity[];
beforeAll(async () => {
  [server, ...spare] = await Promise.all([startServer(), generateIdentity(), generateIdentity(), generateIdentity(), generateIdentity()]) as [RunningServer, ...Identity[]];
});
afterAll(async () => {
  await server.stop();
});

const wsUrl = (roomId: string) => `${server.origin.replace('http', 'ws')}/ws/${roomId}`;

describe('http', () => {
  it('serves the page with the strict headers', async () => {
    const res = await fetch(`${server.origin}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"]) {
      expect(csp).toContain(directive);
    }
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(await res.text()).toContain('<div id="app">');
  });

  it('answers 304 to a matching ETag and 404 to an unknown path', async () => {
    const first = await fetch(`${server.origin}/app.js`);
    const etag = first.headers.get('etag') ?? '';
    expect(first.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.origin}/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${server.origin}/nope`)).status).toBe(404);
  });
});

describe('relaying a room', () => {
  it('relays between two members, logs only ciphertext, and forgets the room when they leave', async () => {
    const secret = randomBytes(32);
    const { roomId } = await deriveRoomKeys(secret);
    const alice = await joinRoom(server.origin, secret, 'Alice Zebra');
    const bob = await joinRoom(server.origin, secret, 'Bob Yak');
    await alice.until(() => alice.session.view().members.length === 2);
    await alice.session.post('the eagle lands at noon');
    await bob.until(() => bob.messages().includes('Alice Zebra: the eagle lands at noon'));
    await alice.until(() => alice.messages().includes('Alice Zebra: the eagle lands at noon'));

    const res = await fetch(await alice.logsUrl());
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const log = (await res.json()) as { entries: { type: string; frame: string }[] };
    expect(log.entries.map((e) => e.type)).toEqual(['hello', 'hello', 'msg']);
    const everything = JSON.stringify(log) + server.output();
    for (const secretText of ['Alice Zebra', 'Bob Yak', 'eagle', 'noon']) expect(everything).not.toContain(secretText);

    await alice.socket.close();
    await bob.until(() => bob.session.view().members.length === 1);
    const lastLook = await bob.logsUrl();
    await bob.socket.close();
    await expect.poll(async () => (await fetch(lastLook)).status).toBe(404);
    expect(server.output()).not.toContain(roomId);
  });

  it('relays every message to every member, so one left out of it is told', async () => {
    const secret = randomBytes(32);
    const keys = await deriveRoomKeys(secret);
    const alice = await joinRoom(server.origin, secret, 'A');
    const bob = await joinRoom(server.origin, secret, 'B');
    const carol = await joinRoom(server.origin, secret, 'C');
    await alice.until(() => alice.session.view().members.length === 3);
    const toAliceAndBob = alice.session.view().members.filter((m) => m.name !== 'C').map((m) => m.keys);
    const sealed = await sealMessage(keys, alice.identity, { msgId: 'onlyForAandBxxxxxxxxx', seq: 1, ts: Date.now(), body: 'just us' }, toAliceAndBob);
    alice.socket.send(encodeUpload(sealed));
    await bob.until(() => bob.messages().includes('A: just us'));
    await carol.until(() => noticesOf(carol).some((text) => text.startsWith('A sent a message')));
    expect(carol.messages()).not.toContain('A: just us');
    for (const m of [alice, bob, carol]) await m.socket.close();
  });

  it('refuses an identity that already left the room', async () => {
    const secret = randomBytes(32);
    const alice = await joinRoom(server.origin, secret, 'A');
    const bob = await joinRoom(server.origin, secret, 'B');
    await alice.until(() => alice.session.view().members.length === 2);
    await bob.socket.close();
    await alice.until(() => alice.session.view().members.length === 1);
    const ghost = await joinRoom(server.origin, secret, 'B', bob.identity);
    expect(await ghost.socket.closed).toEqual({ code: 1008, reason: 'this identity has left the room; rejoin with new keys' });
    await alice.socket.close();
  });
});

/** Alice and Bob in a new room on the shared server, once each sees the other. */
async function pairInNewRoom(): Promise<{ secret: Uint8Array; keys: RoomKeys; alice: NodeMember; bob: NodeMember }> {
  const secret = randomBytes(32);
  const keys = await deriveRoomKeys(secret);
  const alice = await joinRoom(server.origin, secret, 'Alice');
  const bob = await joinRoom(server.origin, secret, 'Bob');
  await alice.until(() => alice.session.view().members.length === 2);
  return { secret, keys, alice, bob };
}

describe('bad input closes only the offender', () => {
  let secret: Uint8Array;
  let roomId: string;
  let alice: NodeMember;
  let bob: NodeMember;
  beforeAll(async () => {
    let keys: RoomKeys;
    ({ secret, keys, alice, bob } = await pairInNewRoom());
    roomId = keys.roomId;
  });
  afterAll(async () => {
    await alice.socket.close();
    await bob.socket.close();
  });

  /** A hello with the link's door for this connection: Eve holds the link, so only the frames after it are wrong. */
  const validHello = async (i: number, nonce: string) => {
    const keys = await deriveRoomKeys(secret);
    const id = spare[i] as Identity;
    return encodeClientFrame({ t: 'hello', hello: await makeHello(keys, id, 'Eve'), door: await signDoor(keys, nonce, id.fp) });
  };

  it.each([
    ['invalid JSON', async () => ['{"t":'], 1008, 'not valid JSON'],
    ['a binary frame', async () => [Buffer.from([1, 2, 3])], 1003, 'binary frames are not accepted'],
    ['an unknown frame type', async () => ['{"t":"admin"}'], 1008, 'frame.t: unknown frame type'],
    ['a __proto__ key', async () => ['{"t":"hello","hello":{},"__proto__":{}}'], 1008, 'frame: unexpected field "__proto__"'],
    ['a message before hello', async () => [await aliceFrame()], 1008, 'message before hello'],
    ['a message as a text frame', async (nonce: string) => [await validHello(3, nonce), uploadText(await aliceFrame())], 1008, 'frame.t: a message is uploaded as a binary frame'],
    ['a second hello', async (nonce: string) => [await validHello(0, nonce), await validHello(0, nonce)], 1008, 'second hello on one connection'],
    ['an envelope whose sender is someone else', async (nonce: string) => [await validHello(1, nonce), await aliceFrame()], 1008, "sender is not this connection's identity"],
    ['a huge number', async () => [framedUpload('{"v":1e400}')], 1008, 'upload.env.v: expected 1'],
  ])('closes a socket that sends %s, with a reason', async (_what, frames, code, reason) => {
    const eve = await TestSocket.open(wsUrl(roomId));
    for (const f of await frames(await eve.nonce)) eve.send(f);
    expect(await eve.closed).toEqual({ code, reason });
    await expectPairStillTalks();
  });

  it('closes a socket that sends a frame larger than a full room’s message', async () => {
    const eve = await TestSocket.open(wsUrl(roomId));
    eve.send('x'.repeat(MAX_FRAME_BYTES + 1));
    expect((await eve.closed).code).toBe(1009);
    await expectPairStillTalks();
  });

  it('closes a member that floods, and only that member', async () => {
    const flooder = await joinRoom(server.origin, secret, 'Flood');
    await alice.until(() => alice.session.view().members.length === 3);
    const fps = alice.session.view().members.map((m) => m.fp);
    const frame = encodeClientFrame({ t: 'roster', rc: await signRosterConfirm(await deriveRoomKeys(secret), flooder.identity, 1_000, 0, fps) });
    for (let i = 0; i < 200; i++) flooder.socket.send(frame);
    expect(await flooder.socket.closed).toEqual({ code: 4008, reason: 'too many messages - slow down' });
    await expectPairStillTalks();
  });

  let n = 0;
  /** Alice's latest upload, as the binary frame she sent. */
  async function aliceFrame(): Promise<Uint8Array> {
    await alice.session.post(`probe ${++n}`);
    return wireOf(alice.sent.filter((f) => f.includes('"t":"msg"')).at(-1) ?? '');
  }

  async function expectPairStillTalks() {
    const body = `still here ${++n}`;
    await bob.session.post(body);
    await alice.until(() => alice.messages().includes(`Bob: ${body}`));
  }
});

describe('admission', () => {
  it('refuses a WebSocket upgrade from a foreign Origin with 403', async () => {
    const roomId = (await deriveRoomKeys(randomBytes(32))).roomId;
    await expect(TestSocket.open(wsUrl(roomId), 'https://evil.example')).rejects.toThrow('HTTP 403');
    const own = await TestSocket.open(wsUrl(roomId), server.origin);
    await own.close();
  });

  it('refuses a malformed room id with 403', async () => {
    await expect(TestSocket.open(wsUrl('not-a-room'))).rejects.toThrow('HTTP 403');
  });

  it('tells a newcomer to a full room why it was refused', async () => {
    const small = await startServer({ MAX_MEMBERS: '2' });
    try {
      const secret = randomBytes(32);
      const members = [await joinRoom(small.origin, secret, 'A'), await joinRoom(small.origin, secret, 'B')];
      const third = await joinRoom(small.origin, secret, 'C');
      expect(await third.socket.closed).toEqual({ code: 4001, reason: 'room is full' });
      for (const m of members) await m.socket.close();
    } finally {
      await small.stop();
    }
  });

  it('closes a socket that never says hello', async () => {
    const quick = await startServer({ HELLO_TIMEOUT_S: '1' });
    try {
      const idle = await TestSocket.open(`${quick.origin.replace('http', 'ws')}/ws/${(await deriveRoomKeys(randomBytes(32))).roomId}`);
      expect(await idle.closed).toEqual({ code: 1008, reason: 'no hello in time' });
    } finally {
      await quick.stop();
    }
  });

  it('refuses connections past the per-address cap with 429', async () => {
    const capped = await startServer({ MAX_CONNS_PER_IP: '2' });
    try {
      const url = `${capped.origin.replace('http', 'ws')}/ws/${(await deriveRoomKeys(randomBytes(32))).roomId}`;
      const open = [await TestSocket.open(url), await TestSocket.open(url)];
      await expect(TestSocket.open(url)).rejects.toThrow('HTTP 429');
      await open[0]?.close();
      const again = await TestSocket.open(url);
      for (const s of [open[1], again]) await s?.close();
    } finally {
      await capped.stop();
    }
  });

  it('refuses to start on the slow JavaScript fallback of uWebSockets.js', async () => {
    await expect(startServer({ UWS_USE_FALLBACK: '1' })).rejects.toThrow(/exited with 1[\s\S]*native uWebSockets\.js binary did not load/);
  });
});

describe('the door: only a holder of the link becomes a member', () => {
  let keys: RoomKeys;
  let alice: NodeMember;
  let bob: NodeMember;
  beforeAll(async () => {
    ({ keys, alice, bob } = await pairInNewRoom());
  });
  afterAll(async () => {
    await alice.socket.close();
    await bob.socket.close();
  });

  const otherLink = async () => deriveRoomKeys(randomBytes(32));
  const opened = async () => {
    const eve = await TestSocket.open(wsUrl(keys.roomId));
    const id = spare[2] as Identity;
    return { eve, id, nonce: await eve.nonce, hello: await makeHello(keys, id, 'Eve') };
  };

  it.each([
    ['no door at all (it knows only the room id)', async () => undefined],
    ['a door of random bytes', async () => ({ pub: toB64u(randomBytes(32)), sig: toB64u(randomBytes(64)) })],
    ['a door key of another link', async (nonce: string, fp: string) => signDoor(await otherLink(), nonce, fp)],
    ['another link’s key claiming this room', async (nonce: string, fp: string) => signDoor({ ...(await otherLink()), roomId: keys.roomId }, nonce, fp)],
    ['this link’s key with another link’s signature', async (nonce: string, fp: string) => ({ pub: keys.doorPub, sig: (await signDoor({ ...(await otherLink()), roomId: keys.roomId }, nonce, fp)).sig })],
    ['a proof for another connection’s nonce', async (_nonce: string, fp: string) => signDoor(keys, toB64u(randomBytes(32)), fp)],
    ['a proof for another identity', async (nonce: string) => signDoor(keys, nonce, (spare[0] as Identity).fp)],
  ])('refuses a hello with %s: never a member, never relayed to', async (_what, door) => {
    const { eve, id, nonce, hello } = await opened();
    const proof = await door(nonce, id.fp);
    eve.send(encodeClientFrame({ t: 'hello', hello, ...(proof === undefined ? {} : { door: proof }) }));
    expect(await eve.closed).toEqual({ code: 1008, reason: 'hello does not prove the link' });
    expect(eve.frames).toEqual([]);
    await bob.session.post('after the knock');
    await alice.until(() => alice.messages().includes('Bob: after the knock'));
    expect(alice.session.view().members.map((m) => m.name).sort()).toEqual(['Alice', 'Bob']);
    expect(noticesOf(alice).filter((t) => t.includes('Eve') || t.includes('tried to join'))).toEqual([]);
    expect(server.output()).toContain('"kind":"door"');
  });

  it('passes every hello on exactly as it was sent: to the others in the join, to newcomers in the welcome, in the log (with and without prev)', async () => {
    // Identities of their own: one that leaves a room cannot come back to it.
    const [id, next] = await Promise.all([generateIdentity(), generateIdentity()]);
    const eve = await TestSocket.open(wsUrl(keys.roomId));
    const hello = await makeHello(keys, id, 'Eve');
    eve.send(encodeClientFrame({ t: 'hello', hello, door: await signDoor(keys, await eve.nonce, id.fp) }));
    await eve.next((f) => f.startsWith('{"t":"welcome"'));
    // A second identity whose hello carries a prev (a reconnect's vouching signature).
    const frank = await TestSocket.open(wsUrl(keys.roomId));
    const vouched = await makeHello(keys, next, 'Frank', id);
    expect(vouched.prev?.fp).toBe(id.fp);
    frank.send(encodeClientFrame({ t: 'hello', hello: vouched, door: await signDoor(keys, await frank.nonce, next.fp) }));
    const welcome = JSON.parse(await frank.next((f) => f.startsWith('{"t":"welcome"'))) as { members: unknown[] };
    const sent = [JSON.stringify(hello), JSON.stringify(vouched)];
    expect(welcome.members.map((m) => JSON.stringify(m))).toContain(sent[0]);
    expect(await eve.next((f) => f.startsWith('{"t":"join"'))).toBe(`{"t":"join","hello":${sent[1]}}`);
    const log = (await (await fetch(await alice.logsUrl())).json()) as { entries: { type: string; sender: string; size: number; frame: string }[] };
    const hellos = log.entries.filter((e) => e.type === 'hello').slice(-2);
    expect(hellos.map((e) => e.frame)).toEqual(sent.map((h) => `{"t":"join","hello":${h}}`));
    expect(hellos.map((e) => e.size)).toEqual(sent.map((h) => `{"t":"join","hello":${h}}`.length));
    expect(hellos.map((e) => e.sender)).toEqual([id.fp, next.fp]);
    await Promise.all([eve.close(), frank.close()]);
    await alice.until(() => alice.session.view().members.length === 2);
  });

  it('lets a holder of the link in with the proof for its own connection', async () => {
    const { eve, id, nonce, hello } = await opened();
    eve.send(encodeClientFrame({ t: 'hello', hello, door: await signDoor(keys, nonce, id.fp) }));
    await eve.next((f) => f.startsWith('{"t":"welcome"'));
    await alice.until(() => alice.session.view().members.length === 3);
    await eve.close();
    await alice.until(() => alice.session.view().members.length === 2);
  });
});

describe('/logs: only the room’s current members can read it', () => {
  let secret: Uint8Array;
  let alice: NodeMember;
  let bob: NodeMember;
  let carol: NodeMember;
  let carolsUrl: string;
  beforeAll(async () => {
    secret = randomBytes(32);
    alice = await joinRoom(server.origin, secret, 'Alice');
    bob = await joinRoom(server.origin, secret, 'Bob');
    carol = await joinRoom(server.origin, secret, 'Carol');
    await alice.until(() => alice.session.view().members.length === 3);
    carolsUrl = await carol.logsUrl();
    expect((await fetch(carolsUrl)).status).toBe(200);
    await carol.socket.close();
    await alice.until(() => alice.session.view().members.length === 2);
  });
  afterAll(async () => {
    await alice.socket.close();
    await bob.socket.close();
  });

  const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const withParam = (url: string, name: string, value: string) => {
    const u = new URL(url);
    u.searchParams.set(name, value);
    return u.toString();
  };
  const highS = (url: string) => {
    const sig = Buffer.from(new URL(url).searchParams.get('sig') ?? '', 'base64url');
    const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
    Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex').copy(sig, 32);
    return withParam(url, 'sig', sig.toString('base64url'));
  };
  const roomOf = (url: string) => new URL(url).pathname.slice('/logs/'.length);

  it('answers a current member’s signed URL with the log', async () => {
    const res = await fetch(await alice.logsUrl());
    expect(res.status).toBe(200);
    expect(((await res.json()) as { entries: { type: string }[] }).entries.map((e) => e.type)).toEqual(['hello', 'hello', 'hello', 'leave']);
  });

  it.each([
    ['no signature at all', async () => `${server.origin}/logs/${roomOf(await alice.logsUrl())}`],
    ['an expired URL', async () => alice.logsUrl(Date.now() - 1)],
    ['a URL that expires more than 60 s ahead', async () => alice.logsUrl(Date.now() + 61_000)],
    ['the fp of someone not in the room', async () => withParam(await alice.logsUrl(), 'fp', (spare[0] as Identity).fp)],
    ['a member who left', async () => carolsUrl],
    ['a member’s fp with a signature by someone else', async () => withParam(await bob.logsUrl(), 'fp', alice.identity.fp)],
    ['the high-s twin of a member’s signature', async () => highS(await alice.logsUrl())],
    ['a member’s signature for another room', async () => {
      const exp = Date.now() + 30_000;
      const elsewhere = await signLogsRequest({ ...(await deriveRoomKeys(secret)), roomId: (await deriveRoomKeys(randomBytes(32))).roomId }, alice.identity, exp);
      return withParam(await alice.logsUrl(exp), 'sig', new URL(elsewhere, server.origin).searchParams.get('sig') ?? '');
    }],
  ])('answers %s with the same 404 as a room that does not exist', async (_what, url) => {
    const missing = await fetch(`${server.origin}/logs/${(await deriveRoomKeys(randomBytes(32))).roomId}`);
    const res = await fetch(await url());
    expect({ status: res.status, body: await res.text() }).toEqual({ status: 404, body: await missing.text() });
  });
});
