import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { noticeText } from '../room';
import type { TimelineEntry as Entry } from '../room';
import { actionOf } from '../commands';
import { linkify } from '../linkify';
import { arrivals } from '../attention';

/** Within this distance of the end, the reader counts as "at the bottom" and new entries scroll into view. */
const BOTTOM_SLACK_PX = 48;
/** A message this soon after the previous one from the same sender joins its group (no repeated name line). */
const GROUP_MS = 5 * 60_000;

const timeOf = (ts: number): string => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** Message text with http(s) links; everything else is a text node (never HTML). */
function Linked({ text }: { text: string }) {
  return <>{linkify(text).map((p) => (p.kind === 'text' ? p.text : <a href={p.href} title={p.href} target="_blank" rel="noopener noreferrer">{p.text}</a>))}</>;
}

function Time({ ts }: { ts: number }) {
  const date = new Date(ts);
  return <time dateTime={date.toISOString()} title={date.toLocaleString()}>{timeOf(ts)}</time>;
}

type MessageEntry = Extract<Entry, { kind: 'message' }>;

const isGrouped = (e: MessageEntry, prev: Entry | undefined): boolean =>
  prev?.kind === 'message' && prev.senderFp === e.senderFp && e.ts - prev.ts < GROUP_MS && actionOf(prev.body) === null;

function Message({ entry: e, label, isGrouped }: { entry: MessageEntry; label: string; isGrouped: boolean }) {
  const action = actionOf(e.body);
  const state = `${e.isOwn ? ' own' : ''}${e.isPending ? ' pending' : ''}${action === null ? (isGrouped ? ' grouped' : '') : ' action'}`;
  const unconfirmed = e.isUnconfirmed === true && <span class="unconfirmed"> · not confirmed, may not have been delivered</span>;
  return action === null ? (
    <li class={`message${state}`}>
      <span class="sender">{label}</span>
      <Time ts={e.ts} />{unconfirmed}
      <p class="body"><Linked text={e.body} /></p>
    </li>
  ) : (
    <li class={`message${state}`}>
      <span class="sender">* {label}</span> <span class="body"><Linked text={action} /></span> <Time ts={e.ts} />{unconfirmed}
    </li>
  );
}

/**
 * The conversation. It follows new entries while the reader is at the end; a
 * reader who scrolled up stays put and gets an "N new" button instead.
 * `labels`: fingerprint → display label of current members, so shared names stay apart.
 */
export function Timeline({ entries, labels, onShowMember }: { entries: Entry[]; labels: Map<string, string>; onShowMember: (fp: string) => void }) {
  const list = useRef<HTMLOListElement>(null);
  const isAtEnd = useRef(true);
  const shown = useRef<ReadonlySet<string>>(new Set());
  const [unseen, setUnseen] = useState(0);
  const toEnd = () => {
    const el = list.current;
    if (el !== null) el.scrollTop = el.scrollHeight;
    isAtEnd.current = true;
    setUnseen(0);
  };

  useLayoutEffect(() => {
    const fresh = arrivals(entries, shown.current);
    shown.current = new Set(entries.map((e) => e.key));
    if (fresh.length === 0) return;
    // What I just sent is always worth seeing.
    if (isAtEnd.current || fresh.some((e) => e.kind === 'message' && e.isOwn)) toEnd();
    else setUnseen((n) => n + fresh.length);
  }, [entries]);

  // A phone keyboard or a resized window shrinks the view: stay at the end if that is where the reader was.
  useEffect(() => {
    const el = list.current;
    if (el === null || typeof ResizeObserver !== 'function') return;
    const observer = new ResizeObserver(() => { if (isAtEnd.current) el.scrollTop = el.scrollHeight; });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  return (
    <div class="timeline-wrap">
      <ol
        ref={list}
        class="timeline"
        role="log"
        aria-live="polite"
        aria-label="Conversation"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          isAtEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK_PX;
          if (isAtEnd.current && unseen > 0) setUnseen(0);
        }}
      >
        {entries.map((e, i) =>
          e.kind === 'message' ? (
            <Message key={e.key} entry={e} label={labels.get(e.senderFp) ?? e.senderName} isGrouped={isGrouped(e, entries[i - 1])} />
          ) : (
            <li key={e.key} class={`notice ${e.tone}`}>
              {noticeText(e, labels)}
              {e.canVerify === true && e.who !== undefined && labels.has(e.who.fp) && (
                <button type="button" class="small quiet" onClick={() => onShowMember(e.who?.fp ?? '')}>Compare codes</button>
              )}
            </li>
          ),
        )}
      </ol>
      {unseen > 0 && (
        <button type="button" class="new-below small" onClick={toEnd}>{unseen} new<span aria-hidden="true"> ↓</span></button>
      )}
    </div>
  );
}
