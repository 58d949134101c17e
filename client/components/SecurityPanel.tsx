import type { BlockedCounts } from '../room';

const ROWS: [keyof BlockedCounts, string][] = [
  ['forged', 'Forged (bad signature or unknown sender)'],
  ['tampered', 'Tampered or malformed'],
  ['replayed', 'Replayed'],
  ['gaps', 'Messages not delivered to you'],
  ['excluded', 'Messages that left you out'],
];

/** What this tab's checks have blocked: the protection, made visible. */
export function SecurityPanel({ blocked }: { blocked: BlockedCounts }) {
  const total = ROWS.reduce((n, [k]) => n + blocked[k], 0);
  return (
    <section class="security" aria-label="Security">
      <h2>Security</h2>
      <p class="hint">{total === 0 ? 'Nothing blocked in this tab.' : `${total} blocked or missing in this tab:`}</p>
      <dl>
        {ROWS.map(([key, text]) => (
          <div key={key} data-count={key}>
            <dt>{text}</dt>
            <dd>{blocked[key]}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
