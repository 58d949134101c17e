import { beforeAll, describe, expect, it } from 'vitest';
import { cleanName, hasConfusables, loadConfusables, nameSkeleton } from '../../client/names';

beforeAll(() => loadConfusables());

describe('a name as typed becomes a name fit to show', () => {
  it.each([
    ['Alice', 'Alice'],
    ['  Alice  ', 'Alice'],
    ['Alice\u2060', 'Alice'], // word joiner
    ['Al\u200bice', 'Alice'], // zero-width space
    ['Al\u200c\u200dice', 'Alice'], // zero-width non-joiner and joiner
    ['\u202eecilA', 'ecilA'], // right-to-left override: the name can no longer read backwards
    ['\u2066Alice\u2069', 'Alice'], // bidi isolates
    ['Alice\u200e', 'Alice'], // left-to-right mark
    ['A\ufe0flice', 'Alice'], // variation selector
    ['Alice\u{e0041}\u{e007f}', 'Alice'], // tag characters
    ['\u3164Alice', 'Alice'], // Hangul filler
    ['Alice\u180e', 'Alice'], // Mongolian vowel separator
    ['Ali\u00adce', 'Alice'], // soft hyphen
    ['Al\u0000ice\u0007', 'Alice'], // control characters
    ['Alice  \t\n Smith', 'Alice Smith'],
    ['Alice\u00a0\u3000Smith', 'Alice Smith'], // no-break and ideographic spaces
    ['Alice\u2028Smith', 'Alice Smith'], // line separator
    ['Alice \u200b Smith', 'Alice Smith'],
    ['e\u0301', '\u00e9'], // NFC
    ['Аlice', 'Аlice'], // a Cyrillic А is visible: kept, and told apart by its skeleton
  ])('%j → %j', (raw, shown) => {
    expect(cleanName(raw)).toBe(shown);
  });

  it.each([[''], ['   '], ['\u2060'], ['\u200b\u200b'], ['\u3164'], ['\u115f\u1160\uffa0'], ['\ufe0f'], ['\u2800'], ['\u202e\u202c'], ['\t\n']])(
    'refuses %j, which shows nothing',
    (raw) => {
      const name = cleanName(raw);
      expect(name).toBeInstanceOf(Error);
      expect(name instanceof Error && name.message).toBe('a name needs at least one visible character');
    },
  );
});

describe('names that look alike have the same skeleton', () => {
  it('uses the Unicode confusables data once loaded', () => {
    expect(hasConfusables()).toBe(true);
  });

  it.each([
    ['Alice', 'Аlice'], // Cyrillic А
    ['Alice', 'Αlice'], // Greek Α
    ['Alice', 'Aliсe'], // Cyrillic с
    ['Alice', 'Alice\u2060'], // word joiner
    ['Alice', 'Al\u200bice'], // zero-width space
    ['Alice', 'Ａlice'], // fullwidth Ａ
    ['alice', 'ａｌｉｃｅ'], // fullwidth lower case
    ['Alice', 'AIice'], // capital I for l
    ['Alice', 'A1ice'], // digit one for l
    ['Alice', 'alice'], // case
    ['Bob', 'B0b'], // zero for o
    ['Kim', 'Kirn'], // "rn" for "m"
    ['Al\u0131ce', 'Alice'], // dotless ı
  ])('%j ~ %j', (a, b) => {
    expect(nameSkeleton(a)).toBe(nameSkeleton(b));
  });

  it.each([
    ['Alice', 'Bob'],
    ['Alice', 'Alicia'],
    ['Alice', 'Alíce'], // an accent is visible
    ['Anna', 'Hanna'],
  ])('%j and %j stay distinct', (a, b) => {
    expect(nameSkeleton(a)).not.toBe(nameSkeleton(b));
  });
});
