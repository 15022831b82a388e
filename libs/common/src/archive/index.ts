export * from './index-entry';
