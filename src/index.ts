/**
 * rtspkit's public API (the package's "." export):
 *
 *   import { RtspClient, Publisher, RtspServer, startApp } from 'rtspkit';
 *
 * - Client: RtspClient (play and record sessions over UDP, TCP, TLS or an HTTP tunnel), Publisher
 *   (ANNOUNCE/RECORD and sending access units or RTP packets), RtspClientError and the track summaries.
 * - Server: RtspServer, and startApp (the server wired to a Config, as `rtspkit serve` runs it).
 * - Media: the AccessUnit type every event and writer uses, and TsMuxer (MPEG-TS writer).
 */
export {
  RtspClient,
  type ClientTransport,
  type DescribeResult,
  type PlayOptions,
  type RtspClientEvents,
  type RtspClientOptions,
  type SetupOptions,
  type TrackStats,
} from './client/index.js';
export { RtspClientError } from './client/errors.js';
export { Publisher, type PublisherOptions } from './client/publisher.js';
export {
  formatTrackSummary,
  summarizeTrack,
  tracksFromSdp,
  type ClientTrack,
  type TrackSummary,
} from './client/tracks.js';
export { RtspServer, SUPPORTED_METHODS, type RtspServerOptions } from './server/server.js';
export { startApp, DEMO_CLIP, type App, type AppOptions } from './app.js';
export { defaultConfig, loadConfigFile, parseConfig, ConfigError, type Config } from './config/config.js';
export type { AccessUnit } from './format/access-unit.js';
export type { RtpPacket } from './rtp/packet.js';
export type { RtcpPacket } from './rtp/rtcp.js';
export { TsMuxer, type TsCodec, type TsTrack } from './container/mpegts/index.js';
export { Fmp4Muxer, type Fmp4Codec, type Fmp4Track, type Fmp4MuxerOptions } from './container/fmp4/index.js';
export type { Logger } from './base/logger.js';
