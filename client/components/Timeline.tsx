import { Component, type VNode } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { noticeText } from '../room';
import type { Member, TimelineEntry as Entry } from '../room';
import type { Trust } from '../roster';
import { actionOf } from '../commands';
import { linkify } from '../linkify';
import { arrivals } from '../attention';
import { Time } from './Time';
import { LABEL_SUFFIX_NOTE } from '../verify';
import { FileCard } from './FileCard';
import { cutIntoChunks, type Chunk } from '../timeline-chunks';

/** Within this distance of the end, the reader counts as "at the bottom" and new entries scroll into view. */
const BOTTOM_SLACK_PX = 48;
/** A message this soon after the previous one from the same sender joins its group (no repeated name line). */
const GROUP_MS = 5 * 60_000;

/** What the timeline says of a message's sender, so a look-alike's message never reads like a verified member's. */
type SenderTrust = Trust | 'self' | 'left';

const TRUST_BADGE: Record<Exclude<SenderTrust, 'self'>, { text: string; title: string }> = {
  verified: { text: '✓ verified', title: 'You compared this member’s safety code' },
  unverified: { text: 'not verified', title: 'You have not compared this member’s safety code' },
  changed: { text: '⚠ new key', title: 'This name came back with a new key: compare the code again' },
  left: { text: 'left', title: 'The key that sent this is no longer in the room' },
};

function TrustBadge({ trust }: { trust: SenderTrust }) {
  if (trust === 'self') return null;
  const badge = TRUST_BADGE[trust];
  return <span class={`trust ${trust}`} title={badge.title}>{badge.text}</span>;
}

/** Message text with http(s) links; everything else is a text node (never HTML). Split once per text. */
function Linked({ text }: { text: string }) {
  const parts = useMemo(() => linkify(text), [text]);
  return <>{parts.map((p) => (p.kind === 'text' ? p.text : <a href={p.href} title={p.href} target="_blank" rel="noopener noreferrer">{p.text}</a>))}</>;
}

type MessageEntry = Extract<Entry, { kind: 'message' }>;

const isGroupedWith = (e: MessageEntry, prev: Entry | undefined): boolean =>
  prev?.kind === 'message' && prev.senderFp === e.senderFp && e.ts - prev.ts < GROUP_MS && actionOf(prev.body) === null;

interface ItemProps {
  entry: Entry;
  /** The sender's label (messages) or the notice's words with labels filled in (notices). */
  text: string;
  trust: SenderTrust;
  /** Set when the label carries a look-alike suffix: says what the suffix is not. */
  labelNote: string;
  isGrouped: boolean;
  canVerify: boolean;
  onShowMember: (fp: string) => void;
}

function Message({ entry: e, text: label, trust, labelNote, isGrouped }: ItemProps & { entry: MessageEntry }) {
  const action = actionOf(e.body);
  const state = `${e.isOwn ? ' own' : ''}${e.isPending ? ' pending' : ''}${action === null ? (isGrouped ? ' grouped' : '') : ' action'}`;
  const unconfirmed = e.isUnconfirmed === true && <span class="unconfirmed"> · not confirmed, may not have been delivered</span>;
  const title = labelNote === '' ? undefined : labelNote;
  return action === null ? (
    <li class={`message${state}`}>
      <span class="sender" title={title}>{label}</span>
      <TrustBadge trust={trust} />
      <Time ts={e.ts} />{unconfirmed}
      <p class="body"><Linked text={e.body} /></p>
    </li>
  ) : (
    <li class={`message${state}`}>
      <span class="sender" title={title}>* {label}</span> <span class="body"><Linked text={action} /></span> <Time ts={e.ts} /> <TrustBadge trust={trust} />{unconfirmed}
    </li>
  );
}

/** A file offer: the sender's line as for a message, with the file's card in place of the body. */
function FileItem({ entry: e, text: label, trust, labelNote }: ItemProps & { entry: Extract<Entry, { kind: 'file' }> }) {
  return (
    <li class={`message file${e.isOwn ? ' own' : ''}${e.isPending ? ' pending' : ''}`}>
      <span class="sender" title={labelNote === '' ? undefined : labelNote}>{label}</span>
      <Time ts={e.ts} />
      <FileCard transfer={e.transfer}><TrustBadge trust={trust} /></FileCard>
    </li>
  );
}

function ItemView(props: ItemProps) {
  const e = props.entry;
  if (e.kind === 'message') return <Message {...props} entry={e} />;
  if (e.kind === 'file') return <FileItem {...props} entry={e} />;
  return (
    <li class={`notice ${e.tone}`}>
      {props.text}
      {props.canVerify && e.who !== undefined && (
        <button type="button" class="small quiet" onClick={() => props.onShowMember(e.who?.fp ?? '')}>Compare codes</button>
      )}
    </li>
  );
}

/**
 * One timeline entry. It renders again only when what it shows changed (the
 * room re-renders every second, with up to 1,000 entries), and it fails
 * alone: an entry whose rendering throws becomes a one-line notice instead
 * of taking the page down (issue #13: one bad timestamp stopped every page).
 */
class Item extends Component<ItemProps, { hasFailed: boolean }> {
  static override getDerivedStateFromError(): { hasFailed: boolean } {
    return { hasFailed: true };
  }

  override state = { hasFailed: false };

  override shouldComponentUpdate(next: ItemProps, state: { hasFailed: boolean }): boolean {
    return state.hasFailed !== this.state.hasFailed || (Object.keys(next) as (keyof ItemProps)[]).some((k) => next[k] !== this.props[k]);
  }

  override render() {
    return this.state.hasFailed ? <li class="notice warning">This entry could not be shown.</li> : <ItemView {...this.props} />;
  }
}

