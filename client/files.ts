/**
 * Files and images, end to end encrypted (PROTOCOL.md §11). A file gets a
 * fresh key, announced to the roster inside a normal signed message (the
 * offer, with a commitment to every chunk's ciphertext); the chunks travel
 * point to point through the relay, and each receiver pulls them at its own
 * pace, so a slow one never holds the others back. No DOM, no socket: the
 * page, the terminal client and the tests drive the same FileManager.
 */
import {
  FILE_CHUNK_BYTES,
  FILE_ID_BYTES,
  FILE_KEY_BYTES,
  GCM_TAG_BYTES,
  IV_BYTES,
  MAX_FILE_BYTES,
  MAX_PULL_CREDIT,
  NOTE_OP,
  chunkCountOf,
  enc,
  encodeChunk,
  encodeFileOffer,
  encodeNote,
  fromB64u,
  parseAddressed,
  parseFileOffer,
  toB64u,
  type Addressed,
  type FileOffer,
} from './protocol';
import { hkdf, randomBytes, sha256, type RoomKeys } from './crypto';

const subtle = globalThis.crypto.subtle;

/** A receiver asks for this many chunks at a time, and keeps at most MAX_PULL_CREDIT in flight. */
export const PULL_STEP_CHUNKS = MAX_PULL_CREDIT / 2;
/** An incoming file with chunks asked for and none arriving for this long is stopped: the relay is withholding them. */
export const FILE_STALL_MS = 30_000;
/** How many chunks are encrypted (or read) at once: WebCrypto runs them in parallel off the page's thread. */
const SEAL_BATCH_CHUNKS = 16;

// ---------------------------------------------------------------------------
// Format: the chunk cipher and the commitment (PROTOCOL.md §11.2)
// ---------------------------------------------------------------------------

/** The key of every chunk of one file: HKDF of the file key, salted with the link's, so reading needs both. */
export async function chunkKey(keys: RoomKeys, fileKey: Uint8Array, id: string): Promise<CryptoKey> {
  const raw = await hkdf(fileKey, keys.msgSalt, `v1/file-key|${id}`, 32);
  return subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/** Each index is encrypted once under a key used for one file only, so the index itself is a safe nonce. */
export function chunkIv(index: number): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(IV_BYTES);
  new DataView(iv.buffer).setUint32(IV_BYTES - 4, index);
  return iv;
}

/** Binds a chunk to its room, its file, its place and the file's length: no splicing, reordering or cutting short. */
export const chunkAad = (room: string, id: string, index: number, chunks: number): Uint8Array<ArrayBuffer> =>
  enc('v1/file-chunk', room, id, index, chunks);

/** Plaintext bytes of chunk `index`: full chunks, then whatever is left. */
export const chunkPlainBytes = (size: number, chunks: number, index: number): number =>
  index < chunks - 1 ? FILE_CHUNK_BYTES : size - (chunks - 1) * FILE_CHUNK_BYTES;

/**
 * The commitment: one hash over the SHA-256 of every chunk's ciphertext, in
 * order. The sender signs it (in the offer), so every receiver that accepts
 * the file got the same bytes, whatever the relay or the sender tried.
 */
export async function commitOf(id: string, size: number, hashes: readonly Uint8Array[]): Promise<string> {
  return toB64u(await sha256(enc('v1/file-commit', id, size, FILE_CHUNK_BYTES, hashes.length, ...hashes)));
}

/** Where a file's bytes come from: a DOM File or Blob (`blobSource`), or bytes in a test. */
export interface FileSource {
  name: string;
  type: string;
  size: number;
  read(start: number, end: number): Promise<Uint8Array>;
}

export const blobSource = (blob: Blob, name: string): FileSource => ({
  name,
  type: blob.type,
  size: blob.size,
  read: async (start, end) => new Uint8Array(await blob.slice(start, end).arrayBuffer()),
});

export const bytesSource = (bytes: Uint8Array, name: string, type = ''): FileSource => ({
  name,
  type,
  size: bytes.length,
  read: async (start, end) => bytes.subarray(start, end),
});

export interface SealedFile {
  offer: FileOffer;
  cts: Uint8Array[];
}

