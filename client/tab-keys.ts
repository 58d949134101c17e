/**
 * A tab keeps its signing key across a reload, so that its first hello after
 * the reload is vouched for by the key before it and the others keep their
 * verified marks of it (PROTOCOL.md §6.4). Browsers only: IndexedDB, which
 * stores a CryptoKey as it is, so the key stays non-extractable.
 *
 * What is kept is the least that does the job: the room id, the fingerprint
 * and the ECDSA signing key of the tab's last identity, and the fingerprints
 * it had verified. Never the decryption key, the link secret, a name or a
 * message: nothing kept could read anything.
 *
 * A record belongs to one tab (a random token in the tab's history state,
 * link.ts) and is used once: reading it deletes it, so a duplicated tab does
 * not get it too. The tab writes it again once it is in the room, after each
 * change of key or verified mark, and every KEPT_KEY_REWRITE_MS. Leave (or
 * being removed) deletes it; a record not rewritten for KEPT_KEY_MAX_AGE_MS
 * is a closed tab's, and the next Hush page opened in this browser deletes it.
 */
import type { KeptKey, TabKeyStore } from './room-connection';
import { KEPT_KEY_MAX_AGE_MS } from './timing';

const DB_NAME = 'hush';
const STORE = 'tab-keys';

interface StoredKey extends KeptKey {
  token: string;
  savedAt: number;
}

const done = <T>(request: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'token' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB did not open'));
    request.onblocked = () => reject(new Error('IndexedDB is blocked'));
  });
}

/** A record as this module wrote it; anything else in the store is ignored (and deleted by the sweep). */
function isStoredKey(x: unknown): x is StoredKey {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Partial<StoredKey>;
  const key: unknown = r.previous?.sigPriv;
  return typeof r.token === 'string' && typeof r.roomId === 'string' && typeof r.previous?.fp === 'string' && typeof r.savedAt === 'number'
    && Array.isArray(r.verified) && r.verified.every((fp) => typeof fp === 'string')
    && key instanceof CryptoKey && !key.extractable && key.type === 'private';
}

export function browserTabKeys(token: string, now: () => number = Date.now): TabKeyStore {
  let db: Promise<IDBDatabase> | null = null;
  const store = async (mode: IDBTransactionMode): Promise<IDBObjectStore> => {
    db ??= openDb();
    return (await db).transaction(STORE, mode).objectStore(STORE);
  };
  return {
    take() {
      return store('readwrite').then((keys) => new Promise<KeptKey | null>((resolve, reject) => {
        let mine: KeptKey | null = null;
        const cursor = keys.openCursor();
        cursor.onerror = () => reject(cursor.error ?? new Error('IndexedDB cursor failed'));
        cursor.onsuccess = () => {
          const at = cursor.result;
          if (at === null) return resolve(mine);
          const r: unknown = at.value;
          const isFresh = isStoredKey(r) && now() - r.savedAt <= KEPT_KEY_MAX_AGE_MS;
          if (isFresh && r.token === token) mine = { roomId: r.roomId, previous: { fp: r.previous.fp, sigPriv: r.previous.sigPriv }, verified: r.verified };
          // Mine is taken (used once); stale or malformed records are closed tabs'.
          if (!isFresh || r.token === token) at.delete();
          at.continue();
        };
      }));
    },
    async put(kept) {
      const record: StoredKey = { roomId: kept.roomId, previous: { fp: kept.previous.fp, sigPriv: kept.previous.sigPriv }, verified: [...kept.verified], token, savedAt: now() };
      await done((await store('readwrite')).put(record));
    },
    async drop() {
      await done((await store('readwrite')).delete(token));
    },
  };
}
