/** The RTSP client (L3): RtspClient for playing and recording sessions, Publisher for pushing media. */
export * from './client.js';
export type { ClientTransport, TrackStats } from './media.js';
export type {
  DescribeResult,
  PlayOptions,
  RtspClientEvents,
  RtspClientOptions,
  SetupOptions,
} from './options.js';
export * from './errors.js';
export * from './publisher.js';
export * from './tracks.js';
