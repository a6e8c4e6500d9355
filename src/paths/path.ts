/**
 * A path and who feeds it, as the path manager (path-manager.ts) keeps them: a name, a typed owner,
 * the media its owner described and, once media flows, the Stream readers attach to. The owner is
 * data, not a string to re-parse: the API, the config and the view all read the same `kind`.
 */
import type { PublishedMedia } from '../media/published-media.js';
import type { Stream, StreamTap } from '../media/stream.js';

/** Where a config path or an API path comes from: who may change or remove it. */
export type FileLoopOrigin = 'config' | 'api';

/**
 * Who feeds a path. A publisher claims it with ANNOUNCE (RFC 2326 §10.3) and feeds it after RECORD;
 * every other kind is a source inside the server, whose Stream exists from the start. The next
 * kinds (a pull from another server, the playback of a recording) are added here; the switches over
 * `kind` are exhaustive, so the compiler lists what each new kind must answer.
 */
export type PathOwner =
  | { readonly kind: 'publisher'; readonly sessionId: string }
  | { readonly kind: 'file-loop'; readonly file: string; readonly origin: FileLoopOrigin }
  /** A program that embeds the server feeds the Stream itself (`RtspServer.addSourcePath`). */
  | { readonly kind: 'embedded' }
  /**
   * A pull from another RTSP server (sources/rtsp-pull.ts). `url` has no credentials (it is shown in the
   * API and logs); `onDemand`: started by the first reader and stopped after an idle delay.
   */
  | { readonly kind: 'pull'; readonly url: string; readonly onDemand: boolean };

export type SourceOwner = Exclude<PathOwner, { kind: 'publisher' }>;

/** A path as the engine reads it; the manager alone changes it. */
export interface Path {
  readonly name: string;
  readonly owner: PathOwner;
  readonly media: PublishedMedia;
  /** Undefined between a publisher's ANNOUNCE and its RECORD; a source's path has one from the start. */
  readonly stream: Stream | undefined;
  /** Monotonic ms of the claim, or of RECORD for a publisher. */
  readonly sinceMs: number;
  /** The source inside the server that feeds it, if any (its `stats` are shown in the API). */
  readonly source: PathSource | undefined;
}

/**
 * Something inside the server that feeds a path (Mp4LoopSource, and later a pull client): it
 * describes its media, writes into the Stream it is given, and stops when asked. It ends the Stream
 * itself when it cannot go on (end of a non-looping file, a read error); the manager then frees the path.
 */
export interface PathSource {
  /** The media now; it may change while the source runs (see `PathSourceControl.mediaChanged`). */
  readonly media: PublishedMedia;
  /** Writes into `stream` from now on; `control` lets the source ask the manager for a new Stream. */
  start(stream: Stream, control?: PathSourceControl): void;
  /** Stops writing and frees what it holds; does not end the Stream. Idempotent. */
  stop(): Promise<void>;
  /** Figures about the source's own input (a pull's upstream), for the API and metrics. */
  stats?(): PathSourceStats;
}

/** What a running source may ask of the path manager. */
export interface PathSourceControl {
  /**
   * The source's media changed (an upstream came back with other codec parameters): the manager ends the
   * path's Stream with `reason` (readers told, not-ready) and starts the same source into a new Stream made
   * from its new `media` (ready). The name stays the source's throughout.
   */
  mediaChanged(reason: string): void;
}

/** A source's input as numbers, by name (a pull: reconnects, packets lost, jitter, bitrate). */
export interface PathSourceStats {
  readonly [figure: string]: number | string | boolean | null;
}

/** What a path's listeners get (plain data and a tap, never the Path itself). */
export interface ReadyPath {
  name: string;
  owner: PathOwner;
  media: PublishedMedia;
  /** Joining and leaving the path's Stream (a recorder, the HLS muxer). */
  tap: StreamTap;
}

export interface NotReadyPath {
  name: string;
  owner: PathOwner;
  reason: string;
}

export type PathReadyListener = (path: ReadyPath) => void;
export type PathNotReadyListener = (path: NotReadyPath) => void;

/**
 * Sources started when a reader asks for a path nobody feeds (mediamtx's `sourceOnDemand`): the seam
 * where a pull source plugs in. `sourceFor` says whether `name` has one; `open` prepares it (connects,
 * reads the media description); the manager then starts it into a new Stream.
 */
export interface OnDemandSources {
  /** `query`: the first reader's URL query (without `?`), for the commands it starts (RTSPKIT_QUERY). */
  sourceFor(name: string, query?: string): OnDemandSource | OnDemandPublisher | undefined;
}

export interface OnDemandSource {
  readonly owner: SourceOwner;
  open(): Promise<PathSource>;
  /**
   * Stop the source once its path had no reader for this long (mediamtx's `sourceOnDemandCloseAfter`);
   * absent: it runs until removed.
   */
  readonly closeAfterMs?: number;
  /** How long a reader waits for it to start; absent: the manager's `onDemandStartTimeoutMs`. */
  readonly startTimeoutMs?: number;
}

/**
 * Something started on demand that publishes to the path itself over RTSP (runOnDemand: a command
 * running ffmpeg from a device): the manager starts it and waits for a publisher's RECORD on the name,
 * whoever that is; it stops it after `closeAfterMs` without readers (paths/on-demand-publishers.ts).
 */
export interface OnDemandPublisher {
  readonly publishes: true;
  /** How long the first reader waits for the RECORD (the manager's start timeout does not apply). */
  readonly startTimeoutMs: number;
  readonly closeAfterMs: number;
  /** Starts it; false when it cannot start (nothing to wait for). */
  start(): boolean;
  /** Whether it still runs or will restart (false once it exited for good). */
  isActive(): boolean;
  /** Ends it; its publisher's session ends with its connection. Idempotent. */
  stop(): Promise<void>;
}

/** The API's wording: `publisher` for an RTSP publisher, `pull` for a pull, `file` for other sources inside the server. */
export function sourceKindOf(owner: PathOwner): 'publisher' | 'file' | 'pull' {
  switch (owner.kind) {
    case 'publisher':
      return 'publisher';
    case 'pull':
      return 'pull';
    case 'file-loop':
    case 'embedded':
      return 'file';
  }
}

/** Whether `path` is the one the session `sessionId` publishes. */
export function isPublishedBy(path: Path | undefined, sessionId: string): path is Path {
  return path?.owner.kind === 'publisher' && path.owner.sessionId === sessionId;
}

/** The path manager's counted refusals and stops (the API's `/metrics`). */
export interface PathManagerCounters {
  /** Readers refused an on-demand start because `maxOnDemandSources` were running. */
  onDemandRefused: number;
  /** On-demand sources stopped after `closeAfterMs` without readers. */
  onDemandIdleStops: number;
  /** Sources whose media changed and started again into a new Stream. */
  sourceMediaChanges: number;
}
