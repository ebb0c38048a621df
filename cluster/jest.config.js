/** Jest configuration of the cluster tests only (`npm run test:cluster`); the default `npm test` does not run them. */
/** @type {import('jest').Config} */
module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  roots: ['<rootDir>/cluster/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // One cluster, one test file at a time; every wait inside is bounded.
  maxWorkers: 1,
  testTimeout: 300000,
};
