/**
 * When a lost connection is retried, and how the reason reads. Pure, so the
 * policy is unit-tested; use-room.ts applies it.
 */
import { CLOSE } from './protocol';
import { RECONNECT_BASE_MS, RECONNECT_MAX_MS } from './timing';


/**
 * Closes that retrying cannot fix: the room is full, or the server refused
 * what this tab sent (policy, size, format). Those are shown with "Join again".
 */
const FINAL_CODES: ReadonlySet<number> = new Set([CLOSE.UNSUPPORTED, CLOSE.BAD_DATA, CLOSE.POLICY, CLOSE.TOO_BIG, CLOSE.ROOM_FULL]);

export const isRetryable = (code: number): boolean => !FINAL_CODES.has(code);

/** Delay before reconnect attempt `attempt` (0-based): half to all of the doubled base, capped. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** The server's own words when it gave a reason (close reasons are written for people), else ours. */
export function closeReason(code: number, reason: string): string {
  if (reason !== '') return reason;
  if (code === CLOSE.GOING_AWAY) return 'server restarting';
  return 'the connection to the server was lost';
}
