/**
 * A bare-bones WebSocket client over a TCP socket, for fuzzing: it sends
 * exactly the bytes a test wants (any opcode, any payload) and reports how
 * the server closed the connection. Much cheaper per connection than `ws`.
 */
import { connect } from 'node:net';

export const OPCODE = { TEXT: 0x1, BINARY: 0x2 } as const;

/** One client frame: FIN set, masked with a zero key (valid, and leaves the payload readable). */
export function clientFrame(payload: Buffer, opcode: number = OPCODE.TEXT): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : len < 65536
    ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff])
    : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

export interface RawClose {
  /** The close code, 1006 when the server dropped the connection without a close frame, -1 on timeout. */
  code: number;
  reason: string;
  /** Text frames the server sent before closing, its challenge included. */
  texts: number;
}

/**
 * Opens `path`, sends `frames` once upgraded, and resolves when the server
 * closes. `frames` as a function: sent once the server's challenge has
 * arrived, built with its nonce (a hello's door signs it).
 */
export function rawSession(port: number, path: string, frames: Buffer[] | ((nonce: string) => Buffer[]), localAddress: string, timeoutMs = 5_000): Promise<RawClose> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1', localAddress });
    let buf = Buffer.alloc(0);
    let isUpgraded = false;
    let texts = 0;
    let isDone = false;
    const finish = (r: RawClose) => {
      if (isDone) return;
      isDone = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ code: -1, reason: 'timeout', texts }), timeoutMs);
    sock.on('connect', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!isUpgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = buf.subarray(0, 12).toString();
        if (!status.includes(' 101')) return finish({ code: -2, reason: status, texts });
        isUpgraded = true;
        buf = buf.subarray(end + 4);
        if (Array.isArray(frames)) sock.write(Buffer.concat(frames));
      }
      for (;;) {
        if (buf.length < 2) return;
        const opcode = (buf[0] ?? 0) & 0x0f;
        let len = (buf[1] ?? 0) & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) return;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (opcode === 0x8) return finish({ code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString(), texts });
        if (opcode === 0x1 && texts++ === 0 && !Array.isArray(frames)) {
          const nonce = (JSON.parse(payload.toString()) as { nonce?: string }).nonce;
          if (nonce === undefined) return finish({ code: -3, reason: 'no challenge first', texts });
          sock.write(Buffer.concat(frames(nonce)));
        }
      }
    });
    sock.on('error', () => finish({ code: 1006, reason: '', texts }));
    sock.on('close', () => finish({ code: 1006, reason: '', texts }));
  });
}
