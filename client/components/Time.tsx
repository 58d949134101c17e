/**
 * The formats of toLocaleTimeString([], { hour, minute }) and toLocaleString(), made once:
 * those methods build a formatter on every call, a millisecond or so per new entry.
 */
const SHORT = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' });
const FULL = new Intl.DateTimeFormat([], { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });

/** A time as the timeline shows it, or null for a stamp no Date can hold (past ±8.64e15 ms, NaN). */
export function timeParts(ts: number): { iso: string; short: string; full: string } | null {
  const date = new Date(ts);
  // toISOString throws a RangeError on an invalid date, and one entry must never take the page down.
  if (Number.isNaN(date.getTime())) return null;
  return { iso: date.toISOString(), short: SHORT.format(date), full: FULL.format(date) };
}

export function Time({ ts }: { ts: number }) {
  const t = timeParts(ts);
  return t === null ? null : <time dateTime={t.iso} title={t.full}>{t.short}</time>;
}
