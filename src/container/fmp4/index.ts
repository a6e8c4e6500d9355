/** Fragmented MP4 writer (sans-I/O): access units in, init segment and moof+mdat fragments out. */
export * from './boxes.js';
export * from './muxer.js';
export * from './track-config.js';
