export * from './input-scan';
export * from './seal';
export * from './segment-files';
export * from './segment-meta';
export * from './segment-event';
export * from './spool-layout';
export * from './segment-policy';
