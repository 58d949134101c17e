/**
 * Files (PROTOCOL.md §11): the chunk format, the receiver-pulled transfer, and
 * every way a relay (or another member) could change what arrives. The relay
 * here is a function that stamps `from` as the real server does, and that a
 * test can make hostile.
 */
import { createHash, randomBytes as nodeRandom } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveRoomKeys, type RoomKeys } from '../../client/crypto';
import {
  ADDRESSED_HEADER_BYTES,
  CHUNK_HEADER_BYTES,
  FILE_CHUNK_BYTES,
  FILE_ID_BYTES,
  MAX_CHUNK_FRAME_BYTES,
  MAX_FILE_BYTES,
  MAX_PULL_CREDIT,
  NOTE_FRAME_BYTES,
  NOTE_OP,
  chunkCountOf,
  encodeChunk,
  encodeFileOffer,
  encodeNote,
  fromB64u,
  parseAddressed,
  parseFileOffer,
  toB64u,
  type FileOffer,
} from '../../client/protocol';
import {
  FILE_STALL_MS,
  FileManager,
  bytesSource,
  chunkAad,
  chunkIv,
  chunkKey,
  chunkPlainBytes,
  openChunk,
  safeFileName,
  sealFile,
  sniffImage,
  type FileTransfer,
} from '../../client/files';
import { makeRoom } from '../support/members';

/** Test data of any size (WebCrypto's getRandomValues stops at 64 KiB). */
const randomBytes = (n: number): Uint8Array<ArrayBuffer> => new Uint8Array(nodeRandom(n));
const sha = (b: Uint8Array | ArrayBuffer) => createHash('sha256').update(new Uint8Array(b)).digest('hex');
const raw = (fp: string): Uint8Array => fromB64u(fp) as Uint8Array;
const newFp = () => toB64u(randomBytes(32));

/** A frame as the relay delivers it: the same bytes with the recipient's fp replaced by the sender's. */
function stamp(frame: Uint8Array, from: string): Uint8Array {
  const out = frame.slice();
  out.set(raw(from), 1);
  return out;
}

interface Hop {
  frame: Uint8Array;
  from: string;
  to: string;
}

/** Members' file managers joined by an in-memory relay; `hostile` may drop, change or add frames. */
function network(keys: RoomKeys, count: number) {
  let clock = 1_000_000;
  const fps = Array.from({ length: count }, newFp);
  const managers = new Map<string, FileManager>();
  const pending = new Set<Promise<void>>();
  const tampered: string[] = [];
  let hostile = (hop: Hop): Hop[] => [hop];
  const held = new Map<string, Hop[]>();
  const deliver = (hop: Hop) => {
    if (held.has(hop.to)) return void held.get(hop.to)?.push(hop);
    const p = managers.get(hop.to)?.receive(stamp(hop.frame, hop.from)) ?? Promise.resolve();
    pending.add(p);
    void p.then(() => pending.delete(p));
  };
  for (const fp of fps) {
    managers.set(fp, new FileManager({
      keys,
      selfFp: fp,
      now: () => clock,
      onTamper: (sender) => tampered.push(`${fp} saw ${sender}`),
      sendBinary: (frame) => {
        for (const hop of hostile({ frame, from: fp, to: toB64u(frame.subarray(1, ADDRESSED_HEADER_BYTES)) })) deliver(hop);
      },
    }));
  }
  const drain = async () => {
    while (pending.size > 0) await Promise.all([...pending]);
  };
  const get = (fp: string): FileManager => managers.get(fp) as FileManager;
  return {
    fps,
    get,
    tampered,
    drain,
    setHostile: (f: (hop: Hop) => Hop[]) => (hostile = f),
    /** Frames to `fp` wait (a receiver that stopped reading) until `release`. */
    hold: (fp: string) => held.set(fp, []),
    release: (fp: string) => {
      const hops = held.get(fp) ?? [];
      held.delete(fp);
      hops.forEach(deliver);
    },
    advance: (ms: number) => (clock += ms),
    /** Offers a file from `sender` to the others; returns everyone's transfer. */
    async offer(sender: string, data: Uint8Array, name = 'data.bin') {
      const prepared = await get(sender).prepare(bytesSource(data, name));
      const others = fps.filter((f) => f !== sender);
      const sent = get(sender).attach(prepared, fps);
      const got = new Map<string, FileTransfer>();
      for (const fp of others) {
        const t = await get(fp).offered(sender, prepared.text, false);
        if (t instanceof Error) throw t;
        got.set(fp, t);
      }
      return { sent, got, offer: prepared.sealed.offer, text: prepared.text };
    },
  };
}

