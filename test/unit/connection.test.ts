import { describe, expect, it } from 'vitest';
import { CLOSE } from '../../client/protocol';
import { closeReason, isRetryable, reconnectDelayMs } from '../../client/connection';
import { RECONNECT_MAX_MS } from '../../client/timing';
import { NOTIFICATION_TITLE, arrivals, notificationOf, titleWithUnread } from '../../client/attention';

describe('reconnecting', () => {
  it.each([
    [CLOSE.GOING_AWAY, 'server restarting', true],
    [1006, 'connection dropped (no close frame)', true],
    [CLOSE.SERVER_FULL, 'server is full - try again later', true],
    [CLOSE.RATE_LIMITED, 'too many messages - slow down', true],
    [CLOSE.ROOM_FULL, 'room is full', false],
    [CLOSE.POLICY, 'this identity has left the room', false],
    [CLOSE.TOO_BIG, 'frame too large', false],
    [CLOSE.BAD_DATA, 'frame is not valid UTF-8', false],
    [CLOSE.UNSUPPORTED, 'binary frames are not accepted', false],
  ])('close %i (%s): retried automatically is %s', (code, _why, expected) => {
    expect(isRetryable(code)).toBe(expected);
  });

  it.each([
    [0, 500, 1_000],
    [1, 1_000, 2_000],
    [2, 2_000, 4_000],
    [4, 8_000, 16_000],
    [5, 15_000, 30_000],
    [12, 15_000, 30_000],
    [1_000, 15_000, 30_000],
  ])('waits between half and all of min(2^%i s, 30 s) before attempt', (attempt, low, high) => {
    expect(reconnectDelayMs(attempt, () => 0)).toBe(low);
    expect(reconnectDelayMs(attempt, () => 0.999_999)).toBe(high);
    expect(reconnectDelayMs(attempt)).toBeLessThanOrEqual(RECONNECT_MAX_MS);
  });

  it.each([
    [CLOSE.ROOM_FULL, 'room is full', 'room is full'],
    [CLOSE.RATE_LIMITED, 'too many messages - slow down', 'too many messages - slow down'],
    [CLOSE.GOING_AWAY, '', 'server restarting'],
    [1006, '', 'the connection to the server was lost'],
  ])('says why in words: close %i %j → %j', (code, reason, words) => {
    expect(closeReason(code, reason)).toBe(words);
  });
});

describe('attention', () => {
  it('finds the entries that were not shown before, in order', () => {
    const entries = [{ key: 'a' }, { key: 'b' }, { key: 'c' }, { key: 'd' }];
    expect(arrivals(entries, new Set(['a', 'c']))).toEqual([{ key: 'b' }, { key: 'd' }]);
    expect(arrivals(entries, new Set(['a', 'b', 'c', 'd']))).toEqual([]);
  });

  it.each([
    [0, 'Hush — encrypted rooms'],
    [1, '(1) Hush — encrypted rooms'],
    [12, '(12) Hush — encrypted rooms'],
  ])('title with %i unread is %j', (unread, title) => {
    expect(titleWithUnread('Hush — encrypted rooms', unread)).toBe(title);
  });

  it('shows no message text in a notification unless asked to', () => {
    expect(notificationOf('Alice', 'the vault code is 7716', false)).toEqual({ title: NOTIFICATION_TITLE, body: '' });
    expect(notificationOf('Alice', '/me waves', false)).toEqual({ title: NOTIFICATION_TITLE, body: '' });
    expect(notificationOf('Alice', 'the vault code is 7716', true)).toEqual({ title: 'Alice', body: 'the vault code is 7716' });
    expect(notificationOf('Alice', '/me waves', true)).toEqual({ title: NOTIFICATION_TITLE, body: '* Alice waves' });
  });
});
