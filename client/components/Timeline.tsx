import { useEffect, useRef } from 'preact/hooks';
import type { TimelineEntry } from '../room';

const timeOf = (ts: number): string => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export function Timeline({ entries }: { entries: TimelineEntry[] }) {
  const end = useRef<HTMLLIElement>(null);
  useEffect(() => end.current?.scrollIntoView({ block: 'end' }), [entries.length]);
  return (
    <ol class="timeline" role="log" aria-live="polite" aria-label="Conversation">
      {entries.map((e) =>
        e.kind === 'message' ? (
          <li key={e.key} class={`message${e.isOwn ? ' own' : ''}${e.isPending ? ' pending' : ''}`}>
            <span class="sender">{e.senderName}</span>
            <time dateTime={new Date(e.ts).toISOString()}>{timeOf(e.ts)}</time>
            <p class="body">{e.body}</p>
          </li>
        ) : (
          <li key={e.key} class={`notice ${e.tone}`}>{e.text}</li>
        ),
      )}
      <li ref={end} class="end" aria-hidden="true" />
    </ol>
  );
}
