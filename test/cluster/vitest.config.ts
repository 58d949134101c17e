import { defineConfig } from 'vitest/config';

// The cluster test runs real HAProxy and Hush processes; `npm run test:cluster` builds first.
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    globalSetup: ['test/cluster/ensure-haproxy.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
