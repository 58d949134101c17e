/**
 * Splits message text into text and web links. Only http(s) URLs become
 * links; everything else, markup included, stays text for Preact to render
 * as text nodes.
 */

export type Part = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

const URL_CANDIDATE = /\bhttps?:\/\/[^\s<>"]+/gi;
/** Punctuation that usually ends the sentence around a link rather than the link itself. */
const TRAILING = new Set(['.', ',', ':', ';', '!', '?', "'", '’', '”', '»', '*', '_']);

const OPENER: Record<string, string> = { ')': '(', ']': '[' };

/**
 * Drops trailing punctuation, and a closing bracket the link did not open
 * ("(see https://x.org/a)"). Brackets are counted once and the counts kept
 * as characters come off, so the cost is linear: a recount per character
 * let one message of 4,000 ")" freeze every receiver's page (issue #13).
 */
function trimEnd(url: string): string {
  const open = new Map<string, number>();
  const close = new Map<string, number>();
  for (const char of url) {
    if (char in OPENER) close.set(char, (close.get(char) ?? 0) + 1);
    else if (char === '(' || char === '[') open.set(char, (open.get(char) ?? 0) + 1);
  }
  let end = url.length;
  while (end > 0) {
    const last = url[end - 1] ?? '';
    const opener = OPENER[last];
    if (opener !== undefined && (open.get(opener) ?? 0) < (close.get(last) ?? 0)) close.set(last, (close.get(last) ?? 0) - 1);
    else if (!TRAILING.has(last)) break;
    end -= 1;
  }
  return url.slice(0, end);
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
