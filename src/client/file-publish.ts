/**
 * Publishing an MP4 file in real time (`rtspkit publish`): Mp4LoopSource paces the file's RTP packets
 * into a Stream (the source's only sink type), whose one packet reader forwards them to a Publisher
 * (ANNOUNCE, SETUP with mode=record, RECORD). The Stream waits for the first keyframe (the file starts
 * with one) and sheds nothing else while the connection keeps up: its backlog is the connection's.
 */
import { clockTimeout, systemClock, type Clock, type ClockTimer } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { Stream } from '../media/stream.js';
import { packetReader } from '../media/stream-reader.js';
import { Mp4LoopSource } from '../sources/mp4-loop.js';
import { RtspClientError } from './errors.js';
import type { ClientTransport } from './media.js';
import { Publisher, type PublisherOptions } from './publisher.js';

/** Why a publish ended: the end of the file, stop(), the server closing, or an error (`error`). */
export type FilePublishEndReason = 'eof' | 'stopped' | 'closed' | 'error';

export interface FilePublishEnd {
  reason: FilePublishEndReason;
  /** The fault, for 'error' and 'closed' (an RtspClientError from the client, an Error from the file). */
  error?: unknown;
}

export interface FilePublishOpenOptions {
  /** Play the file again and again (default false: stop at its end). */
  loop?: boolean;
  clock?: Clock;
  logger?: Logger;
}

/** TEARDOWN is waited for at most this long when a publish ends; the connection closes anyway. */
const TEARDOWN_WAIT_MS = 2000;

export class FilePublish {
  /** RTP packets and bytes handed to the publisher. */
  packets = 0;
  bytes = 0;
  /** Resolves once the publish has ended and its connection is closed. */
  readonly ended: Promise<FilePublishEnd>;
  #resolveEnded: (end: FilePublishEnd) => void = () => undefined;
  #publisher: Publisher | undefined;
  #stream: Stream | undefined;
  #finishing = false;

  private constructor(
    private readonly source: Mp4LoopSource,
    private readonly clock: Clock,
  ) {
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
  }

  /** Opens the file; rejects with an Error naming it (missing: `cause.code` ENOENT, not an MP4, no track). */
  static async open(file: string, options: FilePublishOpenOptions = {}): Promise<FilePublish> {
    const clock = options.clock ?? systemClock;
    const source = await Mp4LoopSource.open({
      file,
      loop: options.loop ?? false,
      clock,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    return new FilePublish(source, clock);
  }

  /** Completed loops of the file. */
  get loops(): number {
    return this.source.loops;
  }

  /** The transport the server accepted, once started. */
  get transport(): ClientTransport | undefined {
    return this.#publisher?.client.transport;
  }

  /**
   * Connects to `url`, ANNOUNCEs the file's SDP, SETUPs and RECORDs, then starts sending. Rejects with
   * the client's error (the file is closed then); after it resolves, the end comes through `ended`.
   */
  async start(url: string, sdpUrl: string, options: PublisherOptions = {}): Promise<void> {
    const source = this.source;
    let publisher: Publisher;
    try {
      publisher = await Publisher.start(url, source.media.describeSdp(sdpUrl), {
        clock: this.clock,
        ...options,
      });
    } catch (e) {
      await source.stop();
      throw e;
    }
    this.#publisher = publisher;
    const stream = new Stream(source.media.tracks, { clock: this.clock });
    this.#stream = stream;
    const client = publisher.client;
    stream.addReader(
      packetReader({
        tracks: source.media.tracks.map((_, i) => i),
        backlogBytes: () => client.writableLength,
        rtp: (track, packet) => {
          if (this.#finishing) return;
          this.packets++;
          this.bytes += packet.length;
          publisher.sendRtp(track, packet);
        },
        ended: (reason) => {
          if (reason === 'end of file') void this.#finish({ reason: 'eof' });
          else if (reason.startsWith('file source error'))
            void this.#finish({ reason: 'error', error: new Error(reason) });
        },
      }),
    );
    client.on('error', (e) => void this.#finish({ reason: 'error', error: e }));
    client.on('close', () => {
      void this.#finish({
        reason: 'closed',
        error: new RtspClientError('CLOSED', 'the server closed the connection'),
      });
    });
    source.start(stream);
  }

  /** Stops sending, TEARDOWN (waited for a while) and closes; `ended` then resolves with 'stopped'. */
  stop(): Promise<void> {
    return this.#finish({ reason: 'stopped' });
  }

  async #finish(end: FilePublishEnd): Promise<void> {
    if (this.#finishing) return;
    this.#finishing = true;
    await this.source.stop();
    this.#stream?.end(end.reason);
    const publisher = this.#publisher;
    if (publisher !== undefined) {
      if (end.reason !== 'closed') {
        let timer: ClockTimer | undefined;
        const waited = new Promise<void>((resolve) => {
          timer = clockTimeout(this.clock, resolve, TEARDOWN_WAIT_MS, { unref: true });
        });
        try {
          await Promise.race([publisher.close(), waited]);
        } finally {
          timer?.cancel();
        }
      }
      publisher.client.close();
    }
    this.#resolveEnded(end);
  }
}
