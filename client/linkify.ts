/**
 * Splits message text into text and web links. Only http(s) URLs become
 * links; everything else, markup included, stays text for Preact to render
 * as text nodes.
 */

export type Part = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

const URL_CANDIDATE = /\bhttps?:\/\/[^\s<>"]+/gi;
/** Punctuation that usually ends the sentence around a link rather than the link itself. */
const TRAILING = /[.,:;!?'’”»*_]$/;

const OPENER: Record<string, string> = { ')': '(', ']': '[' };
const count = (text: string, char: string): number => text.split(char).length - 1;

/** Drops trailing punctuation, and a closing bracket the link did not open ("(see https://x.org/a)"). */
function trimEnd(url: string): string {
  let out = url;
  for (;;) {
    const last = out.at(-1) ?? '';
    const opener = OPENER[last];
    if ((opener !== undefined && count(out, opener) < count(out, last)) || TRAILING.test(out)) out = out.slice(0, -1);
    else return out;
  }
}

function hrefOf(text: string): string | null {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '' ? url.href : null;
  } catch {
    return null;
  }
}

export function linkify(text: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_CANDIDATE)) {
    const start = match.index;
    const candidate = trimEnd(match[0]);
    const href = hrefOf(candidate);
    if (href === null) continue;
    if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) });
    parts.push({ kind: 'link', text: candidate, href });
    last = start + candidate.length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}
