/**
 * Telling a person who is looking elsewhere that something arrived: new
 * timeline entries, the unread count in the title, and what a desktop
 * notification may say. Pure; components/Attention.tsx applies it.
 */
import { actionOf } from './commands';

/** Entries whose keys were not on screen before (new ones, in order). */
export function arrivals<T extends { key: string }>(entries: readonly T[], before: ReadonlySet<string>): T[] {
  return entries.filter((e) => !before.has(e.key));
}

export const titleWithUnread = (base: string, unread: number): string => (unread > 0 ? `(${unread}) ${base}` : base);

/** Someone asking to join shows in the title first, whether the tab is in view or not: they wait on us. */
export const titleWithKnocks = (title: string, waiting: number): string => (waiting > 0 ? `${waiting === 1 ? '1 asking to join' : `${waiting} asking to join`} · ${title}` : title);

export const KNOCK_NOTIFICATION_TITLE = 'Someone is asking to join your Hush room';

export const NOTIFICATION_TITLE = 'New message in Hush';

/** A notification never carries message text unless the person turned that on. */
export function notificationOf(sender: string, body: string, isTextShown: boolean): { title: string; body: string } {
  if (!isTextShown) return { title: NOTIFICATION_TITLE, body: '' };
  const action = actionOf(body);
  return action === null ? { title: sender, body } : { title: NOTIFICATION_TITLE, body: `* ${sender} ${action}` };
}
