/**
 * Per-address limits count an IPv4 client per address and an IPv6 client per
 * /64 (issue 14, item 5): one subscriber usually holds a whole /64, so
 * counting per IPv6 address would let it open the cap's worth of sockets from
 * each of 2^64 addresses. Loopback has no IPv6 /64 to pick from, so the
 * server and its clients run in a user and network namespace of their own
 * (unshare -rn), where loopback gets addresses from two /64s.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PROBE = fileURLToPath(new URL('./server-addresses.probe.mjs', import.meta.url));
const ADDRESSES = ['fd00:64::1', 'fd00:64::a:1', 'fd00:64::b:2', 'fd00:65::1'];
const hasNamespaces = spawnSync('unshare', ['-rn', 'true']).status === 0;

describe.skipIf(!hasNamespaces)('per-address keys (in a network namespace)', () => {
  it('counts IPv6 clients per /64 and IPv4 clients, also IPv4-mapped ones, per address', () => {
    const setup = ['ip link set lo up', ...ADDRESSES.map((a) => `ip -6 addr add ${a}/64 dev lo nodad`), `exec "${process.execPath}" "${PROBE}"`].join(' && ');
    const run = spawnSync('unshare', ['-rn', 'sh', '-c', setup], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout.trim().split('\n').pop() ?? '[]') as { from: string; result: string }[];
    expect(results).toEqual([
      { from: 'fd00:64::a:1', result: 'open' },
      { from: 'fd00:64::a:1', result: 'open' },
      // Another address in the same /64: the same client, past its cap of 2.
      { from: 'fd00:64::b:2', result: '429' },
      { from: 'fd00:65::1', result: 'open' },
      { from: '127.0.0.5', result: 'open' },
      { from: '127.0.0.5', result: 'open' },
      // Every IPv4 client arrives IPv4-mapped on [::]: each address is its own, not one ::ffff:0:0/64.
      { from: '127.0.0.6', result: 'open' },
      { from: '::ffff:127.0.0.5', result: '429' },
    ]);
  });
});
