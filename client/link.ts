/**
 * The room link in the browser: read from the fragment (PROTOCOL.md §1),
 * then kept out of the address bar.
 */
import { parseSecretFragment, toB64u } from './protocol';
import { newRoomSecret, randomBytes } from './crypto';

/** The link: the secret from the fragment, or a fresh one for a new room. */
export interface Link {
  secret: Uint8Array;
  url: string;
}

/** Where a reload finds the room once the fragment has left the address bar: this tab's history entry. */
const STATE_KEY = 'hushRoom';
/** This tab's token there: it names the key the tab keeps across a reload (tab-keys.ts). */
const TAB_KEY = 'hushTab';

function inHistory(key: string): string | null {
  const state: unknown = history.state;
  if (typeof state !== 'object' || state === null) return null;
  const value: unknown = (state as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : null;
}

const secretInHistory = (): string | null => inHistory(STATE_KEY);

/** The tab's entry: its room's secret and its token (kept across reloads, made on first use). */
function writeHistory(secretText: string): void {
  history.replaceState({ [STATE_KEY]: secretText, [TAB_KEY]: inHistory(TAB_KEY) ?? toB64u(randomBytes(16)) }, '', location.pathname + location.search);
}

/** This tab's token (after readOrCreateLink). */
export const tabToken = (): string => inHistory(TAB_KEY) ?? '';

/**
 * Reads the secret from the fragment (after a reload, from this tab's history
 * entry), then takes it out of the address bar, so it stays out of browser
 * history, synced tabs and screen shares; the invite still gives the full
 * link. With neither, makes a new room.
 */
export function readOrCreateLink(): Link | Error {
  const fragment = location.hash.length > 1 ? location.hash : `#${secretInHistory() ?? newRoomSecret()}`;
  const secret = parseSecretFragment(fragment);
  if (secret instanceof Error) return secret;
  const text = toB64u(secret);
  writeHistory(text);
  return { secret, url: `${location.origin}/#${text}` };
}

export const hasWebCrypto = (): boolean => globalThis.isSecureContext && globalThis.crypto?.subtle !== undefined;

/**
 * The room moved to a new link secret (a member was removed): this tab's
 * history entry and the invite follow it, so a reload stays in the new room.
 */
export function replaceLink(secretText: string): string {
  writeHistory(secretText);
  return `${location.origin}/#${secretText}`;
}
