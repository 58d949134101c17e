import { useEffect, useRef, useState } from 'preact/hooks';

const REFRESH_MS = 2000;

/** Indents the server's JSON for reading; the content is unchanged. */
function indent(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/**
 * This room's audit log, exactly as the server returns it. Only a current
 * member may read it, so every load asks for a freshly signed URL; the last
 * one is offered as a link, for reading the raw log in a tab.
 */
export function ServerView({ logsUrl, version }: { logsUrl: () => Promise<string | null>; version: number }) {
  const [isOpen, setOpen] = useState(false);
  const [text, setText] = useState('');
  const [rawUrl, setRawUrl] = useState<string | null>(null);
  // The handle's callbacks are new on every render (each second): read the latest without restarting the timer.
  const signer = useRef(logsUrl);
  signer.current = logsUrl;
  useEffect(() => {
    if (!isOpen) return;
    let isCurrent = true;
    const load = async () => {
      try {
        const url = await signer.current();
        if (url === null) return;
        const body = await (await fetch(url, { cache: 'no-store' })).text();
        if (isCurrent) {
          setRawUrl(url);
          setText(indent(body));
        }
      } catch {
        if (isCurrent) setText('(could not load the server log)');
      }
    };
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => { isCurrent = false; clearInterval(timer); };
  }, [isOpen, version]);
  return (
    <details class="server-view" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Server view</summary>
      <p class="hint">What the server holds for this room: ciphertext, public keys, sizes and times. No names, no messages, no keys that decrypt them. Only the room's current members can read it.</p>
      {rawUrl !== null && <p class="hint"><a href={rawUrl} target="_blank" rel="noreferrer">Raw log (link valid 30 s)</a></p>}
      <pre aria-label="Server log">{text}</pre>
    </details>
  );
}
