/**
 * Keeps the parts of a room's view that did not change as the very objects
 * the page was last handed, so components can skip by identity: a message
 * arriving then re-renders its own timeline entry and nothing of the member
 * list, and a tick of the room's clock that changed nothing re-renders
 * nothing at all (issue #19: "render only what changed").
 */
import type { Member } from './roster';
import type { RoomView } from './room';

/** Same fields, each the same value or object: what skipping by identity compares (keys and safety codes are kept objects, so identity is enough). */
export function isShallowEqual<T extends object>(a: T, b: T): boolean {
  const keys = Object.keys(b) as (keyof T)[];
  return keys.length === Object.keys(a).length && keys.every((k) => a[k] === b[k]);
}

/**
 * `next`, with every member unchanged since `prev` replaced by its object in
 * `prev`; `prev` itself when nothing changed, order included.
 */
export function keepMembers(prev: readonly Member[], next: Member[]): Member[] {
  const before = new Map(prev.map((m) => [m.fp, m]));
  const kept = next.map((m) => {
    const old = before.get(m.fp);
    return old !== undefined && isShallowEqual(old, m) ? old : m;
  });
  return kept.length === prev.length && kept.every((m, i) => m === prev[i]) ? (prev as Member[]) : kept;
}

/** `prev` when `next` holds the same plain data (small parts: counts, agreement, switches), else `next`. */
function keepData<T>(prev: T, next: T): T {
  return JSON.stringify(prev) === JSON.stringify(next) ? prev : next;
}

/** `next` with its unchanged parts taken from `prev`; `prev` itself when no part changed. */
export function keepView(prev: RoomView | null, next: RoomView): RoomView {
  if (prev === null) return next;
  // The rest as it comes: the timeline hands a new array only when its entries changed, and keeps the entries that did not.
  const kept: RoomView = {
    ...next,
    members: keepMembers(prev.members, next.members),
    blocked: keepData(prev.blocked, next.blocked),
    agreement: keepData(prev.agreement, next.agreement),
    membership: keepData(prev.membership, next.membership),
  };
  return isShallowEqual(prev, kept) ? prev : kept;
}
