/** Fragmented MP4: the writer (access units in, init segment and moof+mdat fragments out) and the reader (an index of fragments and samples). */
export * from './boxes.js';
export * from './muxer.js';
export * from './track-config.js';
export * from './prft.js';
export * from './reader.js';
