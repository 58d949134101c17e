/**
 * The room link in the browser: read from the fragment (PROTOCOL.md §1),
 * then kept out of the address bar.
 */
import { parseSecretFragment, toB64u } from './protocol';
import { newRoomSecret } from './crypto';

/** The link: the secret from the fragment, or a fresh one for a new room. */
export interface Link {
  secret: Uint8Array;
  url: string;
}

/** Where a reload finds the room once the fragment has left the address bar: this tab's history entry. */
const STATE_KEY = 'hushRoom';

function secretInHistory(): string | null {
  const state: unknown = history.state;
  return typeof state === 'object' && state !== null && STATE_KEY in state && typeof state[STATE_KEY] === 'string' ? state[STATE_KEY] : null;
}

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
  history.replaceState({ [STATE_KEY]: text }, '', location.pathname + location.search);
  return { secret, url: `${location.origin}/#${text}` };
}

export const hasWebCrypto = (): boolean => globalThis.isSecureContext && globalThis.crypto?.subtle !== undefined;

/**
 * The room moved to a new link secret (a member was removed): this tab's
 * history entry and the invite follow it, so a reload stays in the new room.
 */
export function replaceLink(secretText: string): string {
  history.replaceState({ [STATE_KEY]: secretText }, '', location.pathname + location.search);
  return `${location.origin}/#${secretText}`;
}