/** Encrypts a whole file under a fresh key and commits to the result. */
export async function sealFile(keys: RoomKeys, source: FileSource): Promise<SealedFile> {
  if (source.size > MAX_FILE_BYTES) throw new Error(`a file is at most ${MAX_FILE_BYTES / 2 ** 20} MiB`);
  const id = toB64u(randomBytes(FILE_ID_BYTES));
  const fileKey = randomBytes(FILE_KEY_BYTES);
  const key = await chunkKey(keys, fileKey, id);
  const chunks = chunkCountOf(source.size);
  const cts: Uint8Array[] = [];
  const hashes: Uint8Array[] = [];
  for (let first = 0; first < chunks; first += SEAL_BATCH_CHUNKS) {
    const last = Math.min(chunks, first + SEAL_BATCH_CHUNKS);
    const plain = await source.read(first * FILE_CHUNK_BYTES, Math.min(source.size, last * FILE_CHUNK_BYTES));
    const batch = await Promise.all(Array.from({ length: last - first }, async (_, j) => {
      const index = first + j;
      const part = plain.subarray(j * FILE_CHUNK_BYTES, j * FILE_CHUNK_BYTES + chunkPlainBytes(source.size, chunks, index));
      const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: chunkIv(index), additionalData: chunkAad(keys.roomId, id, index, chunks) }, key, part as Uint8Array<ArrayBuffer>));
      return { ct, hash: await sha256(ct) };
    }));
    for (const { ct, hash } of batch) {
      cts.push(ct);
      hashes.push(hash);
    }
  }
  const type = /^[\x21-\x7e]{0,127}$/.test(source.type) ? source.type : '';
  const offer: FileOffer = { id, name: source.name, size: source.size, type, chunkBytes: FILE_CHUNK_BYTES, chunks, key: toB64u(fileKey), commit: await commitOf(id, source.size, hashes) };
  return { offer, cts };
}

/** Decrypts chunk `index` of `offer`: its exact length, then AES-GCM with the chunk's AAD. */
export async function openChunk(key: CryptoKey, room: string, offer: FileOffer, index: number, ct: Uint8Array): Promise<Uint8Array | Error> {
  if (index >= offer.chunks) return new Error('chunk index out of range');
  if (ct.length !== chunkPlainBytes(offer.size, offer.chunks, index) + GCM_TAG_BYTES) return new Error('chunk has the wrong length');
  try {
    return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: chunkIv(index), additionalData: chunkAad(room, offer.id, index, offer.chunks) }, key, ct as Uint8Array<ArrayBuffer>));
  } catch {
    return new Error('chunk does not decrypt');
  }
}

// ---------------------------------------------------------------------------
// What a person sees: names, previews
// ---------------------------------------------------------------------------

const RESERVED_NAMES = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/** Controls, path and shell-hostile characters, and the bidirectional and invisible ones that disguise an extension. */
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f/\\:*?"<>|\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/** A name that is safe to save under on any system: no path, no hidden extension trick, never empty. */
export function safeFileName(name: string): string {
  let out = name.normalize('NFC').replace(UNSAFE_IN_NAME, '_').replace(/^[\s.]+|[\s.]+$/g, '');
  if (RESERVED_NAMES.test(out)) out = `_${out}`;
  out = [...out].slice(0, 120).join('');
  return out === '' ? 'file' : out;
}

/**
 * The image type a file's first bytes prove, or null. Only these four are
 * ever shown inline (and only after they decode); SVG is a document that can
 * carry script, so it is never one of them.
 */
export function sniffImage(head: Uint8Array): 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' | null {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (starts(0x52, 0x49, 0x46, 0x46) && head[8] === 0x57 && head[9] === 0x45 && head[10] === 0x42 && head[11] === 0x50) return 'image/webp';
  return null;
}

// ---------------------------------------------------------------------------
// Transfers
// ---------------------------------------------------------------------------

export type TransferStatus = 'sending' | 'waiting' | 'receiving' | 'complete' | 'failed' | 'cancelled';

/** The sender's view of one recipient. */
export interface RecipientProgress {
  served: number;
  isDone: boolean;
  /** Left the room, or cancelled, before it had the whole file. */
  isGone: boolean;
}

/** One file, sent or received, as the page shows it. Changes are announced to `subscribe`rs. */
export class FileTransfer {
  status: TransferStatus;
  /** Why it failed, in words a person understands. */
  error = '';
  /** Chunks received and checked (receiver). */
  received = 0;
  /** The whole file, once every chunk and the commitment checked out; never before. */
  data: Blob | null = null;
  /** Set when the first bytes prove a PNG, JPEG, GIF or WebP image. */
  imageType: string | null = null;
  readonly recipients = new Map<string, RecipientProgress>();
  private readonly listeners = new Set<() => void>();

  constructor(readonly offer: FileOffer, readonly senderFp: string, readonly isOwn: boolean, private readonly onCancel: (t: FileTransfer) => void) {
    this.status = isOwn ? 'sending' : 'waiting';
  }