const bytesOf = async (t: FileTransfer): Promise<Uint8Array> => new Uint8Array(await (t.data as Blob).arrayBuffer());
const keysP = deriveRoomKeys(randomBytes(32));
/** 3.5 chunks of random bytes: several pull steps would be needed at a smaller step, and a short last chunk. */
const sample = (chunks = 3.5) => randomBytes(Math.floor(chunks * FILE_CHUNK_BYTES));

describe('chunk format', () => {
  it.each([
    [0, 1, 0],
    [1, 1, 1],
    [FILE_CHUNK_BYTES, 1, FILE_CHUNK_BYTES],
    [FILE_CHUNK_BYTES + 1, 2, 1],
    [MAX_FILE_BYTES, 1600, FILE_CHUNK_BYTES],
  ])('a file of %i bytes has %i chunks, the last holding %i bytes', (size, chunks, last) => {
    expect(chunkCountOf(size)).toBe(chunks);
    expect(chunkPlainBytes(size, chunks, chunks - 1)).toBe(last);
  });

  it('uses the index as the nonce and binds room, file, index and count in the AAD', () => {
    expect(toB64u(chunkIv(0x01020304))).toBe(toB64u(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4])));
    const aad = new TextDecoder().decode(chunkAad('room', 'file', 7, 9));
    expect(aad).toBe('\0\0\0\x0dv1/file-chunk\0\0\0\x04room\0\0\0\x04file\0\0\0\x017\0\0\0\x019');
  });

  it('decrypts a chunk only in its own place, at its own length, in its own room', async () => {
    const keys = await keysP;
    const sealed = await sealFile(keys, bytesSource(sample(2.5), 'a'));
    const key = await chunkKey(keys, raw(sealed.offer.key), sealed.offer.id);
    const [c0, c1, c2] = sealed.cts as [Uint8Array, Uint8Array, Uint8Array];
    expect(await openChunk(key, keys.roomId, sealed.offer, 0, c0)).toBeInstanceOf(Uint8Array);
    expect(await openChunk(key, keys.roomId, sealed.offer, 1, c0)).toEqual(new Error('chunk does not decrypt'));
    expect(await openChunk(key, 'another-room-id-000000', sealed.offer, 0, c0)).toEqual(new Error('chunk does not decrypt'));
    expect(await openChunk(key, keys.roomId, sealed.offer, 2, c2.subarray(0, c2.length - 1))).toEqual(new Error('chunk has the wrong length'));
    expect(await openChunk(key, keys.roomId, sealed.offer, 3, c1)).toEqual(new Error('chunk index out of range'));
    expect(await openChunk(key, keys.roomId, { ...sealed.offer, size: 2 * FILE_CHUNK_BYTES, chunks: 2 }, 1, c1)).toEqual(new Error('chunk does not decrypt'));
  });

  it('refuses a file over MAX_FILE_BYTES before reading it', async () => {
    const source = { name: 'big', type: '', size: MAX_FILE_BYTES + 1, read: () => Promise.reject(new Error('read')) };
    await expect(sealFile(await keysP, source)).rejects.toThrow('a file is at most 100 MiB');
  });
});

