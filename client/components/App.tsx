import { useCallback, useMemo, useState } from 'preact/hooks';
import { hasWebCrypto, readOrCreateLink, useRoom, type Link, type Phase } from '../use-room';
import { JoinForm } from './JoinForm';
import { Roster, memberElementId, type Decisions } from './Roster';
import type { RoomView } from '../room';
import { Timeline } from './Timeline';
import { Composer } from './Composer';
import { ServerView } from './ServerView';
import { CopyLink } from './CopyLink';
import { RoomStatus } from './RoomStatus';
import { SecurityPanel } from './SecurityPanel';
import { Attention } from './Attention';
import { ConnectionBanner } from './ConnectionBanner';
import { MembershipSwitches } from './Membership';
import { memo } from './memo';

// The room's parts around the conversation, rendered again only when what they show changed (a message arriving changes none of them; Participants is below).
const Status = memo(RoomStatus);
const Invite = memo(CopyLink);
const Notify = memo(Attention);
const Switches = memo(MembershipSwitches);
const Blocked = memo(SecurityPanel);
const Banner = memo(ConnectionBanner);
const Write = memo(Composer);
const Log = memo(ServerView);

interface PanelProps {
  members: RoomView['members'];
  onVerify: (fp: string, isVerified: boolean) => void;
  isOpen: boolean;
  decisions: Decisions | undefined;
  membership: RoomView['membership'];
  onSwitch: (which: 'lobby' | 'lock', on: boolean) => void;
  blocked: RoomView['blocked'];
}

/** The member list with the room's switches and blocked counts: one part, so a message arriving (which changes none of its props) skips all of it. */
function RosterPanel({ members, onVerify, isOpen, decisions, membership, onSwitch, blocked }: PanelProps) {
  return (
    <Roster members={members} onVerify={onVerify} isOpen={isOpen} {...(decisions === undefined ? {} : { decisions })}>
      <Switches membership={membership} onSwitch={onSwitch} />
      <Blocked blocked={blocked} />
    </Roster>
  );
}

const Participants = memo(RosterPanel);

export function App() {
  return hasWebCrypto() ? <Linked /> : <InsecureContext />;
}

function Linked() {
  const link = useMemo(readOrCreateLink, []);
  if (link instanceof Error) {
    return (
      <main class="center">
        <h1>Hush</h1>
        <p role="alert">{link.message[0]?.toUpperCase()}{link.message.slice(1)}. Ask for the link again, or start a new room.</p>
        <a class="button" href="/">New room</a>
      </main>
    );
  }
  return <Room link={link} />;
}

function InsecureContext() {
  return (
    <main class="center">
      <h1>Hush</h1>
      <p role="alert">
        Encryption cannot start: {location.origin} is not a secure context, so the browser withholds its
        cryptography (WebCrypto) from this page.
      </p>
      <p>
        Open Hush over https://, or on the computer that runs it at http://localhost. Whoever runs this server can
        set up TLS as described in its README.
      </p>
    </main>
  );
}

const isInRoom = (phase: Phase): boolean => phase.kind === 'joined' || phase.kind === 'reconnecting' || phase.kind === 'closed';

function Room({ link }: { link: Link }) {
  const room = useRoom(link.secret);
  const { phase, view } = room;
  // On a narrow screen the participants are a panel the status line opens.
  const [isRosterOpen, setRosterOpen] = useState(false);
  // One function for the room's lifetime, so timeline entries need not render again for it.
  const showMember = useCallback((fp: string) => {
    setRosterOpen(true);
    // After the panel has rendered open.
    setTimeout(() => document.getElementById(memberElementId(fp))?.focus());
  }, []);
  const toggleRoster = useCallback(() => setRosterOpen((isOpen) => !isOpen), []);
  const members = view?.members;
  const labels = useMemo(() => new Map((members ?? []).map((m) => [m.fp, m.label])), [members]);
  // The same object while the handle's callbacks are, so the roster's rows need not render again for it.
  const decisions = useMemo(() => ({ letIn: room.letIn, turnAway: room.turnAway, remove: room.remove }), [room.letIn, room.turnAway, room.remove]);

  if (view === null || !isInRoom(phase)) {
    return (
      <main class="center">
        <h1>Hush</h1>
        <p class="lede">An end-to-end encrypted room. Share the link; nothing is stored.</p>
        {phase.kind === 'closed' && <p role="alert" class="banner">Could not join: {phase.reason}.</p>}
        {phase.kind === 'left' && <p class="banner">You left the room.</p>}
        {phase.kind === 'ended' && <p role="alert" class="banner">{phase.reason}.</p>}
        <JoinForm isBusy={phase.kind === 'joining'} onJoin={room.join} />
        <div class="invite">
          <CopyLink url={link.url} />
          <a class="button quiet" href="/">New room</a>
        </div>
      </main>
    );
  }

  const others = view.members.filter((m) => !m.isSelf);
  const url = room.movedUrl ?? link.url;
  const isWaiting = view.membership.me === 'waiting';
  const waiting = view.membership.canDecide ? others.filter((m) => m.standing === 'waiting').length : 0;
  return (
    <div class={`room${phase.kind === 'joined' ? '' : ' offline'}`}>
      <header class="bar">
        <h1>Hush</h1>
        <Status
          count={view.members.length}
          agreement={view.agreement}
          verifiedCount={others.filter((m) => m.trust === 'verified').length}
          isAllVerified={view.isAllVerified}
          isRosterOpen={isRosterOpen}
          onToggleRoster={toggleRoster}
        />
        <div class="actions">
          <Invite url={url} />
          <Notify entries={view.timeline} labels={labels} waiting={waiting} />
          <a class="button quiet" href="/" target="_blank" rel="noopener">New room</a>
        </div>
        <button type="button" class="quiet" onClick={room.leave}>Leave</button>
      </header>
      <Participants
        members={view.members}
        onVerify={room.setVerified}
        isOpen={isRosterOpen}
        decisions={view.membership.canDecide ? decisions : undefined}
        membership={view.membership}
        onSwitch={room.setSwitch}
        blocked={view.blocked}
      />
      <section
        class="chat"
        // Files dropped anywhere on the conversation are sent (PROTOCOL.md §11).
        onDragOver={(e) => { if (e.dataTransfer?.types.includes('Files') === true) e.preventDefault(); }}
        onDrop={(e) => {
          const files = [...(e.dataTransfer?.files ?? [])];
          if (files.length === 0) return;
          e.preventDefault();
          if (phase.kind === 'joined') room.sendFiles(files);
        }}
      >
        <Banner phase={phase} onRejoin={room.rejoin} />
        {isWaiting && phase.kind === 'joined' && <p role="status" class="banner waiting">Waiting for someone in the room to let you in.</p>}
        <Timeline entries={view.timeline} members={view.members} onShowMember={showMember} />
        <Write onSend={room.send} onNotice={room.notice} isOnline={phase.kind === 'joined'} onAttach={room.sendFiles} isWaiting={isWaiting} />
      </section>
      {room.roomId !== null && <Log logsUrl={room.logsUrl} version={view.timeline.length} />}
    </div>
  );
}
