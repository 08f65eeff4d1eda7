/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  modulePathIgnorePatterns: [
    '<rootDir>/test/smoke/',
    '<rootDir>/test/versions/',
    '<rootDir>/dist/',
    '<rootDir>/sample/dist/',
    '<rootDir>/bench/dist/',
  ],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  moduleNameMapper: {
    '^nestjs-tracing$': '<rootDir>/lib',
    '^nestjs-tracing/(.*)$': '<rootDir>/lib/$1',
  },
};

module.exports = {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/lib/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      // The specs on other Nest versions run on Node's test runner: npm run test:e2e:versions.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/versions/'],
    },
  ],
};
