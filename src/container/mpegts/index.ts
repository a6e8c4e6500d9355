/** MPEG-2 transport stream writer (sans-I/O): access units in, 188-byte packets out. */
export * from './crc32.js';
export * from './muxer.js';
