import type { Agreement } from '../roster';

function agreementText(a: Agreement): { text: string; isAlarm: boolean } {
  switch (a.kind) {
    case 'same': return { text: a.count === 1 ? 'Only you are here' : `All ${a.count} members see the same list`, isAlarm: false };
    case 'checking': return { text: 'Checking that everyone sees the same list…', isAlarm: false };
    case 'silent': return { text: `Not heard from ${a.who.join(', ')} lately: their messages may be withheld`, isAlarm: true };
    case 'different': return {
      text: a.who.map((w) => `${w.label} sees a different list: ${[...w.plus.map((p) => `+${p}`), ...w.minus.map((m) => `−${m}`)].join(', ')}`).join('; '),
      isAlarm: true,
    };
  }
}

export function RoomStatus({ count, agreement, verifiedCount, isAllVerified }: { count: number; agreement: Agreement; verifiedCount: number; isAllVerified: boolean }) {
  const a = agreementText(agreement);
  return (
    <div class="status">
      <span>End-to-end encrypted · {count} {count === 1 ? 'member' : 'members'}</span>
      <span class={a.isAlarm ? 'alarm' : ''} role={a.isAlarm ? 'alert' : 'status'} data-testid="roster-agreement">{a.text}</span>
      {count > 1 && (
        <span class={isAllVerified ? 'ok' : ''}>{isAllVerified ? 'Everyone here is verified ✓' : `${verifiedCount} of ${count - 1} verified by you`}</span>
      )}
    </div>
  );
}
