export * from './crash-points';