  get isFinished(): boolean {
    return this.status === 'complete' || this.status === 'failed' || this.status === 'cancelled';
  }

  /** 0 … 1: chunks received, or (sender) chunks handed to the relay over all recipients. */
  progress(): number {
    if (!this.isOwn) return this.received / this.offer.chunks;
    const all = [...this.recipients.values()];
    if (all.length === 0) return 1;
    return all.reduce((n, r) => n + (r.isDone ? this.offer.chunks : r.served), 0) / (all.length * this.offer.chunks);
  }

  /** Recipients that have the whole file, checked. */
  deliveredCount(): number {
    return [...this.recipients.values()].filter((r) => r.isDone).length;
  }

  cancel(): void {
    if (!this.isFinished) this.onCancel(this);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal */
  changed(): void {
    for (const l of this.listeners) l();
  }
}

interface Outgoing {
  transfer: FileTransfer;
  fileId: Uint8Array;
  cts: Uint8Array[];
  /** Per recipient: which chunks it was sent (each at most once). */
  sent: Map<string, Uint8Array>;
}

interface Incoming {
  transfer: FileTransfer;
  fileId: Uint8Array;
  senderRaw: Uint8Array;
  key: CryptoKey;
  plain: Uint8Array[];
  hashes: Uint8Array[];
  /** The next chunk not yet asked for. */
  next: number;
  /** Asked for, not yet arrived. */
  outstanding: Set<number>;
  lastProgressAt: number;
}

export interface FileManagerOptions {
  keys: RoomKeys;
  selfFp: string;
  sendBinary: (frame: Uint8Array<ArrayBuffer>) => void;
  now?: () => number;
  /** A chunk failed its check: the relay (or the sender) changed it. */
  onTamper?: (senderFp: string) => void;
}

/** An offer ready to sign and send: its text and the ciphertext the sender keeps. */
export interface PreparedFile {
  text: string;
  sealed: SealedFile;
}

const rawFp = (fp: string): Uint8Array => {
  const bytes = fromB64u(fp);
  if (bytes instanceof Error) throw bytes;
  return bytes;
};

/**
 * Every transfer of one connection. The sender keeps each file's ciphertext
 * and answers only what a recipient asked for, each chunk once; a receiver
 * asks for PULL_STEP_CHUNKS at a time with at most MAX_PULL_CREDIT in flight,
 * one file at a time, and accepts a chunk only from the offer's sender, only
 * if it asked for it, and only if it decrypts in its place.
 */
export class FileManager {
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly incoming = new Map<string, Incoming>();
  private readonly queue: Incoming[] = [];
  private active: Incoming | null = null;
  private work: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly options: FileManagerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Encrypts a file for sending. Throws with a reason a person can read (too big). */
  async prepare(source: FileSource): Promise<PreparedFile> {
    const sealed = await sealFile(this.options.keys, source);
    return { text: encodeFileOffer(sealed.offer), sealed };
  }

  /** The offer is signed and about to leave: from now on the recipients may pull. */
  attach(prepared: PreparedFile, recipients: readonly string[]): FileTransfer {
    const { offer, cts } = prepared.sealed;
    const transfer = new FileTransfer(offer, this.options.selfFp, true, (t) => this.cancelOutgoing(t));
    const sent = new Map<string, Uint8Array>();
    for (const fp of recipients) {
      if (fp === this.options.selfFp) continue;
      transfer.recipients.set(fp, { served: 0, isDone: false, isGone: false });
      sent.set(fp, new Uint8Array(offer.chunks));
    }
    if (sent.size === 0) transfer.status = 'complete';
    this.outgoing.set(offer.id, { transfer, fileId: rawFp(offer.id), cts, sent });
    return transfer;
  }

  /**
   * An offer arrived in a message that passed every check of PROTOCOL.md §7.3
   * (signed by `senderFp`). Own offers come back as the relay's echo.
   */
  async offered(senderFp: string, text: string, isOwn: boolean): Promise<FileTransfer | Error> {
    const offer = parseFileOffer(text);
    if (offer instanceof Error) return offer;
    if (isOwn) return this.outgoing.get(offer.id)?.transfer ?? new Error('an offer of mine that this connection did not make');
    if (this.incoming.has(offer.id)) return new Error('a file id that was offered before');
    const fileKey = fromB64u(offer.key);
    if (fileKey instanceof Error) return fileKey;
    const incoming: Incoming = {
      transfer: new FileTransfer(offer, senderFp, false, (t) => this.cancelIncoming(t)),
      fileId: rawFp(offer.id),
      senderRaw: rawFp(senderFp),
      key: await chunkKey(this.options.keys, fileKey, offer.id),
      plain: [],
      hashes: [],
      next: 0,
      outstanding: new Set(),
      lastProgressAt: this.now(),
    };
    this.incoming.set(offer.id, incoming);
    this.queue.push(incoming);
    this.pump();
    return incoming.transfer;
  }

