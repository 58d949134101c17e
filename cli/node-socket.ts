/**
 * The `ws` package behind the small socket interface the client core uses
 * (room-connection.ts SocketLike), so a terminal or a bot runs the same
 * RoomConnection the page does. Node only: client/ stays free of it.
 */
import WebSocket from 'ws';
import type { SocketLike } from '../client/join-room';

export interface NodeSocketOptions {
  /** Extra trusted certificate(s), PEM, for a server with a self-signed certificate (`--ca`). */
  ca?: string | Buffer;
  /** Told why a socket failed, in words without addresses or room content. */
  onError?: (text: string) => void;
}

const TLS_TRUST_CODES = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/**
 * Why a socket failed, for stderr. Node's own messages name the address
 * ("connect ECONNREFUSED 10.0.0.5:443"), so only the error code is kept.
 */
export function describeSocketError(err: Error & { code?: unknown }): string {
  const code = typeof err.code === 'string' ? err.code : '';
  if (TLS_TRUST_CODES.has(code)) return `the server's certificate is not trusted (${code}): pass --ca <file> or set NODE_EXTRA_CA_CERTS`;
  if (code === 'ECONNREFUSED') return 'the server refused the connection (ECONNREFUSED)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the server's name did not resolve (${code})`;
  const status = /^Unexpected server response: (\d{3})$/.exec(err.message);
  if (status !== null) return `the server answered HTTP ${status[1] ?? ''} instead of opening the room`;
  return `connection error (${code === '' ? 'no code' : code})`;
}

export function nodeSocketOpener(options: NodeSocketOptions = {}): (url: string) => SocketLike {
  return (url) => {
    const ws = new WebSocket(url, options.ca === undefined ? {} : { ca: options.ca });
    const socket: SocketLike = {
      // The core sends only once open; a frame for a socket already closing has nowhere to go.
      send: (data) => { if (ws.readyState === WebSocket.OPEN) ws.send(data); },
      close: (code, reason) => ws.close(code, reason),
      onmessage: null,
      onclose: null,
    };
    ws.on('message', (data, isBinary) => { if (!isBinary) socket.onmessage?.({ data: data.toString() }); });
    ws.on('close', (code, reason) => socket.onclose?.({ code, reason: reason.toString() }));
    // Without a listener, `ws` throws its errors; the close that follows tells the core.
    ws.on('error', (err) => options.onError?.(describeSocketError(err)));
    return socket;
  };
}