describe('offers and addressed frames (shape)', () => {
  const good: FileOffer = { id: toB64u(randomBytes(16)), name: 'a.txt', size: 70_000, type: 'text/plain', chunkBytes: FILE_CHUNK_BYTES, chunks: 2, key: toB64u(randomBytes(32)), commit: toB64u(randomBytes(32)) };

  it('reads back an offer it wrote', () => {
    expect(parseFileOffer(encodeFileOffer(good))).toEqual(good);
  });

  it.each([
    ['an extra field', { ...good, extra: 1 }, 'offer: unexpected field "extra"'],
    ['a chunk count that does not match the size', { ...good, chunks: 3 }, 'offer.chunks: does not match the size'],
    ['a file over the limit', { ...good, size: MAX_FILE_BYTES + 1, chunks: 1601 }, 'offer.size: expected an integer in [0, 104857600]'],
    ['another chunk size', { ...good, chunkBytes: 1024 }, 'offer.chunkBytes: expected 65536'],
    ['an empty name', { ...good, name: '' }, 'offer.name: expected 1 to 255 bytes'],
    ['a type with spaces', { ...good, type: 'text/html; x' }, 'offer.type: not a media type'],
    ['a short key', { ...good, key: toB64u(randomBytes(16)) }, 'offer.key: wrong length'],
  ])('refuses an offer with %s', (_, offer, message) => {
    expect(parseFileOffer(JSON.stringify(offer))).toEqual(new Error(message));
  });

  it('parses notes and chunks at their exact sizes only', () => {
    const peer = randomBytes(32);
    const id = randomBytes(FILE_ID_BYTES);
    const want = encodeNote(peer, NOTE_OP.WANT, id, 5, 16);
    expect(want.length).toBe(NOTE_FRAME_BYTES);
    expect(parseAddressed(want)).toMatchObject({ kind: 'note', op: NOTE_OP.WANT, first: 5, grant: 16 });
    expect(parseAddressed(want.subarray(0, NOTE_FRAME_BYTES - 1))).toEqual(new Error('note: wrong size'));
    expect(parseAddressed(encodeNote(peer, NOTE_OP.WANT, id, 0, MAX_PULL_CREDIT + 1))).toEqual(new Error('note: bad grant'));
    expect(parseAddressed(encodeNote(peer, NOTE_OP.WANT, id, 0, 0))).toEqual(new Error('note: bad grant'));
    expect(parseAddressed(encodeNote(peer, NOTE_OP.DONE, id, 0, 1))).toEqual(new Error('note: bad grant'));
    expect(parseAddressed(encodeNote(peer, 9, id))).toEqual(new Error('note: unknown op'));
    const chunk = encodeChunk(peer, id, 3, randomBytes(FILE_CHUNK_BYTES + 16));
    expect(chunk.length).toBe(MAX_CHUNK_FRAME_BYTES);
    expect(parseAddressed(chunk)).toMatchObject({ kind: 'chunk', index: 3 });
    expect(parseAddressed(encodeChunk(peer, id, 3, randomBytes(FILE_CHUNK_BYTES + 17)))).toEqual(new Error('chunk: wrong size'));
    expect(parseAddressed(encodeChunk(peer, id, 3, randomBytes(15)))).toEqual(new Error('chunk: wrong size'));
    expect(parseAddressed(new Uint8Array([3, ...peer]))).toEqual(new Error('binary frame: unknown kind'));
    expect(CHUNK_HEADER_BYTES).toBe(53);
  });
});

