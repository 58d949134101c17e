import { useState } from 'preact/hooks';
import { MAX_NAME_BYTES } from '../protocol';

const utf8 = new TextEncoder();

export function JoinForm({ isBusy, onJoin }: { isBusy: boolean; onJoin: (name: string) => void }) {
  const [name, setName] = useState('');
  const trimmed = name.trim();
  const tooLong = utf8.encode(trimmed).length > MAX_NAME_BYTES;
  return (
    <form
      class="join"
      onSubmit={(e) => {
        e.preventDefault();
        if (trimmed !== '' && !tooLong && !isBusy) onJoin(trimmed);
      }}
    >
      <label for="name">Your name</label>
      <input id="name" name="name" autoComplete="off" maxLength={MAX_NAME_BYTES} value={name} onInput={(e) => setName(e.currentTarget.value)} autoFocus />
      {tooLong && <p class="hint" role="alert">A name is at most {MAX_NAME_BYTES} bytes.</p>}
      <button type="submit" disabled={trimmed === '' || tooLong || isBusy}>{isBusy ? 'Joining…' : 'Join'}</button>
    </form>
  );
}
