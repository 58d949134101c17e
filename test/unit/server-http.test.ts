/**
 * The HTTP side of the relay (issue 14, items 1, 7, 8): who may ask, how
 * often, and under which names; bodies that reach slow readers whole; and
 * /metrics only for the holder of its token.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { deriveRoomKeys, randomBytes } from '../../client/crypto';
import { decodeUpload, encodeClientFrame, encodeUpload, fromB64u, toB64u } from '../../client/protocol';
import { startServer, withServer } from '../support/server';
import { TestSocket } from '../support/ws-client';
import { linkDoor, respacedUpload, shapedUpload, shapedHello, shapedLogsPath, shapedSigner, uploadParts } from '../support/shapes';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A GET with exactly these headers, from a chosen loopback source address; `readDelayMs` waits before reading the body. */
function get(port: number, path: string, headers: Record<string, string>, localAddress = '127.0.0.1', readDelayMs = 0): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, localAddress, agent: false, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.pause();
      setTimeout(() => res.resume(), readDelayMs);
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** Writes `text` on one connection and resolves with everything the server sent until it closed. */
function pipelined(port: number, localAddress: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => socket.write(text));
    let received = '';
    const timer = setTimeout(() => reject(new Error(`the server kept the connection open; got ${received.length} bytes`)), 5_000);
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', () => {});
  });
}

/** A member who has sent its hello (with the link's door) to a new room on the server at `port`, and its signing key for /logs. */
async function joinedMember(port: number) {
  const link = linkDoor();
  const member = await TestSocket.open(`ws://127.0.0.1:${port}/ws/${link.roomId}`);
  const signer = shapedSigner();
  const { hello, door, fp } = shapedHello(link, await member.nonce, signer);
  member.send(encodeClientFrame({ t: 'hello', hello, door }));
  return { member, roomId: link.roomId, fp, signer, hello };
}

const newRoomId = async () => (await deriveRoomKeys(randomBytes(32))).roomId;

describe('host names and origins (DNS rebinding)', () => {
  it('refuses a WebSocket upgrade whose Origin and Host are a rebinding domain', () => withServer({}, async (server) => {
    const url = `ws://127.0.0.1:${server.port}/ws/${await newRoomId()}`;
    const evil = new (await import('ws')).default(url, { origin: 'http://evil.example', headers: { host: 'evil.example' } });
    const status = await new Promise<number>((resolve) => {
      evil.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      evil.once('open', () => resolve(101));
    });
    expect(status).toBe(421);
    // The same name in Origin only, with a Host of ours, is refused for its Origin.
    await expect(TestSocket.open(url, 'http://evil.example')).rejects.toThrow('HTTP 403');
    expect(server.output()).toContain('"kind":"host"');
  }));

  it.each([
    ['http://localhost:PORT'],
    ['http://127.0.0.1:PORT'],
    ['http://[::1]:PORT'],
  ])('accepts a WebSocket from the loopback origin %s by default', (origin) => withServer({}, async (server) => {
    const socket = await TestSocket.open(`ws://127.0.0.1:${server.port}/ws/${await newRoomId()}`, origin.replace('PORT', String(server.port)));
    await socket.close();
  }));

  it('refuses a loopback origin on another port: that is another site', () => withServer({}, async (server) => {
    await expect(TestSocket.open(`ws://127.0.0.1:${server.port}/ws/${await newRoomId()}`, `http://127.0.0.1:${server.port + 1}`)).rejects.toThrow('HTTP 403');
  }));

  it('answers HTTP under our names only, with 421 to another Host', () => withServer({}, async (server) => {
    const roomId = await newRoomId();
    for (const host of ['evil.example', `evil.example:${server.port}`, '127.0.0.1.evil.example', '[::1', 'localhost.']) {
      for (const path of ['/', `/logs/${roomId}`, '/app.js']) {
        const answer = await get(server.port, path, { host });
        expect({ host, path, status: answer.status }).toEqual({ host, path, status: 421 });
      }
    }
    // Without any Host, uWS itself hangs up (HTTP/1.1 requires one).
    await expect(get(server.port, '/', {})).rejects.toThrow('socket hang up');
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`, 'LOCALHOST']) {
      expect((await get(server.port, '/', { host })).status).toBe(200);
    }
    // Health checks name no public host (HAProxy's says "hush-health-check").
    expect((await get(server.port, '/healthz', { host: 'hush-health-check' })).status).toBe(200);
  }));

  it('with PUBLIC_ORIGIN, serves that origin and no longer the loopback names', () => withServer({ PUBLIC_ORIGIN: 'https://chat.example.org' }, async (server) => {
    const url = `ws://127.0.0.1:${server.port}/ws/${await newRoomId()}`;
    const ws = (await import('ws')).default;
    const open = (origin: string, host: string) => new Promise<number>((resolve) => {
      const s = new ws(url, { origin, headers: { host } });
      s.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      s.once('open', () => {
        s.terminate();
        resolve(101);
      });
    });
    expect(await open('https://chat.example.org', 'chat.example.org')).toBe(101);
    expect(await open(`http://127.0.0.1:${server.port}`, 'chat.example.org')).toBe(403);
    expect(await open('https://chat.example.org', `127.0.0.1:${server.port}`)).toBe(421);
    expect((await get(server.port, '/', { host: 'chat.example.org' })).status).toBe(200);
  }));

  it('refuses to start with the old ALLOWED_ORIGINS, naming its replacement', async () => {
    await expect(startServer({ ALLOWED_ORIGINS: 'https://chat.example.org' })).rejects.toThrow(/exited with 2[\s\S]*ALLOWED_ORIGINS is now PUBLIC_ORIGIN/);
  });

  it.each([['chat.example.org'], ['https://chat.example.org/path'], ['ftp://chat.example.org']])('refuses to start with PUBLIC_ORIGIN=%s', async (origin) => {
    await expect(startServer({ PUBLIC_ORIGIN: origin })).rejects.toThrow(/exited with 2[\s\S]*PUBLIC_ORIGIN/);
  });
});

