// Renders deploy/haproxy.cfg for Hush nodes on this machine, so that
// `npm run cluster` and test/cluster/ run the sample config itself.
import { readFileSync } from 'node:fs';

const SAMPLE_URL = new URL('./haproxy.cfg', import.meta.url);

/** Debian's binary; HAPROXY_PATH selects another. */
export const HAPROXY_PATH = process.env.HAPROXY_PATH || '/usr/sbin/haproxy';

/**
 * Environment every node gets behind the balancer. Each client reaches a node
 * from the balancer's address, so the per-address limits (connections, joins,
 * HTTP requests, decaying traffic cost) are the balancer's job (haproxy.cfg,
 * frontend) and a node's own must not bind. Per-connection limits still apply
 * on the node.
 */
export const BEHIND_BALANCER_ENV = {
  MAX_CONNS_PER_IP: '1000000',
  JOIN_BURST: '1000000',
  JOINS_PER_MIN: '1000000',
  IP_COST_LIMIT: '1000000000',
  HTTP_REQUEST_BURST: '1000000',
  HTTP_REQUESTS_PER_S: '1000000',
};

/**
 * The sample with a global section holding a stats socket, `bind` as the only
 * listener, and the n1 line of each backend repeated for every node, in order
 * (n1 gets nodes[0] and id 1, and so on).
 * @param {{ bind: string, nodes: readonly string[], statsSocket: string }} options
 * @returns {string}
 */
export function renderHaproxyConfig({ bind, nodes, statsSocket }) {
  const lines = [];
  let binds = 0;
  let serverBlocks = 0;
  for (const line of readFileSync(SAMPLE_URL, 'utf8').split('\n')) {
    const listener = /^(\s*)bind\s/.exec(line);
    const firstServer = /^(\s*server\s+)n1\s+\S+(.*)$/.exec(line);
    if (listener !== null) {
      binds += 1;
      lines.push(`${listener[1]}bind ${bind}`);
    } else if (firstServer !== null) {
      serverBlocks += 1;
      nodes.forEach((address, i) => lines.push(`${firstServer[1]}n${i + 1} ${address}${firstServer[2].replace(/\bid 1\b/, `id ${i + 1}`)}`));
    } else if (!/^\s*server\s/.test(line)) {
      lines.push(line);
    }
  }
  // Fail here, not with a half-rendered config that HAProxy might still accept.
  if (binds !== 1 || serverBlocks !== 2) {
    throw new Error(`deploy/haproxy.cfg: expected one bind line and an n1 server line in each of two backends, found ${binds} and ${serverBlocks}`);
  }
  return ['global', `    stats socket ${statsSocket} mode 600 level admin`, '', ...lines].join('\n');
}
