/**
 * The seam between the server and per-reader upstream sessions (proxy-control.ts drives them,
 * sources/rtsp-pull-reader.ts makes them, app-pulls.ts says which paths have them). Types only, apart
 * from proxy-control.ts so that the session's role (session-state.ts) can name them without a cycle.
 */
import type { PublishedMedia } from '../media/published-media.js';
import type { ForwardedPlay, PullReaderSink } from '../sources/rtsp-pull-reader.js';

/** A reader's own upstream session, as the server drives it (PullReaderSession). */
export interface ReaderUpstream {
  readonly media: PublishedMedia;
  attach(sink: PullReaderSink, ssrcs: readonly (number | undefined)[]): void;
  play(tracks: readonly number[], headers: Record<string, string>): Promise<ForwardedPlay>;
  pause(): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * The seam (`RtspServerOptions.readerUpstreams`): for a path proxied per reader, opens a reader's
 * upstream session; `undefined` for every other path. The promise resolves to an RTSP status when
 * none can be opened (unreachable: 404, over the configured bound: 503).
 */
/** Upstream sessions opened for readers of per-reader paths (DESCRIBE's included), by what became of them. */
export interface ProxiedReaderCounters {
  /** Opened (a reader's DESCRIBE or SETUP). */
  upstreamsOpened: number;
  /** Refused for the bound (`pullMaxOnDemand`): the reader got 503. */
  upstreamsRefused: number;
  /** Could not be opened (unreachable, refused upstream): the reader got 404. */
  upstreamsFailed: number;
}

export interface ReaderUpstreams {
  upstreamFor(path: string): (() => Promise<ReaderUpstream | number>) | undefined;
}
