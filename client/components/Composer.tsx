import { useEffect, useRef, useState } from 'preact/hooks';
import { MAX_BODY_BYTES } from '../protocol';
import { HELP_TEXT, parseCommand } from '../commands';

const utf8 = new TextEncoder();
/** The byte counter appears from here on, before the limit is a surprise. */
const COUNTER_FROM_BYTES = MAX_BODY_BYTES * 0.8;

interface Props {
  onSend: (body: string) => Promise<void>;
  /** Shows a notice only this tab sees. */
  onNotice: (text: string) => void;
  isOnline: boolean;
  /** Files picked with "Attach file" or pasted (PROTOCOL.md §11). */
  onAttach?: (files: File[]) => void;
  /** Not let in yet: nobody would read it, so nothing can be written. */
  isWaiting?: boolean;
}

/** Enter sends, Shift+Enter starts a new line; /me and /help are handled here (commands.ts). */
export function Composer({ onSend, onNotice, isOnline, onAttach, isWaiting = false }: Props) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const box = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  // Ready to type on entering the room (autofocus only works once per page load), and once let in.
  useEffect(() => { if (!isWaiting) box.current?.focus(); }, [isWaiting]);
  const size = utf8.encode(text).length;
  const isTooLong = size > MAX_BODY_BYTES;
  const submit = () => {
    if (text.trim() === '' || isTooLong) return;
    const command = parseCommand(text);
    if (command.kind === 'help') {
      setText('');
      onNotice(HELP_TEXT);
      return;
    }
    if (command.kind === 'error') return setError(command.text);
    if (!isOnline) return setError('Not sent: you are offline. It stays here until you are reconnected.');
    const typed = text;
    setText('');
    onSend(command.body).catch((err: unknown) => {
      setText(typed);
      setError(`Not sent: ${err instanceof Error ? err.message : String(err)}`);
    });
  };
  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <label for="message" class="visually-hidden">Message</label>
      <textarea
        id="message"
        rows={2}
        ref={box}
        value={text}
        placeholder={isWaiting ? 'You can write once someone lets you in' : 'Write a message · /help'}
        disabled={isWaiting}
        aria-describedby="composer-hint"
        onInput={(e) => { setText(e.currentTarget.value); setError(''); }}
        onPaste={(e) => {
          // A pasted image (or file) is sent as a file, not as text.
          const files = [...(e.clipboardData?.files ?? [])];
          if (files.length > 0 && onAttach !== undefined) {
            e.preventDefault();
            if (!isOnline) return setError('Not sent: you are offline.');
            return onAttach(files);
          }
          // Refuse, with the numbers, a paste that would pass the limit: never cut it silently.
          const el = e.currentTarget;
          const pasted = e.clipboardData?.getData('text/plain') ?? '';
          const after = utf8.encode(el.value.slice(0, el.selectionStart) + pasted + el.value.slice(el.selectionEnd)).length;
          if (after <= MAX_BODY_BYTES) return;
          e.preventDefault();
          setError(`Not pasted: that would make ${after} bytes, and a message holds at most ${MAX_BODY_BYTES}. Send it in parts.`);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
        }}
      />
      <button type="submit" disabled={text.trim() === '' || isTooLong || !isOnline || isWaiting}>Send</button>
      {onAttach !== undefined && (
        <>
          <button type="button" class="small quiet attach" disabled={!isOnline || isWaiting} onClick={() => picker.current?.click()}>Attach file</button>
          <input
            ref={picker}
            type="file"
            multiple
            hidden
            tabIndex={-1}
            aria-hidden="true"
            onChange={(e) => {
              const files = [...(e.currentTarget.files ?? [])];
              e.currentTarget.value = '';
              if (files.length > 0) onAttach(files);
            }}
          />
        </>
      )}
      <p id="composer-hint" class="hint" role="status">
        {size >= COUNTER_FROM_BYTES && `${size} / ${MAX_BODY_BYTES} bytes${isTooLong ? ' — too long to send' : ''}`}
      </p>
      {error !== '' && <p class="hint error" role="alert">{error}</p>}
    </form>
  );
}
