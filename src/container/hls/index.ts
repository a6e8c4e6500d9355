/** HLS (RFC 8216) with fMP4 segments, sans-I/O: media playlists and a live segmenter. */
export * from './playlist.js';
export * from './segmenter.js';
