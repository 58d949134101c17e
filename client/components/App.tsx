import { useMemo } from 'preact/hooks';
import { hasWebCrypto, readOrCreateLink, useRoom, type Link } from '../use-room';
import { JoinForm } from './JoinForm';
import { Roster } from './Roster';
import { Timeline } from './Timeline';
import { Composer } from './Composer';
import { ServerView } from './ServerView';
import { CopyLink } from './CopyLink';
import { RoomStatus } from './RoomStatus';
import { SecurityPanel } from './SecurityPanel';

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
        Encryption cannot start: this page was not opened in a secure context, so the browser withholds its
        cryptography (WebCrypto). Open Hush over https://, or on this computer at http://localhost.
      </p>
    </main>
  );
}

function Room({ link }: { link: Link }) {
  const room = useRoom(link.secret);
  const { phase, view } = room;

  if (phase.kind !== 'joined' || view === null) {
    return (
      <main class="center">
        <h1>Hush</h1>
        <p class="lede">An end-to-end encrypted room. Share the link; nothing is stored.</p>
        {phase.kind === 'closed' && <p role="alert" class="banner">Disconnected: {phase.reason}.</p>}
        {phase.kind === 'left' && <p class="banner">You left the room.</p>}
        <JoinForm isBusy={phase.kind === 'joining'} onJoin={room.join} />
        <CopyLink url={link.url} />
      </main>
    );
  }

  return (
    <div class="room">
      <header class="bar">
        <h1>Hush</h1>
        <RoomStatus
          count={view.members.length}
          agreement={view.agreement}
          verifiedCount={view.members.filter((m) => !m.isSelf && m.trust === 'verified').length}
          isAllVerified={view.isAllVerified}
        />
        <CopyLink url={link.url} />
        <button type="button" onClick={room.leave}>Leave</button>
      </header>
      <Roster members={view.members} onVerify={room.setVerified}>
        <SecurityPanel blocked={view.blocked} />
      </Roster>
      <section class="chat">
        <Timeline entries={view.timeline} labels={new Map(view.members.map((m) => [m.fp, m.label]))} />
        <Composer onSend={room.send} />
      </section>
      {room.roomId !== null && <ServerView roomId={room.roomId} version={view.timeline.length} />}
    </div>
  );
}
