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
    'client/crypto.ts:253-369',
    'client/crypto.ts:409-508',
    'client/crypto.ts:612-614',
    'client/room.ts:266-279',
    'client/room.ts:380-405',
    'client/room.ts:426-527',
    'client/room.ts:545-554',
    'client/room.ts:578-633',
    'client/room.ts:699-830',
    'client/roster.ts:182-377',
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
