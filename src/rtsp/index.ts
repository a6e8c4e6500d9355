/** The RTSP message layer (L1, sans-I/O): framing, messages, header codecs and URLs. */
export * from './auth-header.js';
export * from './fields.js';
export * from './framer.js';
export * from './headers.js';
export * from './message.js';
export * from './range.js';
export * from './rtp-info.js';
export * from './session.js';
export * from './status.js';
export * from './transport.js';
export * from './url.js';
export * from './onvif.js';
export * from './playback-url.js';
