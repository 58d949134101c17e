import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfusables } from '../../client/names';
import { LABEL_SUFFIX_NOTE, SAS_EMOJI, diffRosters, displayLabels, emojiCode, groupDigits, isSameRoster } from '../../client/verify';

describe('emoji form of a safety code', () => {
  it('has 64 distinct emoji with distinct names', () => {
    expect(new Set(SAS_EMOJI.map(([s]) => s)).size).toBe(64);
    expect(new Set(SAS_EMOJI.map(([, n]) => n)).size).toBe(64);
    for (const entry of SAS_EMOJI) {
      expect(entry).toHaveLength(2);
      expect(entry[0]).toMatch(/^\p{Extended_Pictographic}\uFE0F?$/u);
    }
  });

  it('is the Matrix SAS table, index by index', () => {
    // The names of the Matrix specification's SAS emoji table, indices 0–63.
    expect(SAS_EMOJI.map(([, n]) => n).join(',')).toBe([
      'Dog,Cat,Lion,Horse,Unicorn,Pig,Elephant,Rabbit,Panda,Rooster,Penguin,Turtle,Fish,Octopus,Butterfly,Flower',
      'Tree,Cactus,Mushroom,Globe,Moon,Cloud,Fire,Banana,Apple,Strawberry,Corn,Pizza,Cake,Heart,Smiley,Robot',
      'Hat,Glasses,Spanner,Santa,Thumbs Up,Umbrella,Hourglass,Clock,Gift,Light Bulb,Book,Pencil,Paperclip,Scissors,Lock,Key',
      'Hammer,Telephone,Flag,Train,Bicycle,Aeroplane,Rocket,Trophy,Ball,Guitar,Trumpet,Bell,Anchor,Headphones,Folder,Pin',
    ].join(','));
    expect(SAS_EMOJI.map(([s]) => s).join('')).toBe(
      '🐶🐱🦁🐎🦄🐷🐘🐰🐼🐓🐧🐢🐟🐙🦋🌷🌳🌵🍄🌏🌙☁️🔥🍌🍎🍓🌽🍕🎂❤️😀🤖🎩👓🔧🎅👍☂️⌛⏰🎁💡📕✏️📎✂️🔒🔑🔨☎️🏁🚂🚲✈️🚀🏆⚽🎸🎺🔔⚓🎧📁📌',
    );
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
    // The same list only when nothing is missing on either side.
    expect(isSameRoster(diffRosters(mine, theirs))).toBe(plus.length === 0 && minus.length === 0);
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
    expect(groupDigits('')).toBe('');
  });

  it('stops lengthening at the whole code when two look-alikes show the same one', () => {
    const labels = displayLabels([
      { fp: 'f1', name: 'Alice', digits: '1234567890' },
      { fp: 'f2', name: '\u0410lice', digits: '1234567890' },
    ]);
    expect([...labels.values()]).toEqual(['Alice #1234567890', '\u0410lice #1234567890']);
  });

  it('says a suffix is not proof of who someone is', () => {
    expect(LABEL_SUFFIX_NOTE).toContain('not proof of who they are');
  });
});