describe('a file through the relay', () => {
  it('arrives byte-identical at every receiver, and the sender counts each delivery', async () => {
    const net = network(await keysP, 3);
    const [a, b, c] = net.fps as [string, string, string];
    const data = sample();
    const { sent, got } = await net.offer(a, data);
    await net.drain();
    for (const fp of [b, c]) {
      const t = got.get(fp) as FileTransfer;
      expect(t.status).toBe('complete');
      expect(sha(await bytesOf(t))).toBe(sha(data));
    }
    expect(sent.deliveredCount()).toBe(2);
    expect(sent.status).toBe('complete');
  });

  it('keeps at most MAX_PULL_CREDIT chunks asked for and not yet arrived', async () => {
    const net = network(await keysP, 2);
    const [a, b] = net.fps as [string, string];
    let inFlight = 0;
    let most = 0;
    net.setHostile((hop) => {
      const f = parseAddressed(hop.frame);
      if (!(f instanceof Error) && f.kind === 'note' && f.op === NOTE_OP.WANT) inFlight += f.grant;
      if (!(f instanceof Error) && f.kind === 'chunk') inFlight -= 1;
      most = Math.max(most, inFlight);
      return [hop];
    });
    const { got } = await net.offer(a, sample(100));
    await net.drain();
    expect(got.get(b)?.status).toBe('complete');
    expect(most).toBe(MAX_PULL_CREDIT);
  });

  it('lets a receiver that stopped reading finish later while the other finishes now', async () => {
    const net = network(await keysP, 3);
    const [a, b, c] = net.fps as [string, string, string];
    net.hold(c);
    const data = sample(40);
    const { got, sent } = await net.offer(a, data);
    await net.drain();
    expect(got.get(b)?.status).toBe('complete');
    expect(got.get(c)?.status).toBe('receiving');
    expect(sent.deliveredCount()).toBe(1);
    net.release(c);
    await net.drain();
    expect(sha(await bytesOf(got.get(c) as FileTransfer))).toBe(sha(data));
    expect(sent.deliveredCount()).toBe(2);
  });

  it('tells receivers when the sender leaves mid-transfer, and offers nothing half-written', async () => {
    const net = network(await keysP, 2);
    const [a, b] = net.fps as [string, string];
    net.hold(b);
    const { got } = await net.offer(a, sample(40));
    net.get(b).memberLeft(a);
    net.release(b);
    await net.drain();
    const t = got.get(b) as FileTransfer;
    expect(t.status).toBe('failed');
    expect(t.error).toBe('The sender left before the whole file arrived. Nothing was saved.');
    expect(t.data).toBeNull();
  });

  it('stops sending when the sender cancels, and the receiver is told', async () => {
    const net = network(await keysP, 2);
    const [a, b] = net.fps as [string, string];
    net.hold(b);
    const { got, sent } = await net.offer(a, sample(40));
    sent.cancel();
    net.release(b);
    await net.drain();
    expect(sent.status).toBe('cancelled');
    expect(got.get(b)?.status).toBe('failed');
    expect(got.get(b)?.error).toBe('The sender cancelled this file. Nothing was saved.');
  });
});

