import { useState } from 'preact/hooks';
import { MAX_BODY_BYTES } from '../protocol';

const utf8 = new TextEncoder();

export function Composer({ onSend }: { onSend: (body: string) => Promise<void> }) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const size = utf8.encode(text).length;
  const isTooLong = size > MAX_BODY_BYTES;
  const submit = () => {
    if (text.trim() === '' || isTooLong) return;
    const body = text;
    setText('');
    onSend(body).catch((err: unknown) => {
      setText(body);
      setError(`Not sent: ${(err as Error).message}`);
    });
  };
  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <label for="message" class="visually-hidden">Message</label>
      <textarea
        id="message"
        rows={2}
        value={text}
        placeholder="Write a message"
        onInput={(e) => { setText(e.currentTarget.value); setError(''); }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
        }}
      />
      <button type="submit" disabled={text.trim() === '' || isTooLong}>Send</button>
      {(isTooLong || size > MAX_BODY_BYTES * 0.9) && (
        <p class="hint" role="status">{size} / {MAX_BODY_BYTES} bytes{isTooLong ? ' — too long to send' : ''}</p>
      )}
      {error !== '' && <p class="hint" role="alert">{error}</p>}
    </form>
  );
}
