/**
 * Verification helpers, pure and synchronous: the compact emoji form of a
 * safety code, roster comparison, and labels that never let a name alone
 * stand for an identity (issue #3).
 */
import { nameSkeleton } from './names';

/**
 * The 64 emoji of Matrix's SAS verification (spec: "SAS method: emoji"),
 * chosen to be distinct and easy to name aloud. Index = 6 bits.
 */
export const SAS_EMOJI: readonly (readonly [string, string])[] = [
  ['🐶', 'Dog'], ['🐱', 'Cat'], ['🦁', 'Lion'], ['🐎', 'Horse'], ['🦄', 'Unicorn'], ['🐷', 'Pig'], ['🐘', 'Elephant'], ['🐰', 'Rabbit'],
  ['🐼', 'Panda'], ['🐓', 'Rooster'], ['🐧', 'Penguin'], ['🐢', 'Turtle'], ['🐟', 'Fish'], ['🐙', 'Octopus'], ['🦋', 'Butterfly'], ['🌷', 'Flower'],
  ['🌳', 'Tree'], ['🌵', 'Cactus'], ['🍄', 'Mushroom'], ['🌏', 'Globe'], ['🌙', 'Moon'], ['☁️', 'Cloud'], ['🔥', 'Fire'], ['🍌', 'Banana'],
  ['🍎', 'Apple'], ['🍓', 'Strawberry'], ['🌽', 'Corn'], ['🍕', 'Pizza'], ['🎂', 'Cake'], ['❤️', 'Heart'], ['😀', 'Smiley'], ['🤖', 'Robot'],
  ['🎩', 'Hat'], ['👓', 'Glasses'], ['🔧', 'Spanner'], ['🎅', 'Santa'], ['👍', 'Thumbs Up'], ['☂️', 'Umbrella'], ['⌛', 'Hourglass'], ['⏰', 'Clock'],
  ['🎁', 'Gift'], ['💡', 'Light Bulb'], ['📕', 'Book'], ['✏️', 'Pencil'], ['📎', 'Paperclip'], ['✂️', 'Scissors'], ['🔒', 'Lock'], ['🔑', 'Key'],
  ['🔨', 'Hammer'], ['☎️', 'Telephone'], ['🏁', 'Flag'], ['🚂', 'Train'], ['🚲', 'Bicycle'], ['✈️', 'Aeroplane'], ['🚀', 'Rocket'], ['🏆', 'Trophy'],
  ['⚽', 'Ball'], ['🎸', 'Guitar'], ['🎺', 'Trumpet'], ['🔔', 'Bell'], ['⚓', 'Anchor'], ['🎧', 'Headphones'], ['📁', 'Folder'], ['📌', 'Pin'],
];

export const EMOJI_COUNT = 5;
/** A label suffix is one group of the safety code; more groups only when look-alikes share the first. */
const SUFFIX_DIGITS = 5;
/** The digits use bytes 0–29 of the fingerprint hash; the emoji take the next 30 bits. */
const EMOJI_OFFSET_BYTES = 30;

export interface Emoji {
  symbol: string;
  name: string;
}

/**
 * Five emoji (30 bits) from the same iterated fingerprint hash as the digits.
 * A quick check only: about 2^30 tries find a key with the same five, within
 * reach of one GPU, so verifying is comparing the digits (or scanning their QR).
 */
export function emojiCode(hash: Uint8Array): Emoji[] {
  let bits = 0;
  for (let i = 0; i < 4; i++) bits = bits * 256 + (hash[EMOJI_OFFSET_BYTES + i] ?? 0);
  const out: Emoji[] = [];
  for (let i = 0; i < EMOJI_COUNT; i++) {
    // Top 30 of the 32 bits, six at a time; arithmetic, since 32 bits overflow signed shifts.
    const index = Math.floor(bits / 2 ** (26 - 6 * i)) % 64;
    const [symbol, name] = SAS_EMOJI[index] ?? ['?', '?'];
    out.push({ symbol, name });
  }
  return out;
}

/** 30 digits as six groups of five, as Signal shows them. */
export const groupDigits = (digits: string): string => digits.match(/.{1,5}/g)?.join(' ') ?? digits;

export interface RosterDiff {
  /** In their list, not in mine. */
  plus: string[];
  /** In my list, not in theirs. */
  minus: string[];
}

export function diffRosters(mine: readonly string[], theirs: readonly string[]): RosterDiff {
  const a = new Set(mine);
  const b = new Set(theirs);
  return { plus: theirs.filter((fp) => !a.has(fp)), minus: mine.filter((fp) => !b.has(fp)) };
}

export const isSameRoster = (d: RosterDiff): boolean => d.plus.length === 0 && d.minus.length === 0;

/** What a label's "#12345" is and is not, wherever a suffixed label is shown. */
export const LABEL_SUFFIX_NOTE =
  'The # number only tells apart members whose names look alike. It is not proof of who they are: compare the full safety code.';

/**
 * Display labels: names that look alike (equal skeletons, names.ts: "Alice",
 * "Аlice" with a Cyrillic А, "ALICE") each get the first group of their
 * safety code (or of their fingerprint while the code is computed), longer
 * where five digits are not enough to tell them apart. The suffix only tells
 * look-alikes apart on screen: anyone can make a key whose code starts with
 * chosen digits in minutes, so it is never proof of who someone is.
 */
export function displayLabels(members: readonly { fp: string; name: string; digits: string | null }[]): Map<string, string> {
  const bySkeleton = new Map<string, { fp: string; id: string }[]>();
  for (const m of members) {
    const key = nameSkeleton(m.name);
    const alike = bySkeleton.get(key) ?? [];
    alike.push({ fp: m.fp, id: m.digits ?? m.fp });
    bySkeleton.set(key, alike);
  }
  return new Map(members.map((m) => {
    const alike = bySkeleton.get(nameSkeleton(m.name)) ?? [];
    if (alike.length < 2) return [m.fp, m.name];
    const id = m.digits ?? m.fp;
    const rivals = alike.filter((r) => r.fp !== m.fp).map((r) => r.id);
    let n = SUFFIX_DIGITS;
    while (n < id.length && rivals.some((r) => r.slice(0, n) === id.slice(0, n))) n += SUFFIX_DIGITS;
    return [m.fp, `${m.name} #${id.slice(0, n)}`];
  }));
}
