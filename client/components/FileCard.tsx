import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { safeFileName, type FileTransfer } from '../files';

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB'];

export function formatBytes(n: number): string {
  let unit = 0;
  let value = n;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} ${n === 1 ? 'byte' : 'bytes'}` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

function statusText(t: FileTransfer): string {
  if (t.status === 'failed') return t.error;
  if (t.isOwn) {
    const total = t.recipients.size;
    if (t.status === 'cancelled') return `Cancelled. Sent to ${t.deliveredCount()} of ${total}.`;
    const gone = [...t.recipients.values()].filter((r) => r.isGone).length;
    return `Sent to ${t.deliveredCount()} of ${total}${gone > 0 ? ` (${gone} left or cancelled)` : ''}.`;
  }
  if (t.status === 'waiting') return 'Waiting for an earlier file to finish…';
  if (t.status === 'receiving') return `Receiving… ${Math.floor(t.progress() * 100)}%`;
  if (t.status === 'cancelled') return 'Cancelled. Nothing was saved.';
  return 'Received and checked.';
}

/** Hands the checked bytes to the browser's download, under a name that is safe on any system. */
function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = safeFileName(name);
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own copy by then; a minute is ample.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * A preview URL for a received image, once its bytes proved a PNG, JPEG, GIF
 * or WebP and the browser decoded it as one. SVG never gets here (it is a
 * document that can carry script), nor does anything that does not decode.
 */
function usePreview(t: FileTransfer): string | null {
  const [url, setUrl] = useState<string | null>(null);
  const data = t.data;
  const isImage = t.imageType !== null;
  useEffect(() => {
    if (data === null || !isImage) return;
    let made: string | null = null;
    let isLive = true;
    createImageBitmap(data).then((bitmap) => {
      bitmap.close();
      if (!isLive) return;
      made = URL.createObjectURL(data);
      setUrl(made);
    }, () => setUrl(null));
    return () => {
      isLive = false;
      if (made !== null) URL.revokeObjectURL(made);
    };
  }, [data, isImage]);
  return url;
}

/** How often a card shows progress: chunks arrive far faster than anyone reads a percentage. */
const PROGRESS_MS = 100;

/**
 * Re-renders on the transfer's changes, at most every PROGRESS_MS. A timer,
 * not requestAnimationFrame: a page in the background gets no frames, and
 * its cards must still be right when it comes back.
 */
function useTransfer(t: FileTransfer): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = t.subscribe(() => {
      timer ??= setTimeout(() => {
        timer = undefined;
        setTick((n) => n + 1);
      }, PROGRESS_MS);
    });
    // A small file can finish between the first render and this subscription: show where it is now.
    setTick((n) => n + 1);
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, [t]);
}

/**
 * One file in the conversation: its name (text, never markup), size, type,
 * progress and what can be done with it; `children` is the sender's trust
 * mark (Timeline.tsx draws it, as for a message).
 */
export function FileCard({ transfer: t, children }: { transfer: FileTransfer; children?: ComponentChildren }) {
  useTransfer(t);
  const preview = usePreview(t);
  const { name, size, type } = t.offer;
  return (
    <div class={`file-card ${t.status}`} role="group" aria-label={name}>
      <p class="file-name">{name}</p>
      <p class="hint">{formatBytes(size)} · {type === '' ? 'unknown type' : type} {children}</p>
      {preview !== null && <img class="file-preview" src={preview} alt={name} />}
      {!t.isFinished && <progress max={1} value={t.progress()} aria-label={`Progress: ${name}`} />}
      <p class="hint file-status" role="status">{statusText(t)}</p>
      <div class="file-actions">
        {!t.isFinished && <button type="button" class="small quiet" onClick={() => t.cancel()}>Cancel</button>}
        {t.data !== null && <button type="button" class="small" onClick={() => t.data !== null && save(t.data, name)}>Save</button>}
      </div>
    </div>
  );
}
