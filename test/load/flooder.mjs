// A member that sends as fast as it can, in its own process so its busy loop
// cannot slow the measuring test down. Reads identities and frames prepared
// by flood.test.ts from the JSON file named in argv, floods until killed or
// the deadline passes, rejoining with the next identity whenever it is closed.
// It holds the link's door key: each hello answers its connection's challenge.
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const [file] = process.argv.slice(2);
const { url, localAddress, identities, durationMs, door } = JSON.parse(readFileSync(file, 'utf8'));
const doorKey = createPrivateKey({ key: Buffer.from(door.pkcs8, 'base64url'), format: 'der', type: 'pkcs8' });
const deadline = Date.now() + durationMs;
const stats = { connections: 0, framesSent: 0, closes: {} };

/** PROTOCOL.md §1 enc(): each part as a 4-byte big-endian length and its UTF-8 bytes. */
const enc = (...parts) => Buffer.concat(parts.flatMap((p) => {
  const bytes = Buffer.from(String(p));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return [len, bytes];
}));

for (const { hello, fp, frames } of identities) {
  if (Date.now() > deadline) break;
  stats.connections += 1;
  const close = await new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress });
    ws.once('message', (data) => {
      const { nonce } = JSON.parse(data.toString());
      const sig = sign(null, enc('v1/door', door.roomId, nonce, fp), doorKey).toString('base64url');
      ws.send(JSON.stringify({ t: 'hello', hello, door: { pub: door.pub, sig } }));
      // Message uploads, binary frames (PROTOCOL.md §4.3), kept as base64 in the file.
      for (const f of frames) ws.send(Buffer.from(f, 'base64'));
      stats.framesSent += frames.length + 1;
    });
    ws.on('close', (code, reason) => resolve(`${code} ${reason}`));
    ws.on('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
    ws.on('error', () => {});
  });
  stats.closes[close] = (stats.closes[close] ?? 0) + 1;
}
process.stdout.write(JSON.stringify(stats));
