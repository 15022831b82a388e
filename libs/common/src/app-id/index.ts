export * from './safe-app-id';
