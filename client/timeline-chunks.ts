/**
 * The timeline's entries cut into runs ("chunks") that keep their bounds
 * from one build to the next, so a page renders a new message by comparing
 * a chunk per 32 entries and the entries of the last chunk, not every entry
 * on screen (up to 1,000). Pure: components/Timeline.tsx turns each chunk into
 * one element and hands an unchanged chunk's element to Preact again, which
 * then skips the whole run.
 */

/** Entries per chunk: a new entry costs about entries / CHUNK_ENTRIES + CHUNK_ENTRIES comparisons. */
export const CHUNK_ENTRIES = 32;

export interface Chunk<N> {
  /** Stable across builds while the chunk holds any of the entries it held: the element's key. */
  readonly id: number;
  readonly keys: readonly string[];
  readonly nodes: readonly N[];
}

/**
 * Cuts `nodes` (one per entry, `keys[i]` being entry i's key) into chunks.
 * A chunk of `last` whose entries are all still here, in order, with the same
 * nodes, comes back as the same object. Bounds stay put: a chunk ends where
 * one of `last` began, so an entry added at the end, dropped at the start or
 * changed in the middle makes a new chunk of the one it touched only; a chunk
 * grows at the end up to `size` entries, then a new one starts.
 */
export function cutIntoChunks<N>(keys: readonly string[], nodes: readonly N[], last: readonly Chunk<N>[], newId: () => number, size = CHUNK_ENTRIES): Chunk<N>[] {
  if (keys.length !== nodes.length) throw new Error('one node per key');
  const holder = new Map<string, Chunk<N>>();
  const starts = new Set<string>();
  for (const c of last) {
    for (const k of c.keys) holder.set(k, c);
    if (c.keys[0] !== undefined) starts.add(c.keys[0]);
  }
  const out: Chunk<N>[] = [];
  const taken = new Set<number>();
  for (let i = 0; i < keys.length;) {
    const old = holder.get(keys[i] as string);
    const isOld = old !== undefined && !taken.has(old.id);
    const id = isOld ? old.id : newId();
    taken.add(id);
    let end = i + 1;
    while (end < keys.length && end - i < size && !starts.has(keys[end] as string)) end++;
    const isSame = isOld && old.keys.length === end - i && old.nodes.every((n, k) => n === nodes[i + k] && old.keys[k] === keys[i + k]);
    out.push(isSame ? old : { id, keys: keys.slice(i, end), nodes: nodes.slice(i, end) });
    i = end;
  }
  return out;
}
