// A member that sends as fast as it can, in its own process so its busy loop
// cannot slow the measuring test down. Reads identities and frames prepared
// by flood.test.ts from the JSON file named in argv, floods until killed or
// the deadline passes, rejoining with the next identity whenever it is closed.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const [file] = process.argv.slice(2);
const { url, localAddress, identities, durationMs } = JSON.parse(readFileSync(file, 'utf8'));
const deadline = Date.now() + durationMs;
const stats = { connections: 0, framesSent: 0, closes: {} };

for (const { hello, frames } of identities) {
  if (Date.now() > deadline) break;
  stats.connections += 1;
  const close = await new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress });
    ws.on('open', () => {
      ws.send(hello);
      for (const f of frames) ws.send(f);
      stats.framesSent += frames.length + 1;
    });
    ws.on('close', (code, reason) => resolve(`${code} ${reason}`));
    ws.on('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
    ws.on('error', () => {});
  });
  stats.closes[close] = (stats.closes[close] ?? 0) + 1;
}
process.stdout.write(JSON.stringify(stats));
