import { useEffect, useState } from 'preact/hooks';

const REFRESH_MS = 2000;

/** Indents the server's JSON for reading; the content is unchanged. */
function indent(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** This room's audit log, exactly as the server returns it from /logs/<roomId>. */
export function ServerView({ roomId, version }: { roomId: string; version: number }) {
  const [isOpen, setOpen] = useState(false);
  const [text, setText] = useState('');
  useEffect(() => {
    if (!isOpen) return;
    let isCurrent = true;
    const load = () =>
      fetch(`/logs/${roomId}`, { cache: 'no-store' })
        .then((r) => r.text())
        .then((t) => { if (isCurrent) setText(indent(t)); }, () => { if (isCurrent) setText('(could not load the server log)'); });
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => { isCurrent = false; clearInterval(timer); };
  }, [isOpen, roomId, version]);
  return (
    <details class="server-view" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Server view</summary>
      <p class="hint">What the server holds for this room: ciphertext, public keys, sizes and times. No names, no messages, no keys that decrypt them.</p>
      <pre aria-label="Server log">{text}</pre>
    </details>
  );
}
