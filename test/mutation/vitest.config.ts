import { defineConfig } from 'vitest/config';

/**
 * The unit tests that exercise the security core, for mutation testing
 * (stryker.config.mjs): no server, no browser, so each mutant runs in seconds.
 */
export default defineConfig({
  test: {
    include: [
      'test/unit/protocol.test.ts',
      'test/unit/protocol-guards.test.ts',
      'test/unit/crypto.test.ts',
      'test/unit/room.test.ts',
      'test/unit/attacks.test.ts',
      'test/unit/insider.test.ts',
      'test/unit/ledger.test.ts',
      'test/unit/membership.test.ts',
      'test/unit/verify.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
