export * from './reader.js';
export * from './nal.js';
export * from './sample-entry.js';
export * from './sample-table.js';
export * from './codec-config.js';
