import { defineConfig } from 'vitest/config';

// Load, fuzz and soak tests against a real server: slower, run after the unit tests.
export default defineConfig({
  test: {
    include: ['test/load/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
