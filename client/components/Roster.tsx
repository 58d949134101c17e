import type { Member } from '../room';

/** 30 digits as six groups of five, as Signal shows them. */
export const groupCode = (code: string): string => code.match(/.{1,5}/g)?.join(' ') ?? code;

export function Roster({ members }: { members: Member[] }) {
  return (
    <aside class="roster">
      <h2 id="participants-title">Participants</h2>
      <ul aria-label="Participants">
        {members.map((m) => (
          <li key={m.fp} data-fp={m.fp}>
            <span class="who">
              <span class="name">{m.name}</span>
              {m.isSelf && <span class="you"> (you)</span>}
            </span>
            <span class="code" aria-label={`Safety code of ${m.name}`}>{m.code === null ? 'computing safety code…' : groupCode(m.code)}</span>
            <span class="state">{m.isSelf ? 'This tab' : 'Not verified'}</span>
          </li>
        ))}
      </ul>
    </aside>
  );
}
