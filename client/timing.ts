/**
 * The client's clocks and bounds, in one place, with how they relate
 * (PROTOCOL.md §7.6–7.7). Wire limits (sizes, counts) are in protocol.ts.
 */

/** Time-based states (grace periods, staleness) are evaluated again this often. */
export const REFRESH_MS = 1_000;

/** Besides every roster change, each tab restates its roster this often: every 10th refresh. */
export const ROSTER_STATEMENT_MS = 10 * REFRESH_MS;

/**
 * A roster difference may last this long (a join or leave in flight) before
 * it is reported, whether it shows in a statement or in a message's roster
 * hash; a newcomer left out of a message sealed this soon after its join is
 * told calmly, not warned. Half a statement interval.
 */
export const ROSTER_AGREE_GRACE_MS = ROSTER_STATEMENT_MS / 2;

/**
 * A member whose latest statement acknowledges none of my statements from
 * the last this-many ms is out of touch with me. In normal traffic the
 * acknowledgement I hold is at most two intervals old (mine goes out, theirs
 * answers within one interval); the margin covers a slow tab. So a member
 * cut off by the relay is told within ACK_STALE_MS (+ one refresh) of the
 * cut, whatever statements the relay replays to her.
 */
export const ACK_STALE_MS = 2 * ROSTER_STATEMENT_MS + 5_000;

/**
 * A member whose last statement arrived this long ago is named ("Not heard
 * from …"), so a relay that silently drops all of a member's traffic shows
 * up; my own message that nobody acknowledged for this long is marked "not
 * confirmed". Three statement intervals plus a margin for a slow tab.
 */
export const STATEMENT_STALE_MS = 3 * ROSTER_STATEMENT_MS + 5_000;

/**
 * A message whose `ts` is further than this from the receiver's clock is
 * shown at the time it arrived, with a notice: a sender's clock may be off,
 * but its stamp must not reorder or break anyone's timeline.
 */
export const MAX_CLOCK_SKEW_MS = 24 * 60 * 60 * 1000;

/** How far behind a sender's highest seq a late message may still be placed (older: refused, its replay state is gone). */
export const SEQ_WINDOW = 1024;

/** What a tab shows at most; the oldest entries go first. */
export const MAX_TIMELINE_ENTRIES = 1_000;

/**
 * A notice like one shown this recently (same words, tone and member)
 * replaces it with a count instead of adding a line: a flood of refused
 * frames is one counted line, and cannot push real messages out (issue 14).
 */
export const NOTICE_COALESCE_MS = 60_000;
/**
 * A member who went ("left", "lost connection") and is back within this
 * time, vouched for by the key that went, gets one notice: the departure
 * notice is taken back (a reload or a network blip, not two events).
 */
export const BACK_SOON_MS = 60_000;

/** Reconnect backoff: 1 s, 2 s, 4 s … up to 30 s, each with jitter so a restarted server is not hit by every tab at once. */
export const RECONNECT_BASE_MS = 1_000;
export const RECONNECT_MAX_MS = 30_000;

/**
 * A tab in a room rewrites the key it keeps for a reload (tab-keys.ts) this
 * often: a 60th refresh, and once a minute is as often as a throttled
 * background tab runs its timers.
 */
export const KEPT_KEY_REWRITE_MS = 60 * REFRESH_MS;

/**
 * A kept key not rewritten for this long belongs to a tab that closed: the
 * next Hush page that opens in this browser deletes it. Five rewrites.
 */
export const KEPT_KEY_MAX_AGE_MS = 5 * KEPT_KEY_REWRITE_MS;

/** How long after the page loads a join still waits for the key kept before a reload; past it, the tab joins as a new identity. */
export const KEPT_KEY_WAIT_MS = 1_000;
