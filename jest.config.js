// Unit tests sit next to their code; end-to-end tests in test/ talk to a real broker and Redis.
const moduleNameMapper = {
  '^@logsplit/common$': '<rootDir>/libs/common/src',
  '^@logsplit/common/(.*)$': '<rootDir>/libs/common/src/$1',
  '^@logsplit/kafkajs-patches$': '<rootDir>/libs/kafkajs-patches/src',
  '^@logsplit/testing$': '<rootDir>/libs/testing/src',
  '^@logsplit/workload$': '<rootDir>/libs/workload/src',
};
// Transpile only (isolatedModules in tsconfig): type errors are tsc's job in lint/build.
const transform = { '^.+\\.ts$': ['ts-jest', {}] };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/eslint'],
      testMatch: ['**/*.spec.ts'],
      moduleNameMapper,
      transform,
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      moduleNameMapper,
      // Test readers drop aborted transactions as the services do (kafkajs' read_committed patch).
      setupFiles: ['<rootDir>/test/support/kafkajs-patches.ts'],
      transform,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      slowTestThreshold: 60,
    },
  ],
};