describe('HTTP requests per address', () => {
  it('answers 429 with a reason past the burst, closes that connection, and spares other addresses', () => withServer({ HTTP_REQUEST_BURST: '5', HTTP_REQUESTS_PER_S: '1' }, async (server) => {
    const host = { host: `127.0.0.1:${server.port}` };
    for (let i = 0; i < 4; i++) expect((await get(server.port, '/healthz', host, '127.0.0.20')).status).toBe(200);
    // Three pipelined on one connection: the last token, a refusal, and nothing more.
    const answers = await pipelined(server.port, '127.0.0.20', `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`.repeat(3));
    expect(answers.match(/^HTTP\/1\.1 \d+/gm)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 429']);
    expect(answers).toContain('too many requests from your address - slow down\n');
    expect(server.output()).toContain('"kind":"http_rate"');
    expect((await get(server.port, '/', host, '127.0.0.21')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await get(server.port, '/', host, '127.0.0.20')).status).toBe(200);
  }));
});

describe('/logs', () => {
  it('sends a multi-megabyte log whole to a client that reads it slowly, and the same bytes to the next', () => withServer({ RATE_BURST_FRAMES: '1000', RATE_FRAMES_PER_S: '1000' }, async (server) => {
    const { member, roomId, fp, signer } = await joinedMember(server.port);
    const logs = () => shapedLogsPath(roomId, fp, signer);
    for (let seq = 1; seq <= 60; seq++) member.send(encodeUpload(shapedUpload(roomId, fp, seq, 49, 4368)));
    await expect.poll(() => member.frames.filter((f) => f.startsWith('{"t":"msg"')).length, { timeout: 10_000 }).toBe(60);
    const host = { host: `127.0.0.1:${server.port}` };
    const slow = await get(server.port, logs(), host, '127.0.0.1', 1_500);
    const fast = await get(server.port, logs(), host);
    expect(slow.status).toBe(200);
    expect(slow.body.length).toBeGreaterThan(2 * 2 ** 20);
    expect(slow.body).toBe(fast.body);
    const log = JSON.parse(slow.body) as { roomId: string; entries: { type: string; sender: string; size: number; frame: string }[] };
    expect(log.roomId).toBe(roomId);
    expect(log.entries.map((e) => e.type)).toEqual(['hello', ...Array.from({ length: 60 }, () => 'msg')]);
    for (const e of log.entries) expect(e.size).toBe(e.frame.length);
    // A new message shows at once: the cached body is rebuilt after a change.
    member.send(encodeUpload(shapedUpload(roomId, fp, 61)));
    await member.next((f) => f.includes('"seq":61'));
    expect((JSON.parse((await get(server.port, logs(), host)).body) as { entries: unknown[] }).entries).toHaveLength(62);
    await member.close();
  }));
});

describe('/logs entries', () => {
  it('shows each upload exactly as received (its bytes in base64url), also one whose envelope has whitespace between its tokens, and the join frame of each hello', () => withServer({}, async (server) => {
    const { member, roomId, fp, signer, hello } = await joinedMember(server.port);
    const compact = encodeUpload(shapedUpload(roomId, fp, 1));
    // JSON allows whitespace between tokens: the envelope's JSON re-framed with tabs and newlines.
    const spaced = respacedUpload(encodeUpload(shapedUpload(roomId, fp, 2)));
    member.send(compact);
    member.send(spaced);
    await member.next((f) => /"seq":\s*2,/.test(f));
    const answer = await get(server.port, shapedLogsPath(roomId, fp, signer), { host: `127.0.0.1:${server.port}` });
    expect(answer.status).toBe(200);
    const log = JSON.parse(answer.body) as { entries: { type: string; sender: string; size: number; frame: string }[] };
    expect(log.entries.map((e) => [e.type, e.sender])).toEqual([['hello', fp], ['msg', fp], ['msg', fp]]);
    expect(JSON.parse(log.entries[0]?.frame ?? '')).toEqual({ t: 'join', hello: JSON.parse(JSON.stringify(hello)) });
    expect(log.entries[1]?.frame).toBe(toB64u(compact));
    expect(log.entries[2]?.frame).toBe(toB64u(spaced));
    // What a reader of the log does with an entry: the upload, with every wrap, back.
    const logged = decodeUpload(fromB64u(log.entries[2]?.frame ?? '') as Uint8Array);
    expect(logged instanceof Error ? logged.message : logged.env.seq).toBe(2);
    for (const e of log.entries) expect(e.size).toBe(e.frame.length);
    await member.close();
  }));
});

describe('/logs when a room’s log is full', () => {
  it('keeps exactly the last LOG_MAX_ENTRIES uploads, each as received, when longer and shorter ones follow each other (and relays each envelope as written)', () => withServer({ LOG_MAX_ENTRIES: '3' }, async (server) => {
    const { member, roomId, fp, signer } = await joinedMember(server.port);
    const upload = (seq: number): Uint8Array => {
      const bytes = encodeUpload(shapedUpload(roomId, fp, seq, 0, seq % 4 === 0 ? 528 : 272));
      // Even ones re-framed with whitespace: a few dozen bytes longer than the odd ones around them.
      return seq % 2 === 1 ? bytes : respacedUpload(bytes);
    };
    const sent = Array.from({ length: 11 }, (_, i) => upload(i + 1));
    for (const [i, frame] of sent.entries()) {
      member.send(frame);
      const delivered = await member.next((f) => new RegExp(`"seq":\\s*${i + 1},`).test(f));
      // Each member gets the envelope as its sender wrote it (PROTOCOL.md §8.4), then its own wrap.
      const { envText, wraps } = uploadParts(frame);
      expect(delivered).toBe(`{"t":"msg","env":${envText},"wrap":"${toB64u(wraps)}"}`);
      if (i < 2) continue;
      const answer = await get(server.port, shapedLogsPath(roomId, fp, signer), { host: `127.0.0.1:${server.port}` });
      const log = JSON.parse(answer.body) as { entries: { type: string; size: number; frame: string }[] };
      expect(log.entries.map((e) => e.frame)).toEqual(sent.slice(i - 2, i + 1).map((u) => toB64u(u)));
      for (const e of log.entries) expect(e.size).toBe(e.frame.length);
    }
    await member.close();
  }));
});

describe('/metrics', () => {
  it('is not there without METRICS_TOKEN', () => withServer({ METRICS_TOKEN: '' }, async (server) => {
    expect((await get(server.port, '/metrics', { host: `127.0.0.1:${server.port}` })).status).toBe(404);
    expect((await get(server.port, '/metrics', { host: `127.0.0.1:${server.port}`, authorization: 'Bearer ' })).status).toBe(404);
  }));

  it('answers only the bearer of METRICS_TOKEN, and is a 404 to anyone else', () => withServer({ METRICS_TOKEN: 'open-sesame-0123456789' }, async (server) => {
    const host = `127.0.0.1:${server.port}`;
    for (const authorization of [undefined, 'Bearer wrong', 'Bearer open-sesame-012345678', 'open-sesame-0123456789', 'Basic open-sesame-0123456789']) {
      const answer = await get(server.port, '/metrics', authorization === undefined ? { host } : { host, authorization });
      expect({ authorization, status: answer.status }).toEqual({ authorization, status: 404 });
    }
    const ok = await get(server.port, '/metrics', { host, authorization: 'Bearer open-sesame-0123456789' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/^hush_rooms 0$/m);
    expect(ok.body).toMatch(/^hush_memory_budget_bytes \d+$/m);
  }));
});
