/**
 * The primary's one reader of a path per worker: each flush of the path's Stream reaches a worker as
 * one IPC message of interleaved frames (channel 2 × track), however many readers the worker serves.
 * The publisher's sender reports go along when they change, so the worker's Stream moves its timing
 * lines as the primary's does. Its backlog is what the IPC channel has not taken yet: past the Stream's
 * bound the feed sheds like any reader (the worker's readers see a gap), and if it never drains it is
 * cut off, which ends the sessions it carried (pool.ts).
 */
import type { Stream, StreamEndInfo, StreamReader } from '../media/stream.js';
import type { ServerSession } from '../server/session.js';
import type { PrimaryMessage } from './protocol.js';

export interface FeedOwner {
  /** Sends to the feed's worker. */
  send(m: PrimaryMessage): void;
  /** Bytes sent to the worker and not yet taken by its channel (less those waiting behind a handoff). */
  readonly backlogBytes: number;
  feedEnded(feed: Feed, reason: string, info: StreamEndInfo): void;
  feedCutOff(feed: Feed, reason: string): void;
}

export class Feed implements StreamReader {
  readonly transport = 'tcp' as const;
  readonly tracks: readonly number[];
  readonly rtpChannels: readonly number[];
  /** The primary's sessions whose reading this feed carries to the worker. */
  readonly sessions = new Set<ServerSession>();
  /** Handoffs waiting for this feed (or their reader) to go live. */
  pending = 0;
  private readonly lastSr: (object | undefined)[];

  constructor(
    readonly stream: Stream,
    readonly key: number,
    private readonly owner: FeedOwner,
  ) {
    this.tracks = stream.tracks.map((_, i) => i);
    this.rtpChannels = this.tracks.map((i) => 2 * i);
    this.lastSr = this.tracks.map(() => undefined);
  }

  get backlogBytes(): number {
    return this.owner.backlogBytes;
  }

  writeInterleaved(bytes: Buffer): void {
    this.forwardSenderReports();
    this.owner.send({ t: 'media', key: this.key, bytes });
  }

  // No writeInterleavedTransient: a message sent while a socket's handle awaits its ACK waits unserialized
  // in Node's queue (child_process `_handleQueue`), so the bytes must stay the feed's (one buffer a flush).

  sendRtp(): void {
    // A TCP reader: the Stream writes framed bytes.
  }

  sendRtcp(): void {
    // The worker sends its readers' reports itself.
  }

  streamEnded(reason: string, info?: StreamEndInfo): void {
    this.owner.feedEnded(this, reason, info ?? {});
  }

  cutOff(reason: string): void {
    this.owner.feedCutOff(this, reason);
  }

  private forwardSenderReports(): void {
    for (const track of this.tracks) {
      const sr = this.stream.senderReport(track);
      if (sr === undefined || sr === this.lastSr[track]) continue;
      this.lastSr[track] = sr;
      this.owner.send({
        t: 'sr',
        key: this.key,
        track,
        rtpTimestamp: sr.rtpTimestamp,
        ntpUnixMs: sr.ntpUnixMs,
      });
    }
  }
}
