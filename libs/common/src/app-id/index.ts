export * from './safe-app-id';
export * from './script-mix';
