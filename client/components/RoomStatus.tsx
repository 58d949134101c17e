import type { Agreement } from '../roster';
import { agreementText } from '../status-text';

const Lock = () => (
  <svg class="lock" viewBox="0 0 16 16" aria-hidden="true"><path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z" /></svg>
);

interface Props {
  count: number;
  agreement: Agreement;
  verifiedCount: number;
  isAllVerified: boolean;
  isRosterOpen: boolean;
  onToggleRoster: () => void;
}

/** The security state at a glance: encrypted, how many, verified or not; alarms only when something is wrong. */
export function RoomStatus({ count, agreement, verifiedCount, isAllVerified, isRosterOpen, onToggleRoster }: Props) {
  const a = agreementText(agreement);
  const members = `${count} ${count === 1 ? 'member' : 'members'}`;
  return (
    <div class="status">
      <span class="enc"><Lock />End-to-end encrypted · {members}</span>
      <button type="button" class="roster-toggle small quiet" aria-controls="roster" aria-expanded={isRosterOpen} onClick={onToggleRoster}>
        <Lock />{members}{count > 1 && ` · ${isAllVerified ? 'all verified ✓' : `${verifiedCount}/${count - 1} verified`}`}
      </button>
      {count > 1 && (
        <span class={`verified${isAllVerified ? ' ok' : ''}`}>{isAllVerified ? 'Everyone here is verified ✓' : `${verifiedCount} of ${count - 1} verified by you`}</span>
      )}
      <span class={a.isAlarm ? 'alarm' : 'agree'} role={a.isAlarm ? 'alert' : 'status'} data-testid="roster-agreement">{a.text}</span>
    </div>
  );
}
