/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__', '<rootDir>/number-crunch/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking is `npm run compile`'s job; ts-jest only transpiles here, which keeps the suite fast.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
};
