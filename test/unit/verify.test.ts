import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfusables } from '../../client/names';
import { SAS_EMOJI, diffRosters, displayLabels, emojiCode, groupDigits } from '../../client/verify';

describe('emoji form of a safety code', () => {
  it('has 64 distinct emoji with distinct names', () => {
    expect(new Set(SAS_EMOJI.map(([s]) => s)).size).toBe(64);
    expect(new Set(SAS_EMOJI.map(([, n]) => n)).size).toBe(64);
  });

  it.each([
    // bytes 30..33 of the fingerprint hash → five 6-bit indices
    [[0x00, 0x00, 0x00, 0x00], ['Dog', 'Dog', 'Dog', 'Dog', 'Dog']],
    [[0xff, 0xff, 0xff, 0xff], ['Pin', 'Pin', 'Pin', 'Pin', 'Pin']],
    // 000001 000010 000011 000100 000101 00 → Cat, Lion, Horse, Unicorn, Pig
    [[0x04, 0x20, 0xc4, 0x14], ['Cat', 'Lion', 'Horse', 'Unicorn', 'Pig']],
  ])('takes the 30 bits after the digits: %j', (bytes, names) => {
    const hash = new Uint8Array(64);
    hash.set(bytes, 30);
    expect(emojiCode(hash).map((e) => e.name)).toEqual(names);
  });

  it('does not depend on the bytes the digits use', () => {
    const a = new Uint8Array(64);
    const b = new Uint8Array(64).fill(7, 0, 30);
    expect(emojiCode(a)).toEqual(emojiCode(b));
  });
});

describe('roster comparison', () => {
  it.each([
    [['a', 'b', 'c'], ['a', 'b', 'c'], [], []],
    [['a', 'b', 'c'], ['a', 'c'], [], ['b']],
    [['a', 'c'], ['a', 'b', 'c'], ['b'], []],
    [['a', 'b'], ['a', 'x'], ['x'], ['b']],
  ])('mine %j vs theirs %j: +%j −%j', (mine, theirs, plus, minus) => {
    expect(diffRosters(mine, theirs)).toEqual({ plus, minus });
  });
});

describe('labels', () => {
  beforeAll(() => loadConfusables());

  it('leaves unique names alone and marks shared ones with their code', () => {
    const labels = displayLabels([
      { fp: 'f1', name: 'Alice', digits: '123450000000000000000000000000' },
      { fp: 'f2', name: 'Alice', digits: '987650000000000000000000000000' },
      { fp: 'f3', name: 'Bob', digits: null },
    ]);
    expect([...labels.values()]).toEqual(['Alice #12345', 'Alice #98765', 'Bob']);
  });

  const code = (first: string) => first.padEnd(30, '0');
  it.each([
    ['a Cyrillic А', 'Аlice'],
    ['a Greek Α', 'Αlice'],
    ['a fullwidth Ａ', 'Ａlice'],
    ['a capital I for the l', 'AIice'],
    ['rn for m', 'Kirn'],
  ])('marks a look-alike with %s, and the name it imitates, with their codes', (_what, lookAlike) => {
    const original = lookAlike === 'Kirn' ? 'Kim' : 'Alice';
    const labels = displayLabels([
      { fp: 'f1', name: original, digits: code('12345') },
      { fp: 'f2', name: lookAlike, digits: code('98765') },
      { fp: 'f3', name: 'Bob', digits: code('55555') },
    ]);
    expect([...labels.values()]).toEqual([`${original} #12345`, `${lookAlike} #98765`, 'Bob']);
  });

  it('lengthens the suffix until look-alikes differ (five digits can be ground in minutes)', () => {
    const labels = displayLabels([
      { fp: 'f1', name: 'Alice', digits: code('1234567890') },
      { fp: 'f2', name: 'Аlice', digits: code('1234500000') },
      { fp: 'f3', name: 'Alice', digits: code('9876500000') },
    ]);
    expect([...labels.values()]).toEqual(['Alice #1234567890', 'Аlice #1234500000', 'Alice #98765']);
    expect(new Set(labels.values()).size).toBe(3);
  });

  it('uses the fingerprint while a code is being computed', () => {
    const labels = displayLabels([
      { fp: 'AbCdEfGh', name: 'Alice', digits: null },
      { fp: 'ZyXwVuTs', name: 'Alice⁠', digits: null },
    ]);
    expect([...labels.values()]).toEqual(['Alice #AbCdE', 'Alice⁠ #ZyXwV']);
  });

  it('groups digits in fives', () => {
    expect(groupDigits('123456789012345678901234567890')).toBe('12345 67890 12345 67890 12345 67890');
  });
});
