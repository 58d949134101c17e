/**
 * What a person does in Hush, in terms of the engine-neutral Tab (driver.ts):
 * join, read the invite link, send, read the roster and the conversation.
 */
import type { Tab } from './driver';

/** The roster as this tab shows it: name → safety code (30 digits), waiting until no code is still being computed. */
export async function codesSeenBy(tab: Tab, count: number): Promise<Record<string, string>> {
  await tab.waitFor(
    (n) => document.querySelectorAll('.roster li.member').length === n && document.querySelector('.roster .code.pending') === null,
    count,
    `${count} members with their codes`,
  );
  return tab.evaluate(() => Object.fromEntries([...document.querySelectorAll('.roster li.member')].map((li) => [
    li.querySelector('.name')?.textContent ?? '',
    (li.querySelector('.code')?.textContent ?? '').replace(/\s+/g, ' ').trim(),
  ])), null);
}

export const rosterCount = (tab: Tab): Promise<number> => tab.evaluate(() => document.querySelectorAll('.roster li.member').length, null);

export const waitForRoster = (tab: Tab, count: number): Promise<void> =>
  tab.waitFor((n) => document.querySelectorAll('.roster li.member').length === n, count, `${count} members in the roster`);

/** Types a name and presses Join; done when the own entry is in the roster. */
export async function join(tab: Tab, name: string): Promise<void> {
  await tab.fill('Your name', name);
  await tab.click('Join');
  await tab.waitFor((n) => [...document.querySelectorAll('.roster li.member .name')].some((el) => el.textContent === n), name, `${name} in the roster`);
}

/** The full room link, as the invite panel shows it (what "Copy link" copies), read without the clipboard. */
export async function inviteLink(tab: Tab): Promise<string> {
  await tab.click('Link QR');
  await tab.waitFor(() => document.querySelector('input[aria-label="Room link"]') !== null, null, 'the room link');
  const link = await tab.evaluate(() => (document.querySelector('input[aria-label="Room link"]') as HTMLInputElement | null)?.value ?? '', null);
  await tab.click('Link QR');
  return link;
}

export async function send(tab: Tab, text: string): Promise<void> {
  await tab.fill('Message', text);
  await tab.click('Send');
}

/** Each delivered message in the conversation as "sender: body" (waits until none is pending). */
export async function messages(tab: Tab, count: number): Promise<string[]> {
  await tab.waitFor(
    (n) => document.querySelectorAll('[role=log] .message').length >= n && document.querySelector('[role=log] .message.pending') === null,
    count,
    `${count} delivered messages`,
  );
  return tab.evaluate(() => [...document.querySelectorAll('[role=log] .message')].map((li) =>
    `${li.querySelector('.sender')?.textContent ?? ''}: ${li.querySelector('.body')?.textContent ?? ''}`), null);
}

/** A safety code as the roster shows it: six groups of five digits. */
export const THIRTY_DIGITS = /^\d{5}( \d{5}){5}$/;
