import { useEffect, useState } from 'preact/hooks';
import type { Phase } from '../use-room';

/** Why the room is offline, and what happens next: a countdown to the next attempt, or "Join again". */
export function ConnectionBanner({ phase, onRejoin }: { phase: Phase; onRejoin: () => void }) {
  const [, setTick] = useState(0);
  const isWaiting = phase.kind === 'reconnecting';
  useEffect(() => {
    if (!isWaiting) return;
    const timer = setInterval(() => setTick((n) => n + 1), 1_000);
    return () => clearInterval(timer);
  }, [isWaiting]);
  if (phase.kind === 'reconnecting') {
    const seconds = Math.ceil((phase.retryAt - Date.now()) / 1_000);
    return (
      <div class="banner connection">
        {/* Only the reason is announced; the countdown would repeat every second. */}
        <span role="alert">Connection lost: {phase.reason}.</span>
        <span>{seconds > 0 ? `Reconnecting in ${seconds} s…` : 'Reconnecting…'}</span>
        <button type="button" class="small" onClick={onRejoin}>Reconnect now</button>
      </div>
    );
  }
  if (phase.kind === 'closed') {
    return (
      <div class="banner connection">
        <span role="alert">Disconnected: {phase.reason}.</span>
        <button type="button" class="small" onClick={onRejoin}>Join again</button>
      </div>
    );
  }
  return null;
}
