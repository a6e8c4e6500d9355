// SDP (RFC 8866) for RTSP: parse, serialize, typed attribute helpers and builders. Sans-I/O.
export type {
  Attribute,
  Bandwidth,
  Connection,
  Direction,
  ExtraLine,
  HasAttributes,
  MediaDescription,
  Origin,
  SessionDescription,
  TimeDescription,
} from './types.js';
export { parseSdp } from './parse.js';
export { serializeSdp } from './serialize.js';
export { FmtpParams, parseFmtp, parseFmtpParams, serializeFmtp } from './fmtp.js';
export type { Fmtp } from './fmtp.js';
export {
  addAttribute,
  findAttribute,
  getAttribute,
  getAttributes,
  getControl,
  getDirection,
  getFrameSize,
  getFramerate,
  getOwnDirection,
  getRange,
  hasAttribute,
  parseNptTime,
  parseRange,
  removeAttribute,
  serializeRange,
  setAttribute,
  setControl,
  setDirection,
  setFrameSize,
  setFramerate,
  setRange,
} from './attributes.js';
export type { FrameSize, SdpRange } from './attributes.js';
export {
  STATIC_PAYLOAD_TYPES,
  addMediaFormat,
  getFmtp,
  getRtpmap,
  getRtpmaps,
  mediaFormats,
  parseRtpmap,
  serializeRtpmap,
  setFmtp,
} from './formats.js';
export type { MediaFormat, Rtpmap, StaticPayloadType } from './formats.js';
export { createMediaDescription, createSessionDescription } from './build.js';
export type { MediaOptions, SessionOptions } from './build.js';
