import { defineConfig } from 'vitest/config';

/**
 * The unit tests that exercise the security core, for mutation testing
 * (stryker.config.mjs): no server, no browser. HUSH_MUTATION_TESTS picks a
 * smaller set aimed at one file, for runs of one file at a time on a small
 * machine (a mutant one of the left-out tests would kill then counts as
 * survived, so such a score is a lower bound).
 */
const SETS: Record<string, string[]> = {
  all: [
    'test/unit/protocol.test.ts',
    'test/unit/protocol-guards.test.ts',
    'test/unit/crypto.test.ts',
    'test/unit/room.test.ts',
    'test/unit/attacks.test.ts',
    'test/unit/insider.test.ts',
    'test/unit/ledger.test.ts',
    'test/unit/membership.test.ts',
    'test/unit/verify.test.ts',
    'test/unit/names.test.ts',
    'test/unit/reload.test.ts',
    'test/unit/roster.test.ts',
    'test/unit/room-checks.test.ts',
  ],
  verify: ['test/unit/verify.test.ts', 'test/unit/names.test.ts'],
  // protocol.ts's validators and the sender ledger: the parsers' own tests and the attacks they stop.
  protocol: ['test/unit/protocol.test.ts', 'test/unit/protocol-guards.test.ts', 'test/unit/attacks.test.ts', 'test/unit/ledger.test.ts', 'test/unit/insider.test.ts'],
  crypto: ['test/unit/crypto.test.ts', 'test/unit/protocol-guards.test.ts', 'test/unit/attacks.test.ts'],
  roster: ['test/unit/room.test.ts', 'test/unit/insider.test.ts', 'test/unit/roster.test.ts', 'test/unit/room-checks.test.ts'],
  room: ['test/unit/room.test.ts', 'test/unit/insider.test.ts', 'test/unit/attacks.test.ts'],
  // room.ts's checks with every test that drives a RoomSession: membership decisions, reloads, the receiver's verdicts.
  'room-wide': [
    'test/unit/room.test.ts',
    'test/unit/insider.test.ts',
    'test/unit/attacks.test.ts',
    'test/unit/membership.test.ts',
    'test/unit/reload.test.ts',
    'test/unit/room-checks.test.ts',
    'test/unit/files.test.ts',
  ],
};
const set = SETS[process.env.HUSH_MUTATION_TESTS ?? 'all'];
if (set === undefined) throw new Error(`HUSH_MUTATION_TESTS: one of ${Object.keys(SETS).join(', ')}`);

export default defineConfig({
  test: {
    include: set,
    // RSA keys from a pool made once (key-pool.ts): the room tests make several per test.
    globalSetup: ['test/mutation/key-pool.ts'],
    setupFiles: ['test/mutation/use-key-pool.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
