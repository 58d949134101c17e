import { useEffect, useRef, useState } from 'preact/hooks';
import { QrCode } from './QrCode';

/** How long "Link copied" stays. */
const CONFIRM_MS = 4_000;

/** The invite: copy the full link, or show it as a QR code (and as text to select) for a phone. */
export function CopyLink({ url }: { url: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const [isQrOpen, setQrOpen] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (state !== 'copied') return;
    const timer = setTimeout(() => setState('idle'), CONFIRM_MS);
    return () => clearTimeout(timer);
  }, [state]);
  useEffect(() => {
    if (state === 'failed') field.current?.select();
  }, [state, isQrOpen]);
  // Escape closes the popover wherever the focus is: the composer takes it once the room is ready, which can be after the popover opened.
  useEffect(() => {
    if (!isQrOpen) return;
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') setQrOpen(false); };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [isQrOpen]);
  const copy = () => {
    // navigator.clipboard is missing outside secure contexts and refused without permission: then show the link to copy by hand.
    const done = navigator.clipboard?.writeText(url) ?? Promise.reject(new Error('no clipboard'));
    done.then(() => setState('copied'), () => {
      setState('failed');
      setQrOpen(true);
    });
  };
  return (
    <span class="copy-link">
      <button type="button" onClick={copy}>Copy link</button>
      <button type="button" class="quiet" aria-expanded={isQrOpen} onClick={() => setQrOpen(!isQrOpen)}>Link QR</button>
      <span role="status" class="hint copied">{state === 'copied' ? 'Link copied ✓' : state === 'failed' ? 'Copy failed: select the link below' : ''}</span>
      {isQrOpen && (
        <span class="popover">
          <QrCode text={url} label="QR code of the room link" />
          <input ref={field} readOnly value={url} aria-label="Room link" onFocus={(e) => e.currentTarget.select()} />
          <span class="hint">Anyone with this link can join. Send it privately.</span>
        </span>
      )}
    </span>
  );
}
