import { Component, type ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { Member } from '../roster';
import { LABEL_SUFFIX_NOTE, groupDigits } from '../verify';
import { QrCode } from './QrCode';

const TRUST_TEXT = {
  unverified: 'Not verified',
  verified: '✓ Verified by you',
  changed: '⚠ New key — verify again',
} as const;

export const memberElementId = (fp: string): string => `member-${fp}`;

/** What a member who is in may decide about the others (PROTOCOL.md §12); absent while I may not. */
export interface Decisions {
  letIn: (fp: string) => void;
  turnAway: (fp: string) => void;
  remove: (fp: string) => void;
}

const STANDING_TEXT = {
  'waiting': 'Waiting to be let in',
  'turned-away': 'Turned away',
  'removed': 'Removed',
} as const;

interface Props {
  members: Member[];
  onVerify: (fp: string, isVerified: boolean) => void;
  decisions?: Decisions;
  /** On a narrow screen the roster is a panel; this opens it (wide screens always show it). */
  isOpen: boolean;
  children?: ComponentChildren;
}

export function Roster({ members, onVerify, decisions, isOpen, children }: Props) {
  return (
    <aside id="roster" class={`roster${isOpen ? ' open' : ''}`}>
      <h2 id="participants-title">Participants</h2>
      <p class="hint how">
        To verify someone, compare all 30 digits of their safety code (read aloud, or scan the QR of it), then press “I compared
        this code”. The emoji are a quick check only: matching emoji do not prove who it is.
      </p>
      <ul aria-label="Participants">
        {members.map((m) => <Row key={m.fp} member={m} onVerify={onVerify} decisions={decisions} />)}
      </ul>
      {children}
    </aside>
  );
}

interface EntryProps {
  member: Member;
  onVerify: (fp: string, isVerified: boolean) => void;
  decisions: Decisions | undefined;
}

/**
 * A member's row renders again only when its member, or what it may do,
 * changed: the room keeps an unchanged member as the same object, so a
 * message arriving renders no row (issue #19), in a room of 50 as of 2.
 */
class Row extends Component<EntryProps> {
  override shouldComponentUpdate(next: EntryProps): boolean {
    return next.member !== this.props.member || next.onVerify !== this.props.onVerify || next.decisions !== this.props.decisions;
  }

  override render() {
    return <Entry {...this.props} />;
  }
}

function Entry({ member: m, onVerify, decisions }: EntryProps) {
  const [isQrOpen, setQrOpen] = useState(false);
  const [isConfirming, setConfirming] = useState(false);
  const standing = m.standing ?? 'in';
  const [copied, setCopied] = useState(false);
  const digits = m.code === null ? null : groupDigits(m.code.digits);
  const isSuffixed = m.label !== m.name;
  return (
    <li id={memberElementId(m.fp)} tabIndex={-1} data-fp={m.fp} data-trust={m.isSelf ? 'self' : m.trust} data-standing={standing} class={`member ${m.trust} ${standing}`}>
      <span class="who">
        <span class="name" title={isSuffixed ? LABEL_SUFFIX_NOTE : undefined}>{m.label}</span>
        {m.isSelf && <span class="you"> (you)</span>}
      </span>
      {standing !== 'in' && <span class="standing">{STANDING_TEXT[standing]}</span>}
      {isSuffixed && <span class="hint look-alike">Name looks like another member’s: the # number only tells them apart, it is not a check.</span>}
      {m.code === null ? (
        <span class="code pending">computing safety code…</span>
      ) : (
        <>
          <span class="code" aria-label={`Safety code of ${m.label}`}>
            {/* Two lines of three groups: easier to read aloud and to compare. */}
            <span>{digits?.slice(0, 17)}</span> <span>{digits?.slice(18)}</span>
          </span>
          {/* 30 bits: a key with the same five emoji takes about 2^30 tries, so they are a quick check, never the verification. */}
          <span class="emoji" role="img" aria-label={`Emoji quick check: ${m.code.emoji.map((e) => e.name).join(', ')}`}>
            <span class="quick" aria-hidden="true">quick check</span>
            {m.code.emoji.map((e) => (
              <span key={e.name} class="e" aria-hidden="true"><span class="sym">{e.symbol}</span><span class="nm">{e.name}</span></span>
            ))}
          </span>
        </>
      )}
      {m.isSelf ? (
        <span class="actions">
          <span class="state">Your code: read it aloud to the others</span>
          {digits !== null && (
            <>
              <button type="button" class="small" onClick={() => (navigator.clipboard?.writeText(digits) ?? Promise.reject(new Error('no clipboard'))).then(() => setCopied(true), () => setCopied(false))}>
                {copied ? 'Copied' : 'Copy my code'}
              </button>
              <button type="button" class="small" aria-expanded={isQrOpen} onClick={() => setQrOpen(!isQrOpen)}>QR</button>
            </>
          )}
          {isQrOpen && digits !== null && <QrCode text={digits} label="QR code of your safety code" />}
        </span>
      ) : (
        <span class="actions">
          <span class="state">{TRUST_TEXT[m.trust]}</span>
          {m.code !== null && (m.trust === 'verified' ? (
            <button type="button" class="small quiet" onClick={() => onVerify(m.fp, false)}>Unmark</button>
          ) : (
            <button type="button" class="small" onClick={() => onVerify(m.fp, true)} aria-label={`I compared the code of ${m.label}`} title="All 30 digits match what they read out or show in their QR">I compared this code</button>
          ))}
          {decisions !== undefined && standing === 'waiting' && (
            <>
              <button type="button" class="small" onClick={() => decisions.letIn(m.fp)}>Let {m.label} in</button>
              <button type="button" class="small quiet" onClick={() => decisions.turnAway(m.fp)}>Turn {m.label} away</button>
            </>
          )}
          {decisions !== undefined && standing === 'in' && !isConfirming && (
            <button type="button" class="small quiet" onClick={() => setConfirming(true)}>Remove {m.label}</button>
          )}
          {decisions !== undefined && standing === 'in' && isConfirming && (
            <span class="confirm" role="group" aria-label={`Remove ${m.label}?`}>
              <span class="hint">They stop reading at once; everyone else moves to a new link.</span>
              <button type="button" class="small danger" onClick={() => { setConfirming(false); decisions.remove(m.fp); }}>Yes, remove {m.label}</button>
              <button type="button" class="small quiet" onClick={() => setConfirming(false)}>Cancel</button>
            </span>
          )}
        </span>
      )}
    </li>
  );
}
