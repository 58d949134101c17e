import { useEffect, useState } from 'preact/hooks';
import { MAX_NAME_BYTES } from '../protocol';
import { cleanName, loadConfusables } from '../names';

const utf8 = new TextEncoder();

export function JoinForm({ isBusy, onJoin }: { isBusy: boolean; onJoin: (name: string) => void }) {
  const [name, setName] = useState('');
  // The look-alike table is its own chunk: fetched while a name is typed, in hand by the time labels are made.
  useEffect(() => void loadConfusables().catch(() => undefined), []);
  const cleaned = cleanName(name);
  const tooLong = !(cleaned instanceof Error) && utf8.encode(cleaned).length > MAX_NAME_BYTES;
  // Say why only once something was typed: an empty box needs no message.
  const problem = cleaned instanceof Error ? (name === '' ? '' : `${cleaned.message[0]?.toUpperCase() ?? ''}${cleaned.message.slice(1)}.`) : tooLong ? `A name is at most ${MAX_NAME_BYTES} bytes.` : '';
  return (
    <form
      class="join"
      onSubmit={(e) => {
        e.preventDefault();
        if (!(cleaned instanceof Error) && !tooLong && !isBusy) onJoin(cleaned);
      }}
    >
      <label for="name">Your name</label>
      <input id="name" name="name" autoComplete="off" maxLength={MAX_NAME_BYTES} value={name} onInput={(e) => setName(e.currentTarget.value)} autoFocus />
      {problem !== '' && <p class="hint" role="alert">{problem}</p>}
      <button type="submit" disabled={cleaned instanceof Error || tooLong || isBusy}>{isBusy ? 'Joining…' : 'Join'}</button>
    </form>
  );
}