/** The relay's attacks on a file to one receiver: each must be detected, shown, and never saved. */
describe('a hostile relay', () => {
  const failsWith = async (net: ReturnType<typeof network>, t: FileTransfer | undefined, error: string) => {
    await net.drain();
    expect(t?.status).toBe('failed');
    expect(t?.error).toBe(error);
    expect(t?.data).toBeNull();
  };
  const CHANGED = 'Part of this file was changed on the way, so it was stopped. Nothing was saved.';
  const chunkOf = (hop: Hop) => {
    const f = parseAddressed(hop.frame);
    return f instanceof Error || f.kind !== 'chunk' ? null : f;
  };

  it('cannot truncate a file by withholding its last chunk: the receiver stops it after FILE_STALL_MS', async () => {
    const net = network(await keysP, 2);
    const [a, b] = net.fps as [string, string];
    const data = sample(3.5);
    const last = chunkCountOf(data.length) - 1;
    net.setHostile((hop) => (chunkOf(hop)?.index === last ? [] : [hop]));
    const { got } = await net.offer(a, data);
    await net.drain();
    expect(got.get(b)?.status).toBe('receiving');
    net.advance(FILE_STALL_MS + 1);
    net.get(b).tick();
    await failsWith(net, got.get(b), 'No data arrived for 30 s, so the file was stopped. Nothing was saved.');
  });

  it('cannot truncate a chunk', async () => {
    const net = network(await keysP, 2);
    const [a, b] = net.fps as [string, string];
    net.setHostile((hop) => (chunkOf(hop)?.index === 3 ? [{ ...hop, frame: hop.frame.subarray(0, hop.frame.length - 100) }] : [hop]));
    const { got } = await net.offer(a, sample(3.5));
    await failsWith(net, got.get(b), CHANGED);
    expect(net.tampered).toEqual([`${b} saw ${a}`]);
  });

  it('cannot reorder chunks', async () => {
    const net = network(await keysP, 2);
    const [a, b] = net.fps as [string, string];
    net.setHostile((hop) => {
      const c = chunkOf(hop);
      if (c === null || c.index > 1) return [hop];
      const frame = hop.frame.slice();
      new DataView(frame.buffer).setUint32(ADDRESSED_HEADER_BYTES + FILE_ID_BYTES, 1 - c.index);
      return [{ ...hop, frame }];
    });
    const { got } = await net.offer(a, sample(3.5));
    await failsWith(net, got.get(b), CHANGED);
  });

  it('cannot splice a chunk of another file into this one', async () => {
    const net = network(await keysP, 2);
    const [a, b] = net.fps as [string, string];
    const other = await sealFile(await keysP, bytesSource(sample(3.5), 'other'));
    net.setHostile((hop) => {
      const c = chunkOf(hop);
      if (c === null || c.index !== 2) return [hop];
      return [{ ...hop, frame: encodeChunk(hop.frame.subarray(1, 33), c.fileId, 2, other.cts[2] as Uint8Array) }];
    });
    const { got } = await net.offer(a, sample(3.5));
    await failsWith(net, got.get(b), CHANGED);
  });

  it('cannot swap the whole file for another of the same size', async () => {
    const net = network(await keysP, 2);
    const [a, b] = net.fps as [string, string];
    const other = await sealFile(await keysP, bytesSource(sample(3.5), 'other'));
    net.setHostile((hop) => {
      const c = chunkOf(hop);
      return c === null ? [hop] : [{ ...hop, frame: encodeChunk(hop.frame.subarray(1, 33), c.fileId, c.index, other.cts[c.index] as Uint8Array) }];
    });
    const { got } = await net.offer(a, sample(3.5));
    await failsWith(net, got.get(b), CHANGED);
  });

  it('gains nothing by replaying chunks: each is taken once and the file is intact', async () => {
    const net = network(await keysP, 2);
    const [a, b] = net.fps as [string, string];
    const seen: Hop[] = [];
    net.setHostile((hop) => {
      if (chunkOf(hop) === null) return [hop];
      seen.push(hop);
      // Every chunk twice, and the first chunk again after each later one.
      return [hop, hop, ...(seen[0] === undefined ? [] : [seen[0]])];
    });
    const data = sample(3.5);
    const { got } = await net.offer(a, data);
    await net.drain();
    const t = got.get(b) as FileTransfer;
    expect(t.status).toBe('complete');
    expect(sha(await bytesOf(t))).toBe(sha(data));
  });

  it('cannot make a receiver take chunks from anyone but the offer’s sender, even correct ones from a member who holds the key', async () => {
    const keys = await keysP;
    const net = network(keys, 3);
    const [a, b, c] = net.fps as [string, string, string];
    const data = sample(2.5);
    const prepared = await net.get(a).prepare(bytesSource(data, 'data.bin'));
    const offer = prepared.sealed.offer;
    // c received the offer too, so it can encrypt chunks of its own choosing under the file's key.
    const key = await chunkKey(keys, raw(offer.key), offer.id);
    const forged = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: chunkIv(0), additionalData: chunkAad(keys.roomId, offer.id, 0, offer.chunks) }, key, new Uint8Array(FILE_CHUNK_BYTES)));
    net.hold(a);
    net.get(a).attach(prepared, net.fps);
    const t = await net.get(b).offered(a, prepared.text, false);
    if (t instanceof Error) throw t;
    // The relay stamps c's chunk "from c": b ignores it and still waits for a's.
    await net.get(b).receive(stamp(encodeChunk(raw(b), raw(offer.id), 0, forged), c));
    expect(t.received).toBe(0);
    net.release(a);
    await net.drain();
    expect(t.status).toBe('complete');
    expect(sha(await bytesOf(t))).toBe(sha(data));
  });

  it('refuses a file whose chunks all decrypt but are not the ones the sender committed to', async () => {
    const net = network(await keysP, 2);
    const [a, b] = net.fps as [string, string];
    const prepared = await net.get(a).prepare(bytesSource(sample(2.5), 'data.bin'));
    net.get(a).attach(prepared, net.fps);
    const lying = encodeFileOffer({ ...prepared.sealed.offer, commit: toB64u(randomBytes(32)) });
    const t = await net.get(b).offered(a, lying, false);
    await failsWith(net, t instanceof Error ? undefined : t, 'This file does not match what the sender committed to, so it was not saved.');
  });
});

