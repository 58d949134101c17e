import { describe, expect, it } from 'vitest';
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
  it('leaves unique names alone and marks shared ones with their code', () => {
    const labels = displayLabels([
      { fp: 'f1', name: 'Alice', digits: '123450000000000000000000000000' },
      { fp: 'f2', name: 'Alice', digits: '987650000000000000000000000000' },
      { fp: 'f3', name: 'Bob', digits: null },
    ]);
    expect([...labels.values()]).toEqual(['Alice #12345', 'Alice #98765', 'Bob']);
  });

  it('groups digits in fives', () => {
    expect(groupDigits('123456789012345678901234567890')).toBe('12345 67890 12345 67890 12345 67890');
  });
});
