import { useEffect, useRef } from 'preact/hooks';
import { noticeText, type TimelineEntry } from '../room';
import { memberElementId } from './Roster';

const timeOf = (ts: number): string => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** `labels`: fingerprint → display label of current members, so shared names stay apart. */
export function Timeline({ entries, labels }: { entries: TimelineEntry[]; labels: Map<string, string> }) {
  const end = useRef<HTMLLIElement>(null);
  useEffect(() => end.current?.scrollIntoView({ block: 'end' }), [entries.length]);
  return (
    <ol class="timeline" role="log" aria-live="polite" aria-label="Conversation">
      {entries.map((e) =>
        e.kind === 'message' ? (
          <li key={e.key} class={`message${e.isOwn ? ' own' : ''}${e.isPending ? ' pending' : ''}`}>
            <span class="sender">{labels.get(e.senderFp) ?? e.senderName}</span>
            <time dateTime={new Date(e.ts).toISOString()}>{timeOf(e.ts)}</time>
            <p class="body">{e.body}</p>
          </li>
        ) : (
          <li key={e.key} class={`notice ${e.tone}`}>
            {noticeText(e, labels)}
            {e.canVerify === true && e.who !== undefined && labels.has(e.who.fp) && (
              <button type="button" class="small quiet" onClick={() => document.getElementById(memberElementId(e.who?.fp ?? ''))?.focus()}>Compare codes</button>
            )}
          </li>
        ),
      )}
      <li ref={end} class="end" aria-hidden="true" />
    </ol>
  );
}
