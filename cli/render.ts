/**
 * How the terminal client shows a room: one line per event, pure functions
 * of the events joinRoom emits (client/join-room.ts). The words of notices
 * and of the agreement line are the page's own; only the layout is ours.
 */
import { actionOf } from '../client/commands';
import { groupDigits } from '../client/verify';
import type { Member, Phase, RoomEvent, Trust } from '../client/join-room';

export const TRUST_MARK: Record<Trust, string> = { verified: '✓', unverified: '?', changed: '⚠' };

/** The roster's words for each state, as the page's roster says them. */
const TRUST_TEXT: Record<Trust, string> = {
  unverified: 'not verified',
  verified: 'verified by you',
  changed: 'new key — verify again',
};

export interface RenderOptions {
  /** Formats a timestamp (epoch ms); local HH:MM unless a test fixes it. */
  time?: (ts: number) => string;
}

const localTime = (ts: number): string => {
  const d = new Date(ts);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

/**
 * Names and bodies come from other members: in a terminal, a control
 * character is a command (an escape sequence can clear the screen or forge a
 * line), so each is shown as a visible symbol instead, the way the page shows
 * markup as text. Bidirectional overrides could reorder what a line seems to
 * say, so they go too.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** `isOneLine`: a name, where a newline or tab is shown as a symbol too. */
export function safeText(text: string, isOneLine = false): string {
  return text.replace(isOneLine ? UNSAFE_IN_NAME : UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    return code === 0x7f ? '␡' : '�';
  });
}

/** A message: a newline inside it starts an indented line, so it can never pass for a message of someone else. */
export function messageLine(e: Extract<RoomEvent, { type: 'message' }>, options: RenderOptions = {}): string {
  const time = (options.time ?? localTime)(e.ts);
  const mark = e.isOwn ? ' ' : TRUST_MARK[e.trust];
  const who = safeText(e.from, true) + (e.isOwn ? ' (you)' : '');
  const action = actionOf(e.body);
  const head = action === null ? `${time} ${mark} ${who}: ${e.body}` : `${time} ${mark} * ${who} ${action}`;
  return continued(head);
}

export function noticeLine(e: Extract<RoomEvent, { type: 'notice' }>, options: RenderOptions = {}): string {
  const time = (options.time ?? localTime)(e.ts);
  return continued(`${time} ${e.tone === 'warning' ? '!!' : '--'} ${e.text}`);
}

export function agreementLine(e: Extract<RoomEvent, { type: 'agreement' }>): string {
  return `${e.isAlarm ? '!!' : '=='} ${safeText(e.text, true)}`;
}

/** One roster row: trust mark, label, the 30 digits in six groups, the emoji, and the trust in words. */
export function memberLine(m: Member, width = m.label.length): string {
  const label = (safeText(m.label, true) + (m.isSelf ? ' (you)' : '')).padEnd(width + (m.isSelf ? 6 : 0));
  const code = m.code === null ? 'computing safety code…' : `${groupDigits(m.code.digits)}  ${m.code.emoji.map((e) => e.symbol).join(' ')}`;
  const state = m.isSelf ? 'your code: read it aloud to the others' : TRUST_TEXT[m.trust];
  return `  ${m.isSelf ? ' ' : TRUST_MARK[m.trust]} ${label}  ${code}  ${state}`;
}

export function rosterLines(members: readonly Member[]): string[] {
  const width = Math.max(0, ...members.map((m) => m.label.length + (m.isSelf ? 6 : 0)));
  const rows = [...members].sort((a, b) => Number(b.isSelf) - Number(a.isSelf)).map((m) => memberLine(m, m.isSelf ? width - 6 : width));
  const n = members.length;
  return [`${n} ${n === 1 ? 'member' : 'members'} (compare codes aloud or in person, then /verify <name>):`, ...rows];
}

/** Connection state for stderr: no names, no room content. */
export function phaseLine(phase: Phase, now = Date.now()): string {
  switch (phase.kind) {
    case 'ready': return 'hush: ready';
    case 'joining': return 'hush: joining…';
    case 'joined': return 'hush: joined';
    case 'reconnecting': return `hush: connection lost (${phase.reason}); retrying in ${Math.max(0, Math.ceil((phase.retryAt - now) / 1000))} s`;
    case 'left': return 'hush: left the room';
    case 'closed': return `hush: closed: ${phase.reason}`;
    case 'ended': return `hush: ${phase.reason}`;
  }
}

/**
 * One event as one JSON line for scripts (`--json`). A member's keys stay
 * out: its fingerprint names it, its code is what people compare.
 */
export function jsonLine(e: RoomEvent): string {
  switch (e.type) {
    case 'roster':
      return JSON.stringify({
        type: 'roster',
        members: e.members.map((m) => ({
          label: m.label,
          name: m.name,
          fp: m.fp,
          isSelf: m.isSelf,
          trust: m.trust,
          code: m.code?.digits ?? null,
          emoji: m.code?.emoji.map((x) => x.name) ?? null,
        })),
      });
    case 'phase': {
      const { kind, ...rest } = e.phase;
      return JSON.stringify({ type: 'phase', phase: kind, ...rest });
    }
    case 'agreement':
      return JSON.stringify({ type: 'agreement', text: e.text, isAlarm: e.isAlarm });
    case 'message':
    case 'notice':
      return JSON.stringify(e);
  }
}

const continued = (text: string): string => safeText(text.replace(/\r\n?/g, '\n')).replace(/\n/g, '\n    ');