/** A run of entries' elements, straight into the list (no element of its own). */
function Run({ nodes }: { nodes: readonly VNode[] }) {
  return <>{nodes}</>;
}

/** An entry's element as the last build of the list made it, with what it was made from. */
interface Built {
  entry: Entry;
  prev: Entry | undefined;
  node: VNode;
}

/**
 * What of the members an entry can show (label, name, trust, self), as one
 * string: the room hands over a new member list with every change (every
 * second, too), but the entries need building again only when this changed.
 */
const membersShownKey = (members: readonly Member[]): string =>
  members.map((m) => `${m.fp} ${m.trust} ${m.isSelf ? 1 : 0} ${m.label.length} ${m.label} ${m.name.length} ${m.name}`).join('\n');

/**
 * The conversation. It follows new entries while the reader is at the end; a
 * reader who scrolled up stays put and gets an "N new" button instead.
 * `members`: who is here now, for labels (shared names stay apart) and trust.
 * `onShowMember` should keep its identity across renders, or every entry renders again.
 * The list of entries is built only when the entries or what they show of the
 * members changed; otherwise the same elements are handed to Preact, which
 * then leaves the whole list alone (a message arriving renders one new entry,
 * a tick of the room's clock renders none).
 */
export function Timeline({ entries, members, onShowMember }: { entries: Entry[]; members: readonly Member[]; onShowMember: (fp: string) => void }) {
  const list = useRef<HTMLDivElement>(null);
  const isAtEnd = useRef(true);
  const shown = useRef<ReadonlySet<string>>(new Set());
  const [unseen, setUnseen] = useState(0);
  const shownOfMembers = membersShownKey(members);
  // Keyed on what is shown of the members, not on the list's identity (see membersShownKey).
  const senders = useMemo(() => new Map(members.map((m) => [m.fp, m])), [shownOfMembers]);
  const labels = useMemo(() => new Map(members.map((m) => [m.fp, m.label])), [shownOfMembers]);
  const frame = useRef(0);
  // The scroll waits for the next frame, whose layout happens anyway: reading
  // scrollHeight at once would force a layout for every entry as it arrives
  // (entries arriving within one frame cost one layout). A reader who
  // scrolls away before that frame stays where they went.
  const toEnd = () => {
    isAtEnd.current = true;
    setUnseen(0);
    if (frame.current !== 0) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const el = list.current;
      if (el !== null && isAtEnd.current) el.scrollTop = el.scrollHeight;
    });
  };
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

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

  const itemProps = (e: Entry, prev: Entry | undefined, labels: ReadonlyMap<string, string>, senders: ReadonlyMap<string, Member>): ItemProps => {
    if (e.kind === 'notice') {
      const canVerify = e.canVerify === true && e.who !== undefined && labels.has(e.who.fp);
      return { entry: e, text: noticeText(e, labels), trust: 'self', labelNote: '', isGrouped: false, canVerify, onShowMember };
    }
    const sender = senders.get(e.senderFp);
    return {
      entry: e,
      text: sender?.label ?? e.senderName,
      trust: e.isOwn || sender?.isSelf === true ? 'self' : sender === undefined ? 'left' : sender.trust,
      labelNote: sender !== undefined && sender.label !== sender.name ? LABEL_SUFFIX_NOTE : '',
      isGrouped: e.kind === 'message' && isGroupedWith(e, prev),
      canVerify: false,
      onShowMember,
    };
  };

  // An entry whose object, previous entry and members' view are the ones of the last build
  // keeps its element from then, and Preact skips an element it has seen by identity. The
  // elements go to Preact in chunks (timeline-chunks.ts): an unchanged chunk is the same
  // element again, so a new message costs Preact a look per chunk and the last chunk's
  // entries, not a look per entry on screen.
  const built = useRef<{ labels: unknown; senders: unknown; onShowMember: unknown; byKey: Map<string, Built>; chunks: Chunk<VNode>[]; shownChunks: Map<Chunk<VNode>, VNode>; lastId: number }>({
    labels: null, senders: null, onShowMember: null, byKey: new Map(), chunks: [], shownChunks: new Map(), lastId: 0,
  });
  const items = useMemo(() => {
    const last = built.current;
    const isSameView = last.labels === labels && last.senders === senders && last.onShowMember === onShowMember;
    const byKey = new Map<string, Built>();
    const keys: string[] = [];
    const nodes = entries.map((e, i) => {
      const prev = entries[i - 1];
      const old = isSameView ? last.byKey.get(e.key) : undefined;
      const node = old !== undefined && old.entry === e && old.prev === prev ? old.node : <Item key={e.key} {...itemProps(e, prev, labels, senders)} />;
      byKey.set(e.key, { entry: e, prev, node });
      keys.push(e.key);
      return node;
    });
    let lastId = last.lastId;
    const chunks = cutIntoChunks(keys, nodes, last.chunks, () => ++lastId);
    const shownChunks = new Map(chunks.map((c) => [c, last.shownChunks.get(c) ?? <Run key={c.id} nodes={c.nodes} />]));
    built.current = { labels, senders, onShowMember, byKey, chunks, shownChunks, lastId };
    return [...shownChunks.values()];
  }, [entries, labels, senders, onShowMember]);

  return (
    <div class="timeline-wrap">
      {/* The log is the scroller around the list: role="log" on the <ol> itself would hide its list semantics. */}
      <div
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
        <ol>{items}</ol>
      </div>
      {unseen > 0 && (
        <button type="button" class="new-below small" onClick={toEnd}>{unseen} new<span aria-hidden="true"> ↓</span></button>
      )}
    </div>
  );
}
