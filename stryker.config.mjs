// Mutation testing of the security core (`npm run test:mutation`, not part of
// `npm test`: it runs the core's unit tests once per mutant, tens of minutes
// on two cores). Every check in these files should have a test that fails
// when the check is broken; surviving mutants are listed in the report.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'test/mutation/vitest.config.ts' },
  mutate: [
    'client/protocol.ts',
    'client/crypto.ts',
    'client/room.ts',
    'client/roster.ts',
    'client/verify.ts',
    'client/sender-ledger.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
