import { useState } from 'preact/hooks';

export function CopyLink({ url }: { url: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = () => {
    navigator.clipboard.writeText(url).then(() => setState('copied'), () => setState('failed'));
  };
  return (
    <span class="copy-link">
      <button type="button" onClick={copy}>Copy link</button>
      <span role="status" class="hint">{state === 'copied' ? 'Link copied' : state === 'failed' ? 'Copy failed: copy it from the address bar' : ''}</span>
    </span>
  );
}
