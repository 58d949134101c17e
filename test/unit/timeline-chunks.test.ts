/**
 * The timeline's chunks (client/timeline-chunks.ts): what the page hands
 * Preact again as the same element, so a message arriving compares one chunk
 * per 32 entries plus the last chunk's entries instead of every entry.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK_ENTRIES, cutIntoChunks, type Chunk } from '../../client/timeline-chunks';

/** An entry as the timeline builds it: a key and a node (an object whose identity says "unchanged"). */
interface Node { key: string; version: number }

function builder() {
  let id = 0;
  let last: Chunk<Node>[] = [];
  return {
    build(entries: readonly Node[]): Chunk<Node>[] {
      last = cutIntoChunks(entries.map((e) => e.key), entries, last, () => ++id);
      return last;
    },
  };
}

const entry = (i: number): Node => ({ key: `k${i}`, version: 0 });
const range = (from: number, to: number): Node[] => Array.from({ length: to - from }, (_, i) => entry(from + i));

/** Chunks of `after` that are the very objects of `before`. */
const kept = (before: readonly Chunk<Node>[], after: readonly Chunk<Node>[]): number => after.filter((c) => before.includes(c)).length;

describe('timeline chunks', () => {
  it('hands back every chunk but the last as the same object when a message is added at the end', () => {
    const b = builder();
    const entries = range(0, 100);
    const before = b.build(entries);
    expect(before.map((c) => c.keys.length)).toEqual([32, 32, 32, 4]);
    const after = b.build([...entries, entry(100)]);
    expect(after.slice(0, 3)).toEqual(before.slice(0, 3));
    expect(kept(before, after)).toBe(3);
    // The last chunk grew, under its old id (the same element key, so Preact keeps its entries' elements).
    expect(after[3]).not.toBe(before[3]);
    expect(after[3]?.id).toBe(before[3]?.id);
    expect(after[3]?.keys).toEqual(['k96', 'k97', 'k98', 'k99', 'k100']);
  });

  it('starts a new chunk once the last one is full', () => {
    const b = builder();
    const entries = range(0, CHUNK_ENTRIES);
    const before = b.build(entries);
    const after = b.build([...entries, entry(CHUNK_ENTRIES)]);
    expect(after).toHaveLength(2);
    expect(after[0]).toBe(before[0]);
    expect(after[1]?.keys).toEqual([`k${CHUNK_ENTRIES}`]);
    expect(after[1]?.id).not.toBe(before[0]?.id);
  });

  it('rebuilds only the first chunk when the oldest entry drops out, keeping its id', () => {
    const b = builder();
    const entries = range(0, 96);
    const before = b.build(entries);
    const after = b.build(entries.slice(1));
    expect(after.map((c) => c.keys.length)).toEqual([31, 32, 32]);
    expect(after[0]?.id).toBe(before[0]?.id);
    expect(after[1]).toBe(before[1]);
    expect(after[2]).toBe(before[2]);
  });

  it('rebuilds only the chunk holding an entry that changed or went away in the middle', () => {
    const b = builder();
    const entries = range(0, 96);
    const before = b.build(entries);
    const changed = entries.map((e) => (e.key === 'k40' ? { ...e, version: 1 } : e));
    const after = b.build(changed);
    expect(after[0]).toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
    expect(after[1]?.id).toBe(before[1]?.id);
    expect(after[1]?.nodes[8]).toBe(changed[40]);
    expect(after[2]).toBe(before[2]);

    const fewer = b.build(changed.filter((e) => e.key !== 'k70'));
    expect(fewer.map((c) => c.keys.length)).toEqual([32, 32, 31]);
    expect(fewer[0]).toBe(after[0]);
    expect(fewer[1]).toBe(after[1]);
  });

  it('whatever happens to the entries, the chunks hold exactly them in order, at most 32 each, with distinct ids, and stay few', () => {
    // A seeded stream of appends, drops from the front (a timeline at its cap), edits, removals and insertions.
    let seed = 19;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const b = builder();
    let entries: Node[] = [];
    let next = 0;
    for (let step = 0; step < 3_000; step++) {
      const op = random(20);
      if (op < 14 || entries.length === 0) entries = [...entries, entry(next++)];
      else if (op < 17) entries = entries.slice(1);
      else if (op < 18) entries = entries.map((e, i) => (i === random(entries.length) ? { ...e, version: e.version + 1 } : e));
      else if (op < 19) entries = entries.filter((_, i) => i !== random(entries.length));
      else {
        const at = random(entries.length);
        entries = [...entries.slice(0, at), entry(next++), ...entries.slice(at)];
      }
      if (entries.length > 300) entries = entries.slice(entries.length - 300);
      const chunks = b.build(entries);
      expect(chunks.flatMap((c) => c.nodes)).toEqual(entries);
      expect(chunks.flatMap((c) => c.keys)).toEqual(entries.map((e) => e.key));
      expect(chunks.every((c) => c.keys.length >= 1 && c.keys.length <= CHUNK_ENTRIES)).toBe(true);
      expect(new Set(chunks.map((c) => c.id)).size).toBe(chunks.length);
      // Fragments of chunks would undo the point: a bounded number, whatever the history.
      expect(chunks.length).toBeLessThanOrEqual(2 * Math.ceil(entries.length / CHUNK_ENTRIES) + 2);
    }
  });

  it('refuses a node list that does not match the keys', () => {
    expect(() => cutIntoChunks(['a', 'b'], [entry(0)], [], () => 1)).toThrow('one node per key');
  });
});
