// Mutation testing of the security core (`npm run test:mutation`, not part of
// `npm test`: it runs the core's unit tests once per mutant, tens of minutes
// on two cores). Every check in these files should have a test that fails
// when the check is broken; surviving mutants are listed in the report.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'test/mutation/vitest.config.ts' },
  // The checks, not the plumbing around them: validators and base64, the
  // verify and open functions, the receiver's check lists, the sender ledger,
  // and roster agreement. Line ranges keep a run within about half an hour.
  mutate: [
    'client/protocol.ts:83-170',
    'client/protocol.ts:323-690',
    'client/crypto.ts:86-111',
    'client/crypto.ts:148-228',
    'client/crypto.ts:250-366',
    'client/crypto.ts:406-505',
    'client/crypto.ts:609-611',
    'client/room.ts:236-258',
    'client/room.ts:403-520',
    'client/room.ts:561-600',
    'client/room.ts:665-800',
    'client/roster.ts:182-370',
    'client/verify.ts',
    'client/sender-ledger.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // Past the test's own time (times timeoutFactor): a mutant that loops is a timeout, which counts as killed.
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