  /** A binary frame from the relay. Processed in arrival order, apart from the chat's queue. */
  receive(frame: Uint8Array): Promise<void> {
    const f = parseAddressed(frame);
    if (f instanceof Error) return this.work;
    // A chunk worth opening is decrypted and hashed at once, not after the one before it:
    // WebCrypto runs them in parallel; only the bookkeeping below keeps arrival order.
    const opened = f.kind === 'chunk' ? this.open(f.fileId, f.peer, f.index, f.ct) : null;
    this.work = this.work.then(() => this.process(f, opened)).catch(() => undefined);
    return this.work;
  }

  /** The server says `fp` left: its files stop, and it gets no more chunks. */
  memberLeft(fp: string): void {
    for (const i of this.incoming.values()) {
      if (i.transfer.senderFp === fp && !i.transfer.isFinished) this.failIncoming(i, 'The sender left before the whole file arrived. Nothing was saved.', false);
    }
    for (const o of this.outgoing.values()) {
      const r = o.transfer.recipients.get(fp);
      if (r === undefined || r.isDone) continue;
      r.isGone = true;
      this.settleOutgoing(o);
    }
  }

  /** This connection ended: every unfinished transfer stops (a reconnect is a new identity). */
  stop(): void {
    for (const i of this.incoming.values()) if (!i.transfer.isFinished) this.failIncoming(i, 'The connection was lost before the whole file arrived. Nothing was saved.', false);
    for (const o of this.outgoing.values()) {
      if (!o.transfer.isFinished) this.endOutgoing(o, 'failed', 'Stopped: the connection was lost.');
    }
  }

  /** Called every second: a file whose chunks stopped coming is stopped rather than left hanging. */
  tick(): void {
    const a = this.active;
    if (a !== null && a.outstanding.size > 0 && this.now() - a.lastProgressAt > FILE_STALL_MS) {
      this.failIncoming(a, `No data arrived for ${FILE_STALL_MS / 1000} s, so the file was stopped. Nothing was saved.`, true);
    }
  }

  // -------------------------------------------------------------------------

  /** The incoming file a chunk may belong to: from the offer's sender, asked for, not yet here. Anything else is ignored. */
  private expecting(fileId: Uint8Array, peer: Uint8Array, index: number): Incoming | null {
    const i = this.incoming.get(toB64u(fileId));
    if (i === undefined || i.transfer.senderFp !== toB64u(peer) || i.transfer.status !== 'receiving' || !i.outstanding.has(index)) return null;
    return i;
  }

  private open(fileId: Uint8Array, peer: Uint8Array, index: number, ct: Uint8Array): Promise<[Uint8Array | Error, Uint8Array]> | null {
    const i = this.expecting(fileId, peer, index);
    if (i === null) return null;
    return Promise.all([openChunk(i.key, this.options.keys.roomId, i.transfer.offer, index, ct), sha256(ct)]);
  }

  private async process(f: Addressed, opened: Promise<[Uint8Array | Error, Uint8Array]> | null): Promise<void> {
    if (f.kind === 'note') return this.onNote(toB64u(f.peer), toB64u(f.fileId), f.op, f.first, f.grant);
    if (opened === null) return;
    const [plain, hash] = await opened;
    // Checked again: a replayed copy may have been opened alongside the first, or the file stopped meanwhile.
    const i = this.expecting(f.fileId, f.peer, f.index);
    if (i === null) return;
    if (plain instanceof Error) return this.failIncoming(i, 'Part of this file was changed on the way, so it was stopped. Nothing was saved.', true, true);
    i.outstanding.delete(f.index);
    i.plain[f.index] = plain;
    i.hashes[f.index] = hash;
    i.transfer.received += 1;
    i.lastProgressAt = this.now();
    if (i.transfer.received === i.transfer.offer.chunks) return this.finish(i);
    this.askMore(i);
    i.transfer.changed();
  }

  private async finish(i: Incoming): Promise<void> {
    const t = i.transfer;
    if ((await commitOf(t.offer.id, t.offer.size, i.hashes)) !== t.offer.commit) {
      return this.failIncoming(i, 'This file does not match what the sender committed to, so it was not saved.', true, true);
    }
    t.imageType = sniffImage(i.plain[0] ?? new Uint8Array());
    t.data = new Blob(i.plain as Uint8Array<ArrayBuffer>[], { type: t.imageType ?? 'application/octet-stream' });
    t.status = 'complete';
    i.plain = [];
    this.options.sendBinary(encodeNote(i.senderRaw, NOTE_OP.DONE, i.fileId));
    this.release(i);
    t.changed();
  }

