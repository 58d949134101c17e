/**
 * Mutation runs only (test/mutation/vitest.config.ts): RSA-3072 key pairs
 * drawn from a pool made once on this machine, instead of made fresh. Making
 * one takes about half a second, and the room tests make several per test,
 * so without the pool a run of room.ts's mutants takes hours on two cores.
 * Everything else is real WebCrypto: the pool's keys are real random keys,
 * imported with the usages and extractability each caller asked for, and
 * every other generateKey call goes through untouched. `npm test` never
 * loads this file.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const POOL_SIZE = 256;
// Outside the checkout: Stryker copies the project into a sandbox per run, and the pool outlives them.
const POOL_FILE = join(tmpdir(), 'hush-mutation', 'rsa-3072.json');
const subtle = globalThis.crypto.subtle;
const b64 = (bytes: ArrayBuffer): string => Buffer.from(bytes).toString('base64');

interface PooledPair { spki: string; pkcs8: string }

/** Vitest's global setup: makes the pool once (two at a time), then every run reads it. */
export async function setup(): Promise<void> {
  if (existsSync(POOL_FILE)) return;
  const pairs: PooledPair[] = [];
  while (pairs.length < POOL_SIZE) {
    pairs.push(...(await Promise.all([0, 1].map(async () => {
      const pair = await subtle.generateKey({ name: 'RSA-OAEP', hash: 'SHA-256', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]) }, true, ['encrypt', 'decrypt']);
      return { spki: b64(await subtle.exportKey('spki', pair.publicKey)), pkcs8: b64(await subtle.exportKey('pkcs8', pair.privateKey)) };
    }))));
  }
  mkdirSync(dirname(POOL_FILE), { recursive: true });
  // Written aside and renamed: Stryker's two runners may make it at once, and neither may read half a file.
  const partial = `${POOL_FILE}.${process.pid}`;
  writeFileSync(partial, JSON.stringify(pairs));
  renameSync(partial, POOL_FILE);
}

type RsaRequest = RsaHashedKeyGenParams & { publicExponent: Uint8Array };
const isPooled = (algorithm: unknown): algorithm is RsaRequest => {
  const a = algorithm as Partial<RsaRequest>;
  return a.name === 'RSA-OAEP' && a.modulusLength === 3072 && a.publicExponent?.join() === '1,0,1';
};

/** The setup file: each RSA-OAEP-3072 request takes the next pair of the pool, a different one each time within a test file. */
export function usePool(): void {
  if (!existsSync(POOL_FILE)) return;
  const pool = JSON.parse(readFileSync(POOL_FILE, 'utf8')) as PooledPair[];
  let next = 0;
  const generate = subtle.generateKey.bind(subtle) as (...args: unknown[]) => Promise<CryptoKeyPair | CryptoKey>;
  (subtle as { generateKey: unknown }).generateKey = async (algorithm: unknown, extractable: boolean, usages: KeyUsage[]) => {
    if (!isPooled(algorithm)) return generate(algorithm, extractable, usages);
    const pair = pool[next++ % pool.length] as PooledPair;
    const params = { name: 'RSA-OAEP', hash: algorithm.hash };
    const [publicKey, privateKey] = await Promise.all([
      // As generateKey does: the public key is always extractable.
      subtle.importKey('spki', Buffer.from(pair.spki, 'base64'), params, true, usages.filter((u) => u === 'encrypt')),
      subtle.importKey('pkcs8', Buffer.from(pair.pkcs8, 'base64'), params, extractable, usages.filter((u) => u === 'decrypt')),
    ]);
    return { publicKey, privateKey };
  };
}
