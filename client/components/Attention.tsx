import { useEffect, useRef, useState } from 'preact/hooks';
import type { TimelineEntry as Entry } from '../room';
import { KNOCK_NOTIFICATION_TITLE, arrivals, notificationOf, titleWithKnocks, titleWithUnread } from '../attention';

const BASE_TITLE = document.title;
/** Absent on iOS Safari (outside home-screen apps) and in some embedded browsers. */
const isSupported = typeof Notification === 'function';

type Permission = NotificationPermission | 'unsupported';

function requestPermission(): Promise<NotificationPermission> {
  // Older Safari only takes a callback; the others return a promise.
  return new Promise((resolve) => {
    const result = Notification.requestPermission(resolve) as Promise<NotificationPermission> | undefined;
    void result?.then(resolve);
  });
}

/**
 * While the tab is hidden: the unread count in the title and, once asked
 * for by a click, desktop notifications that say only "New message in Hush"
 * unless the person chose to show the text.
 */
export function Attention({ entries, labels, waiting = 0 }: { entries: Entry[]; labels: Map<string, string>; waiting?: number }) {
  // Read once: Notification.permission asks the browser each time (in Chromium a few ms), and this renders with every frame.
  const [permission, setPermission] = useState<Permission>(() => (isSupported ? Notification.permission : 'unsupported'));
  const [isOn, setOn] = useState(false);
  const [isTextShown, setTextShown] = useState(false);
  const [unread, setUnread] = useState(0);
  const shown = useRef<ReadonlySet<string> | null>(null);

  useEffect(() => {
    const fresh = shown.current === null ? [] : arrivals(entries, shown.current);
    shown.current = new Set(entries.map((e) => e.key));
    const theirs = fresh.filter((e) => e.kind === 'message' && !e.isOwn);
    const last = theirs.at(-1);
    if (last?.kind !== 'message') return;
    if (document.visibilityState === 'hidden') setUnread((n) => n + theirs.length);
    if (!isOn || permission !== 'granted' || (document.visibilityState === 'visible' && document.hasFocus())) return;
    const { title, body } = notificationOf(labels.get(last.senderFp) ?? last.senderName, last.body, isTextShown);
    try {
      // One notification at a time (same tag): the newest replaces the last.
      const note = new Notification(title, { body, tag: 'hush', icon: '/favicon.svg' });
      note.onclick = () => { focus(); note.close(); };
    } catch {
      // Chrome on Android only shows notifications from a service worker, which Hush does not have.
      setPermission('unsupported');
    }
  }, [entries]);

  useEffect(() => {
    document.title = titleWithKnocks(titleWithUnread(BASE_TITLE, unread), waiting);
  }, [unread, waiting]);

  // A new knock: a notification (if turned on) even while the tab is in view but not focused. No sound.
  const knocks = useRef(0);
  useEffect(() => {
    const isMore = waiting > knocks.current;
    knocks.current = waiting;
    if (!isMore || !isOn || permission !== 'granted' || (document.visibilityState === 'visible' && document.hasFocus())) return;
    try {
      const note = new Notification(KNOCK_NOTIFICATION_TITLE, { body: '', tag: 'hush-knock', icon: '/favicon.svg' });
      note.onclick = () => { focus(); note.close(); };
    } catch {
      setPermission('unsupported');
    }
  }, [waiting]);

  useEffect(() => {
    const onVisibility = () => { if (document.visibilityState === 'visible') setUnread(0); };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      document.title = BASE_TITLE;
    };
  }, []);

  if (permission === 'unsupported') return null;
  const toggle = () => {
    if (isOn) return setOn(false);
    void (permission === 'default' ? requestPermission() : Promise.resolve(permission)).then((p) => {
      setPermission(p);
      setOn(p === 'granted');
    });
  };
  return (
    <span class="notify">
      <button type="button" class="quiet" aria-pressed={isOn} onClick={toggle}>{isOn ? 'Notifying' : 'Notify me'}</button>
      {isOn && (
        <label class="hint">
          <input type="checkbox" aria-label="Show text in notifications" checked={isTextShown} onChange={(e) => setTextShown(e.currentTarget.checked)} />show text
        </label>
      )}
      {permission === 'denied' && <span class="hint" role="status" title="Allow notifications for this site in the browser’s settings">Blocked by the browser</span>}
    </span>
  );
}
