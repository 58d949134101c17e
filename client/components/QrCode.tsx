import { useEffect, useState } from 'preact/hooks';

type Encode = typeof import('uqr').encode;
/** The encoder is loaded on first use: most visits never show a QR code. */
let encoder: Promise<Encode> | null = null;
const loadEncoder = (): Promise<Encode> => (encoder ??= import('uqr').then((m) => m.encode));

/**
 * A QR code drawn as one SVG path from uqr's module matrix: no innerHTML, so
 * it passes Trusted Types, and it scales crisply at any size.
 */
export function QrCode({ text, label }: { text: string; label: string }) {
  const [qr, setQr] = useState<{ size: number; path: string } | null>(null);
  useEffect(() => {
    let isCurrent = true;
    void loadEncoder().then((encode) => {
      const code = encode(text, { ecc: 'M', border: 2 });
      let d = '';
      code.data.forEach((row, y) => row.forEach((isDark, x) => { if (isDark) d += `M${x} ${y}h1v1h-1z`; }));
      if (isCurrent) setQr({ size: code.size, path: d });
    });
    return () => { isCurrent = false; };
  }, [text]);
  if (qr === null) return <span class="qr" role="img" aria-label={`${label} (loading)`} />;
  return (
    <svg class="qr" role="img" aria-label={label} viewBox={`0 0 ${qr.size} ${qr.size}`} shape-rendering="crispEdges">
      <rect width={qr.size} height={qr.size} fill="#fff" />
      <path d={qr.path} fill="#000" />
    </svg>
  );
}
