import { useState } from 'preact/hooks';
import { QrCode } from './QrCode';

/** The invite: copy the full link, or show it as a QR code for a phone. */
export function CopyLink({ url }: { url: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const [isQrOpen, setQrOpen] = useState(false);
  const copy = () => {
    navigator.clipboard.writeText(url).then(() => setState('copied'), () => setState('failed'));
  };
  return (
    <span class="copy-link">
      <button type="button" onClick={copy}>Copy link</button>
      <button type="button" class="quiet" aria-expanded={isQrOpen} onClick={() => setQrOpen(!isQrOpen)}>Link QR</button>
      <span role="status" class="hint">{state === 'copied' ? 'Link copied' : state === 'failed' ? 'Copy failed: copy it from the address bar' : ''}</span>
      {isQrOpen && (
        <span class="popover">
          <QrCode text={url} label="QR code of the room link" />
          <span class="hint">Anyone who scans this can join.</span>
        </span>
      )}
    </span>
  );
}
