/**
 * A scriptable hostile relay for tests: it serves the real page and speaks
 * Hush's protocol to real clients, passing frames to and from a real Hush
 * server, and lets a test drop, rewrite or inject frames per connection.
 * It lives in test/ only; the production server has no such hooks.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { fingerprintWith, type Hello } from '../../client/protocol';

export interface RelayConn {
  /** 0 for the first browser connection, 1 for the next, … */
  index: number;
  /** The fingerprint this connection announced, once it has. */
  fp: string | null;
  /** Sends a frame to this client as if the server had. */
  inject: (frame: string) => void;
}

/** Returns the frame to pass on (possibly rewritten), or null to drop it. */
export type Hook = (conn: RelayConn, frame: string) => string | null;

export interface HostileRelay {
  origin: string;
  conns: RelayConn[];
  toClient: Hook;
  toServer: Hook;
  close: () => Promise<void>;
}

const fpOf = (hello: Hello) => fingerprintWith((data) => createHash('sha256').update(data).digest(), hello);

/** What a frame says of who sent it, if anything. */
export function senderOf(frame: string): string | null {
  const f = JSON.parse(frame) as { t: string; hello?: Hello; env?: { sender: string }; rc?: { sender: string } };
  if (f.t === 'join' && f.hello !== undefined) return fpOf(f.hello);
  return f.env?.sender ?? f.rc?.sender ?? null;
}

export async function startHostileRelay(upstreamOrigin: string): Promise<HostileRelay> {
  const relay: HostileRelay = {
    origin: '',
    conns: [],
    toClient: (_c, f) => f,
    toServer: (_c, f) => f,
    close: async () => {},
  };
  const http: Server = createServer((req, res) => {
    void fetch(`${upstreamOrigin}${req.url ?? '/'}`).then(async (up) => {
      const headers: Record<string, string> = {};
      up.headers.forEach((v, k) => { headers[k] = v; });
      res.writeHead(up.status, headers);
      res.end(Buffer.from(await up.arrayBuffer()));
    }, () => { res.writeHead(502); res.end(); });
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req: IncomingMessage, socket, head) => {
    wss.handleUpgrade(req, socket, head, (client) => {
      const upstream = new WebSocket(`${upstreamOrigin.replace('http', 'ws')}${req.url ?? ''}`);
      const conn: RelayConn = { index: relay.conns.length, fp: null, inject: (f) => client.send(f) };
      relay.conns.push(conn);
      upstream.on('open', () => { for (const f of pending.splice(0)) upstream.send(f); });
      // Binary frames (message uploads, PROTOCOL.md §4.3, and file frames, §11) pass as they are: the hooks see text frames.
      const pending: (string | Buffer)[] = [];
      upstream.on('message', (data, isBinary) => {
        const out = isBinary ? (data as Buffer) : relay.toClient(conn, data.toString());
        if (out !== null && client.readyState === WebSocket.OPEN) client.send(out);
      });
      client.on('message', (data, isBinary) => {
        if (isBinary) {
          if (upstream.readyState === WebSocket.OPEN) upstream.send(data as Buffer);
          else pending.push(data as Buffer);
          return;
        }
        const text = data.toString();
        const f = JSON.parse(text) as { t: string; hello?: Hello };
        if (f.t === 'hello' && f.hello !== undefined) conn.fp = fpOf(f.hello);
        const out = relay.toServer(conn, text);
        if (out === null) return;
        if (upstream.readyState === WebSocket.OPEN) upstream.send(out);
        else pending.push(out);
      });
      upstream.on('close', (code, reason) => { if (client.readyState === WebSocket.OPEN) client.close(code, reason.toString()); });
      client.on('close', () => upstream.close());
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  relay.origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  relay.close = () => new Promise<void>((resolve) => {
    for (const c of wss.clients) c.terminate();
    http.close(() => resolve());
  });
  return relay;
}
