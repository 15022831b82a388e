// Test doubles and contract suites: for specs, e2e tests, the bench and the chaos run only.
// Never built (tsconfig.build.json), never in the image (.dockerignore), never imported by
// production code (eslint.config.mjs).
export * from './oss/credentials-test-server';
export * from './oss/oss-test-server';
export { checkSignature } from './oss/oss-signature';
export type { AuthFailure, SignedRequest, SigningSecrets } from './oss/oss-signature';
export * from './storage-contract';
