/**
 * A forward HTTP proxy on loopback that answers for one made-up name,
 * `hush.test`, from the Hush server on 127.0.0.1 at the same port. Every
 * engine is pointed at it (loopback itself goes direct), so
 * `http://hush.test:<port>/` is the real server on an origin that no engine
 * counts as potentially trustworthy: the page a person gets at plain http on
 * a LAN name. Any other host is refused, so nothing leaves the machine. The
 * proxy names the server's own host upstream, as a reverse proxy would: Hush
 * answers only for the host names it serves.
 */
import { createServer, request } from 'node:http';

export const INSECURE_HOST = 'hush.test';

export interface InsecureProxy {
  port: number;
  /** The insecure twin of a loopback origin such as http://127.0.0.1:8080. */
  urlFor: (origin: string, path?: string) => string;
  close: () => Promise<void>;
}

export function startInsecureProxy(): Promise<InsecureProxy> {
  const proxy = createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute URL expected');
      return;
    }
    if (target.hostname !== INSECURE_HOST || target.protocol !== 'http:') {
      res.writeHead(403).end(`this proxy only serves http://${INSECURE_HOST}`);
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: Number(target.port || 80), path: `${target.pathname}${target.search}`, method: req.method, headers: { ...req.headers, host: `127.0.0.1:${target.port || 80}` } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  // No tunnels (https, WebSocket upgrades through CONNECT): the insecure page never needs one.
  proxy.on('connect', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
  return new Promise((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => {
      const address = proxy.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      resolve({
        port,
        urlFor: (origin, path = '/') => `http://${INSECURE_HOST}:${new URL(origin).port}${path}`,
        close: () => new Promise((done) => { proxy.closeAllConnections(); proxy.close(() => done()); }),
      });
    });
  });
}
