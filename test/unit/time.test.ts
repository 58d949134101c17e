import { describe, expect, it } from 'vitest';
import { timeParts } from '../../client/components/Time';

describe('times in the timeline', () => {
  it.each([
    [8.7e15, 'past the last date (8.64e15 ms)'],
    [-8.7e15, 'before the first date'],
    [Number.MAX_SAFE_INTEGER, 'the largest integer a frame may carry'],
    [Number.NaN, 'not a number'],
    [Number.POSITIVE_INFINITY, 'infinity'],
  ])('shows no time, and throws nothing, for %d (%s)', (ts) => {
    expect(() => timeParts(ts)).not.toThrow();
    expect(timeParts(ts)).toBeNull();
  });

  it.each([
    [0, '1970-01-01T00:00:00.000Z'],
    [1_764_620_000_000, '2025-12-01T20:13:20.000Z'],
    [8.64e15, '+275760-09-13T00:00:00.000Z'],
  ])('gives %d its ISO time and a short one to read', (ts, iso) => {
    const t = timeParts(ts);
    expect(t?.iso).toBe(iso);
    expect(t?.short).toMatch(/\d/);
  });
});
