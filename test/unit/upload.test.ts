import { describe, expect, it } from 'vitest';
import { FP_BYTES, MAX_CT_BYTES, MAX_MEMBERS_PER_ROOM, ROOM_ID_BYTES, decodeClientFrame, encodeClientFrame, type ClientFrame } from '../../client/protocol';
import { WRAP_B64_LEN, scanUpload, type UploadParts } from '../../upload';
import { rand, shapedUpload } from '../support/shapes';

type Upload = Extract<ClientFrame, { t: 'msg' }>;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const latin1 = (b: Uint8Array, from: number, to: number): string => Buffer.from(b.subarray(from, to)).toString('latin1');

/** What the relay takes from an upload, read from scanUpload's parts: the frame head it copies and each recipient's wrap. */
function readParts(b: Uint8Array, parts: UploadParts): { head: string; wraps: Record<string, string>; room: string; sender: string } {
  const wraps: Record<string, string> = {};
  parts.recipients.forEach((r, i) => (wraps[r] = latin1(b, parts.wrapAt[i] as number, (parts.wrapAt[i] as number) + WRAP_B64_LEN)));
  return { head: latin1(b, 0, parts.envEnd), wraps, room: parts.room, sender: parts.sender };
}

/** The same, from the full check: what deliver() serialises. */
function expected(frame: Upload): { head: string; wraps: Record<string, string>; room: string; sender: string } {
  return { head: `{"t":"msg","env":${JSON.stringify(frame.env)}`, wraps: { ...frame.wraps }, room: frame.env.room, sender: frame.env.sender };
}

/** Asserts the property the relay relies on: scanUpload says yes only where decodeClientFrame does, for the same parts. */
function expectNoLooserThanFullCheck(text: string): boolean {
  const b = bytes(text);
  const parts = scanUpload(b);
  if (parts === null) return false;
  const full = decodeClientFrame(text);
  expect(full instanceof Error ? full.message : full.t, text.slice(0, 200)).toBe('msg');
  expect(readParts(b, parts)).toEqual(expected(full as Upload));
  return true;
}

describe('the relay reads a message upload in the spelling clients write from its bytes', () => {
  it('finds the envelope and every recipient\'s wrap, as the full check reads them, for rooms of 1 to the maximum', () => {
    for (const others of [0, 1, 9, MAX_MEMBERS_PER_ROOM - 1]) {
      for (const ct of [272, 1000, MAX_CT_BYTES]) {
        const text = encodeClientFrame(shapedUpload(rand(ROOM_ID_BYTES), rand(FP_BYTES), 7, others, ct));
        expect(expectNoLooserThanFullCheck(text)).toBe(true);
      }
    }
  });

  it('never accepts a damaged upload that the full check refuses, nor reads another envelope or wrap from one it accepts', () => {
    const text = encodeClientFrame(shapedUpload(rand(ROOM_ID_BYTES), rand(FP_BYTES), 1, 1));
    // Every position: each kind of byte a damaged or hostile frame may put there, a deletion and a doubling.
    const replacements = ['A', 'B', 'Q', 'g', 'w', '_', '-', '0', '9', '=', '+', '/', '"', '\\', ' ', ',', ':', '}', ']', '{', '['];
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < text.length; i++) {
      const variants = [text.slice(0, i) + text.slice(i + 1), text.slice(0, i) + text[i] + text.slice(i)];
      for (const r of replacements) if (r !== text[i]) variants.push(text.slice(0, i) + r + text.slice(i + 1));
      for (const v of variants) {
        if (expectNoLooserThanFullCheck(v)) accepted += 1;
        else refused += 1;
      }
    }
    // Both kinds occur: a change to a wrap's or the ciphertext's inner characters stays valid, most others do not.
    expect(accepted).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(accepted);
  });

  it('leaves every other spelling of a valid upload to the full check, which still accepts it', () => {
    const frame = shapedUpload(rand(ROOM_ID_BYTES), rand(FP_BYTES), 12, 2);
    const canonical = encodeClientFrame(frame);
    const reordered = { t: 'msg', env: { ...frame.env }, wraps: Object.fromEntries(Object.entries(frame.wraps).reverse()) };
    const { sig, ...rest } = frame.env;
    const others = [
      JSON.stringify(frame, null, 1),
      JSON.stringify(reordered),
      JSON.stringify({ t: 'msg', env: { sig, ...rest }, wraps: frame.wraps }),
      JSON.stringify({ env: frame.env, t: 'msg', wraps: frame.wraps }),
      canonical.replace(`"seq":12`, `"seq":1.2e1`),
      canonical.replace(`"room":"${frame.env.room}"`, `"room":"\\u00${frame.env.room.charCodeAt(0).toString(16)}${frame.env.room.slice(1)}"`),
      `${canonical} `,
    ];
    for (const text of others) {
      expect(scanUpload(bytes(text)), text.slice(0, 200)).toBeNull();
      expect(decodeClientFrame(text)).not.toBeInstanceOf(Error);
    }
  });

  it('refuses what the full check refuses in values it checks by count or order: sorted recipients, the sender among them, a hash per recipient, a wrap per recipient', () => {
    const frame = shapedUpload(rand(ROOM_ID_BYTES), rand(FP_BYTES), 3, 3);
    const [a, b, c, d] = frame.env.recipients as [string, string, string, string];
    const outsider = rand(FP_BYTES);
    const cases: Upload[] = [
      { ...frame, env: { ...frame.env, recipients: [b, a, c, d] } },
      { ...frame, env: { ...frame.env, recipients: [a, a, c, d] } },
      { ...frame, env: { ...frame.env, sender: outsider } },
      { ...frame, env: { ...frame.env, wrapHashes: rand(3 * 32) } },
      { ...frame, wraps: { [a]: frame.wraps[a] as string, [b]: frame.wraps[b] as string, [c]: frame.wraps[c] as string } },
      { ...frame, env: { ...frame.env, seq: 0 } },
      { ...frame, env: { ...frame.env, ts: 8.64e15 + 1 } },
      { ...frame, env: { ...frame.env, seq: Number.MAX_SAFE_INTEGER + 1 } },
    ];
    for (const bad of cases) {
      const text = encodeClientFrame(bad);
      expect(scanUpload(bytes(text)), text.slice(0, 200)).toBeNull();
      expect(decodeClientFrame(text)).toBeInstanceOf(Error);
    }
  });
});
