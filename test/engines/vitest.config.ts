import { defineConfig } from 'vitest/config';

// The same specs in Chromium, Firefox ESR and WebKitGTK (driver.ts). One file
// at a time: each drives several browsers, and the machine may have two cores.
export default defineConfig({
  test: {
    include: ['test/engines/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