describe('what a person sees', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', '_.._etc_passwd'],
    ['C:\\Windows\\evil.exe', 'C__Windows_evil.exe'],
    ['invoice\u202efdp.exe', 'invoice_fdp.exe'],
    ['  .hidden  ', 'hidden'],
    ['CON.txt', '_CON.txt'],
    ['<img src=x onerror=alert(1)>.png', '_img src=x onerror=alert(1)_.png'],
    ['...', 'file'],
    ['e\u0301t\u00e9.txt', '\u00e9t\u00e9.txt'],
  ])('saves %j as %j', (name, saved) => {
    expect(safeFileName(name)).toBe(saved);
  });

  it.each([
    ['a PNG', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0], 'image/png'],
    ['a JPEG', [0xff, 0xd8, 0xff, 0xe0], 'image/jpeg'],
    ['a GIF', [...'GIF89a'].map((c) => c.charCodeAt(0)), 'image/gif'],
    ['a WebP', [...'RIFF\0\0\0\0WEBP'].map((c) => c.charCodeAt(0)), 'image/webp'],
    ['an SVG', [...'<svg xmlns="http://www.w3.org/2000/svg">'].map((c) => c.charCodeAt(0)), null],
    ['HTML', [...'<html><script>'].map((c) => c.charCodeAt(0)), null],
  ])('recognises %s by its bytes', (_, head, type) => {
    expect(sniffImage(new Uint8Array(head))).toBe(type);
  });
});

describe('offers in the room (RoomSession)', () => {
  it('shows a signed file offer as a file card, never as a chat message', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [typeof room.members[0], typeof room.members[0]];
    await alice.session.sendFile(bytesSource(randomBytes(1000), '<b>x</b>.txt', 'text/plain'));
    const frame = alice.sent.pop() as string;
    expect(frame).not.toContain('x</b>');
    expect(await bob.session.receive(frame)).toEqual([{ ok: true }]);
    const entry = bob.session.view().timeline.find((e) => e.kind === 'file');
    expect(entry?.kind === 'file' && entry.transfer.offer.name).toBe('<b>x</b>.txt');
    expect(entry?.kind === 'file' && entry.transfer.status).toBe('receiving');
    // Received, so not waiting for the relay's echo as one's own is.
    expect(entry?.kind === 'file' && entry.isPending).toBe(false);
    expect(bob.session.view().timeline.some((e) => e.kind === 'message')).toBe(false);
  });

  it('shows a chat message that looks like an offer as text', async () => {
    const room = await makeRoom(['Alice', 'Bob']);
    const [alice, bob] = room.members as [typeof room.members[0], typeof room.members[0]];
    const prepared = await alice.session.files.prepare(bytesSource(randomBytes(10), 'a'));
    await alice.session.post(prepared.text);
    await bob.session.receive(alice.sent.pop() as string);
    expect(bob.session.view().timeline.some((e) => e.kind === 'file')).toBe(false);
    expect(bob.session.view().timeline.some((e) => e.kind === 'message' && e.body === prepared.text)).toBe(true);
  });
});
