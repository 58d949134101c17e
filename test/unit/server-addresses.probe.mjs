// Run by server-addresses.test.ts inside a network namespace of its own,
// where loopback carries the IPv6 addresses below: starts the built server
// on [::]:8080 (dual stack) with MAX_CONNS_PER_IP=2 and reports, as one JSON
// line, which WebSocket upgrades from which source addresses were accepted.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const PORT = 8080;
const ROOM = 'AAAAAAAAAAAAAAAAAAAAAA';
const server = spawn(process.execPath, [process.env.HUSH_SERVER_JS || fileURLToPath(new URL('../../dist/server.js', import.meta.url))], {
  env: { ...process.env, HOST: '::', PORT: String(PORT), MAX_CONNS_PER_IP: '2' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve) => server.stdout.on('data', (d) => { if (String(d).includes('"event":"listening"')) resolve(); }));

const open = [];
/** Opens one socket from `from` to `to`; resolves "open" or the HTTP status of the refusal. */
function attempt(from, to) {
  return new Promise((resolve) => {
    // Host: one of the default public names, whichever address is dialled.
    const ws = new WebSocket(`ws://${to.includes(':') ? `[${to}]` : to}:${PORT}/ws/${ROOM}`, { localAddress: from, headers: { host: `localhost:${PORT}` } });
    ws.once('open', () => { open.push(ws); resolve('open'); });
    ws.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
    ws.once('error', (err) => resolve(`error ${err.message}`));
  });
}

const results = [];
for (const [from, to] of [
  ['fd00:64::a:1', 'fd00:64::1'],
  ['fd00:64::a:1', 'fd00:64::1'],
  ['fd00:64::b:2', 'fd00:64::1'],
  ['fd00:65::1', 'fd00:64::1'],
  ['127.0.0.5', '127.0.0.1'],
  ['127.0.0.5', '127.0.0.1'],
  ['127.0.0.6', '127.0.0.1'],
  ['::ffff:127.0.0.5', '::ffff:127.0.0.1'],
]) results.push({ from, result: await attempt(from, to) });
process.stdout.write(`${JSON.stringify(results)}\n`);
for (const ws of open) ws.terminate();
server.kill('SIGTERM');
