/**
 * Access-unit sinks (L3): where access units, the one currency between protocols, are written.
 *
 * - container.ts: the AccessUnitSink interface, ContainerSink (the base of the multi-track sinks),
 *   containerTracks (which tracks a container takes, NO_TRACK when none).
 * - tracks.ts: track setup shared with the HLS muxer: carriedTracks, AlignedTracks (one timeline).
 * - mpegts.ts: TsSink, tsTrackFor.
 * - fmp4.ts: Fmp4Sink.
 * - elementary.ts: ElementaryStreamSink (Annex-B H.264/H.265, ADTS AAC).
 * - play-start.ts: PlayStartLine (units placed by a PLAY reply's RTP-Info rtptimes), rtpInfoTimes.
 * - recording.ts: a recording to a file: the sink an extension names, its tracks, whole writes.
 */
export * from './container.js';
export * from './elementary.js';
export * from './fmp4.js';
export * from './mpegts.js';
export * from './play-start.js';
export * from './recording.js';
export * from './tracks.js';
