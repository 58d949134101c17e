/** A small promise-based WebSocket client over `ws` for server tests. */
import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

export class TestSocket {
  /** Frames after the server's challenge. */
  readonly frames: string[] = [];
  readonly closed: Promise<Closed>;
  /** The nonce of the server's challenge, its first frame: a hello's door signs it. */
  readonly nonce: Promise<string>;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    let gotNonce: (nonce: string) => void = () => {};
    this.nonce = new Promise((resolve) => (gotNonce = resolve));
    let isFirst = true;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (isFirst) {
        isFirst = false;
        const challenge = JSON.parse(text) as { t: string; nonce?: string };
        if (challenge.t !== 'challenge' || challenge.nonce === undefined) throw new Error(`expected the challenge first, got ${text.slice(0, 80)}`);
        return gotNonce(challenge.nonce);
      }
      this.frames.push(text);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** `localAddress` picks the loopback source address (127.0.0.2, …), to act as another client address. */
  static open(url: string, origin?: string, localAddress?: string): Promise<TestSocket> {
    const ws = new WebSocket(url, { ...(origin === undefined ? {} : { origin }), ...(localAddress === undefined ? {} : { localAddress }) });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestSocket(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** Resolves with the first frame (from the start) that matches, waiting up to `timeoutMs`. */
  async next(match: (frame: string) => boolean, timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame within ${timeoutMs} ms; got ${this.frames.length} frames`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  close(): Promise<Closed> {
    this.ws.close(1000);
    return this.closed;
  }
}