  private onNote(peer: string, id: string, op: number, first: number, grant: number): void {
    if (op === NOTE_OP.CANCEL) {
      const i = this.incoming.get(id);
      // Unsigned: a relay could send it, but a relay can stop a transfer anyway, by dropping its chunks.
      if (i !== undefined && i.transfer.senderFp === peer && !i.transfer.isFinished) this.failIncoming(i, 'The sender cancelled this file. Nothing was saved.', false);
    }
    const o = this.outgoing.get(id);
    const sent = o?.sent.get(peer);
    const r = o?.transfer.recipients.get(peer);
    if (o === undefined || sent === undefined || r === undefined || o.transfer.isFinished || r.isGone) return;
    if (op === NOTE_OP.CANCEL) {
      r.isGone = true;
      return this.settleOutgoing(o);
    }
    if (op === NOTE_OP.DONE) {
      r.isDone = true;
      return this.settleOutgoing(o);
    }
    const peerRaw = rawFp(peer);
    for (let index = first; index < Math.min(o.cts.length, first + grant); index++) {
      const ct = o.cts[index];
      if (sent[index] === 1 || ct === undefined) continue;
      sent[index] = 1;
      r.served += 1;
      this.options.sendBinary(encodeChunk(peerRaw, o.fileId, index, ct));
    }
    o.transfer.changed();
  }

  /** Keeps up to MAX_PULL_CREDIT chunks asked for, in steps of PULL_STEP_CHUNKS. */
  private askMore(i: Incoming): void {
    const chunks = i.transfer.offer.chunks;
    while (i.next < chunks) {
      const count = Math.min(PULL_STEP_CHUNKS, chunks - i.next);
      if (i.outstanding.size + count > MAX_PULL_CREDIT) break;
      this.options.sendBinary(encodeNote(i.senderRaw, NOTE_OP.WANT, i.fileId, i.next, count));
      for (let k = 0; k < count; k++) i.outstanding.add(i.next + k);
      i.next += count;
    }
  }

  /** One incoming file at a time: the receive window is per receiver, not per file. */
  private pump(): void {
    while (this.active === null) {
      const next = this.queue.shift();
      if (next === undefined) return;
      if (next.transfer.isFinished) continue;
      this.active = next;
      next.transfer.status = 'receiving';
      next.lastProgressAt = this.now();
      this.askMore(next);
      next.transfer.changed();
    }
  }

  private release(i: Incoming): void {
    i.outstanding.clear();
    if (this.active === i) this.active = null;
    this.pump();
  }

  private failIncoming(i: Incoming, error: string, tellSender: boolean, isTampered = false): void {
    i.transfer.status = 'failed';
    i.transfer.error = error;
    i.plain = [];
    if (tellSender) this.options.sendBinary(encodeNote(i.senderRaw, NOTE_OP.CANCEL, i.fileId));
    if (isTampered) this.options.onTamper?.(i.transfer.senderFp);
    this.release(i);
    i.transfer.changed();
  }

  private cancelIncoming(t: FileTransfer): void {
    const i = this.incoming.get(t.offer.id);
    if (i === undefined) return;
    t.status = 'cancelled';
    i.plain = [];
    this.options.sendBinary(encodeNote(i.senderRaw, NOTE_OP.CANCEL, i.fileId));
    this.release(i);
    t.changed();
  }

  private cancelOutgoing(t: FileTransfer): void {
    const o = this.outgoing.get(t.offer.id);
    if (o === undefined) return;
    for (const [fp, r] of t.recipients) {
      if (!r.isDone && !r.isGone) this.options.sendBinary(encodeNote(rawFp(fp), NOTE_OP.CANCEL, o.fileId));
    }
    this.endOutgoing(o, 'cancelled', '');
  }

  /** Done once every recipient has the file or is gone; the ciphertext is let go then. */
  private settleOutgoing(o: Outgoing): void {
    const all = [...o.transfer.recipients.values()];
    if (all.every((r) => r.isDone || r.isGone)) this.endOutgoing(o, 'complete', '');
    else o.transfer.changed();
  }

  private endOutgoing(o: Outgoing, status: TransferStatus, error: string): void {
    o.transfer.status = status;
    o.transfer.error = error;
    o.cts = [];
    o.transfer.changed();
  }
}
