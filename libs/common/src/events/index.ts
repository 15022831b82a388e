export * from './stage-event';
export * from './splitter-events';
export * from './compressor-events';
export * from './uploader-events';
