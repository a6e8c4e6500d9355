/**
 * A live source that plays an MP4 file in a loop, paced in real time, into a Stream: the demo
 * stream, and any "camera from a file" path.
 *
 *   const src = await Mp4LoopSource.open({ file: 'media/demo.mp4', logger });
 *   const stream = new Stream(src.media.tracks);   // src.media.describeSdp() answers DESCRIBE
 *   src.start(stream);
 *   ...
 *   await src.stop();                              // the owner ends the stream
 *
 * Supported tracks: H.264, H.265 (RFC 6184 / RFC 7798, packetization-mode 1), AAC (RFC 3640
 * AAC-hbr, one AU per packet) and Opus (RFC 7587); others are skipped with a warning. Opening,
 * packetizing and the SDP are shared with the VOD engine (mp4-rtp.ts).
 *
 * Pacing. One timer, on the injected clock (`clockTimeout`), drives the source: each tick sends every
 * sample whose decode time is due against `clock.monotonicMs()`, all tracks merged in decode (dts)
 * order, then re-arms itself for the next due sample, waiting at most TICK_MS (so a clock without
 * timers that jumps, like a test's ManualClock, is polled; a ManualTimerClock runs it on `advance`). A sample is thus sent within ~1 ms of its time, which matters because the server's RTCP
 * sender reports map RTP time to the time packets reach the Stream: a coarse fixed tick would make
 * that mapping jitter by the tick, and ffmpeg re-times its packets by every sender report. There is
 * never more than one timer pending, and samples due together go out in one tick. Sample bytes are
 * read ahead asynchronously into a small bounded queue (READ_AHEAD_SAMPLES / READ_AHEAD_BYTES), so a
 * tick never waits on the disk; a tick that finds the head sample more than MAX_LAG_MS late (event
 * loop stalled, disk too slow) shifts the wall-clock anchor instead of bursting the backlog. RTP
 * timestamps do not depend on the anchor, so such a shift is invisible to players except as jitter.
 *
 * Timestamps. A packet's RTP timestamp is its sample's presentation time (pts, RFC 6184 §5.1: with
 * B-frames timestamps are not monotonic in decode order, as in any H.264 RTP stream), converted from
 * the track's MP4 timescale to the RTP clock (90 kHz video, sample rate for AAC, 48 kHz Opus), plus a
 * random per-track base. Timestamps and sequence numbers continue across loops: loop k adds k times
 * the LOOP PERIOD to every track. The period is one value in seconds for the whole file, the span of
 * the presentation timeline over all tracks (earliest pts of any track to the latest sample end),
 * converted to each track's clock. A per-track duration would let audio and video drift apart by
 * their length difference on every loop (AAC is coded in 1024-sample frames, so its length never
 * matches the video's exactly); a shared period keeps them in sync forever, at the cost of a short
 * gap in the shorter track at the loop point (the demo: ~27 ms of video; no time ever goes back).
 * The last sample of a track counts with at least the duration of the one before it: encoders
 * shorten the last AAC frame's stts entry to trim padding, while the decoded frame stays whole.
 *
 * The MP4 edit list is applied by the reader (AAC priming samples get negative pts): those samples
 * are sent too, at the start of each loop, where they fall in the gap the shared loop period leaves
 * (the priming rule of files on demand, which drops them, is about a range's start; a live reader
 * joins at a keyframe anyway).
 *
 * Parameter sets. Every keyframe lacking SPS/PPS (VPS) gets those of avcC/hvcC put first (see
 * mp4-rtp.ts), so that each GOP the Stream caches starts with its parameter sets.
 *
 * Errors. A file that cannot be opened or holds no supported track makes `open` reject with a clear
 * Error. A read error while playing (file truncated, replaced, disk error) is logged, stops the
 * source and ends the stream (`stream.end(reason)`); the process never crashes. A malformed sample
 * (bad NAL lengths) is skipped with a warning. Without `loop`, the stream ends at the end of the file.
 *
 * Sender reports: the source gives the Stream each track's RTP-to-clock line at start (and again if
 * the anchor moves), as a publisher's SR would, so readers' reports and RTP-Info follow the file's
 * presentation timeline exactly for audio and video alike; deriving it from packet arrival instead
 * would put B-frame video a few frames early (sent at its dts, stamped with its pts).
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import { clockTimeout, systemClock, type ClockTimer } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { nullLogger } from '../base/logger.js';
import { ParseError } from '../base/errors.js';
import type { Mp4Reader, Mp4SampleInfo } from '../container/mp4/reader.js';
import type { AccessUnit, Packetizer } from '../format/access-unit.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { Stream } from '../media/stream.js';
import type { FileByteSource } from './file-source.js';
import {
  describeMp4,
  errorMessage,
  mod32,
  openMp4ForRtp,
  presentationSpan,
  rtpPackets,
  type Mp4RtpTrack,
} from './mp4-rtp.js';

/** Longest wait of the pacing timer (it usually wakes at the next sample's time). */
const TICK_MS = 10;
/** Read-ahead bounds: at least one sample, at most this many or this many bytes queued. */
const READ_AHEAD_SAMPLES = 128;
const READ_AHEAD_BYTES = 8 * 1024 * 1024;
/** A head sample later than this re-anchors the wall clock instead of sending a burst. */
const MAX_LAG_MS = 1000;
/** Samples skipped as malformed are logged one by one up to this count, then only counted. */
const MAX_SAMPLE_WARNINGS = 10;
const TWO_32 = 2 ** 32;

export interface Mp4LoopSourceOptions {
  file: string;
  /** Play the file again and again (default true); false ends the stream at the end of the file. */
  loop?: boolean;
  clock?: Clock;
  logger?: Logger;
  /** Maximum RTP payload size (default 1400). */
  maxPayloadBytes?: number;
}

/** One played track: its place in the Stream, its RTP format and its timing. */
interface LoopTrack {
  readonly rtp: Mp4RtpTrack;
  readonly packetizer: Packetizer;
  /** Random initial RTP timestamp (RFC 3550 §5.1). */
  readonly timestampBase: number;
  /** Loop period in this track's RTP clock (fractional; rounded per loop, so no drift). */
  readonly periodRtpTicks: number;
  seq: number;
}

interface Queued {
  track: LoopTrack;
  /** Stream track index. */
  index: number;
  info: Mp4SampleInfo;
  loop: number;
  data: Buffer;
}

export class Mp4LoopSource {
  readonly media: PublishedMedia;
  /** Loop period: the presentation span of the file over all tracks, in seconds. */
  readonly periodSeconds: number;

  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly loop: boolean;
  /** Earliest decode time of the file, seconds: the anchor's origin. */
  private readonly startSeconds: number;
  private readonly trackIds: number[];
  private readonly byId: Map<number, { track: LoopTrack; index: number }>;

  private stream: Stream | undefined;
  private timer: ClockTimer | undefined;
  private anchorMs = 0;
  private stopped = false;
  private closing: Promise<void> | undefined;

  // read-ahead
  private samples: Generator<Mp4SampleInfo, void, undefined>;
  private readLoop = 0;
  private readDone = false;
  private reading: Promise<void> | undefined;
  private queue: Queued[] = [];
  private queuedBytes = 0;

  private sentLoop = 0;
  private completedLoops = 0;
  private badSamples = 0;

  private constructor(
    private readonly source: FileByteSource,
    private readonly reader: Mp4Reader,
    tracks: LoopTrack[],
    media: PublishedMedia,
    periodSeconds: number,
    startSeconds: number,
    options: Mp4LoopSourceOptions,
    logger: Logger,
  ) {
    this.media = media;
    this.periodSeconds = periodSeconds;
    this.startSeconds = startSeconds;
    this.clock = options.clock ?? systemClock;
    this.logger = logger;
    this.loop = options.loop ?? true;
    this.trackIds = tracks.map((t) => t.rtp.mp4.id);
    this.byId = new Map(tracks.map((track, index) => [track.rtp.mp4.id, { track, index }]));
    this.samples = reader.samples(0, this.trackIds);
  }

  /**
   * Opens the file and prepares its tracks. Rejects with an Error naming the file when it cannot be
   * read, is not a progressive MP4, or has no track in a supported codec (h264, h265, aac, opus).
   */
  static async open(options: Mp4LoopSourceOptions): Promise<Mp4LoopSource> {
    const file = options.file;
    const logger = (options.logger ?? nullLogger).child({ source: 'mp4-loop', file });
    const { source, reader, tracks: played } = await openMp4ForRtp(file, logger, options.maxPayloadBytes);
    try {
      // The presentation span of the file: earliest pts of any track to the latest sample end.
      let first = Infinity;
      let end = -Infinity;
      let firstDts = Infinity;
      for (const { mp4: t } of played) {
        const span = presentationSpan(t);
        first = Math.min(first, span.firstPts / t.timescale);
        end = Math.max(end, span.end / t.timescale);
        firstDts = Math.min(firstDts, t.samples.dts[0]! / t.timescale);
      }
      const period = end - first;
      if (!(period > 0) || !Number.isFinite(period))
        throw new Error(`${file} cannot be looped: its samples span no time`);

      const tracks = played.map((rtp) => makeLoopTrack(rtp, period));
      const media = describeMp4(played, file, 'npt=now-');
      logger.info(
        {
          tracks: played.map((t) => `${t.published.encodingName}/${t.published.clockRate}`),
          periodSeconds: Number(period.toFixed(6)),
        },
        'mp4 loop source opened',
      );
      return new Mp4LoopSource(source, reader, tracks, media, period, firstDts, options, logger);
    } catch (e) {
      await source.close().catch(() => undefined);
      throw e;
    }
  }

  /** Completed loops: how many times the whole file has been sent. */
  get loops(): number {
    return this.completedLoops;
  }

  /** Starts sending into `stream`, whose tracks must be `media.tracks` in this order. */
  start(stream: Stream): void {
    if (this.stopped) throw new Error('Mp4LoopSource: start after stop');
    if (this.stream !== undefined) throw new Error('Mp4LoopSource: already started');
    if (stream.tracks.length !== this.media.tracks.length)
      throw new Error(
        `Mp4LoopSource: the stream has ${stream.tracks.length} tracks, the file ${this.media.tracks.length}`,
      );
    this.stream = stream;
    this.anchorMs = this.clock.monotonicMs();
    this.publishTiming(stream);
    this.fill();
    this.arm(this.anchorMs);
  }

  /**
   * Resolves once no read-ahead is in flight. Reads are file I/O, not timers: a test driving the source
   * on a ManualTimerClock waits for them between steps, so that only the clock decides when samples go.
   */
  readsSettled(): Promise<void> {
    return this.reading ?? Promise.resolve();
  }

  /** Stops the timer and the reads, and closes the file. Does not end the stream. Idempotent. */
  stop(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.queue = [];
    this.queuedBytes = 0;
    await this.reading?.catch(() => undefined);
    await this.source.close().catch((e: unknown) => {
      this.logger.warn({ err: errorMessage(e) }, 'closing the file failed');
    });
  }

  // ---- pacing ----

  /** Wall-clock (monotonic) time at which a sample is due. */
  private dueMs(q: Queued): number {
    const t = q.loop * this.periodSeconds + q.info.dtsTicks / q.info.timescale - this.startSeconds;
    return this.anchorMs + t * 1000;
  }

  private tick(): void {
    const stream = this.stream;
    if (this.stopped || stream === undefined) return;
    if (stream.ended) {
      this.logger.debug({}, 'stream ended: source stops');
      void this.stop();
      return;
    }
    try {
      const now = this.clock.monotonicMs();
      for (let q = this.queue[0]; q !== undefined; q = this.queue[0]) {
        const due = this.dueMs(q);
        if (due > now) break;
        if (now - due > MAX_LAG_MS) {
          this.anchorMs += now - due;
          this.publishTiming(stream);
          this.logger.warn({ lateMs: Math.round(now - due) }, 'source fell behind: wall-clock anchor moved');
        }
        this.queue.shift(); // at most READ_AHEAD_SAMPLES long
        this.queuedBytes -= q.data.length;
        this.send(stream, q);
      }
      if (this.readDone && this.reading === undefined && this.queue.length === 0) {
        this.completedLoops = this.readLoop + 1;
        this.logger.info({ loops: this.completedLoops }, 'end of file: stream ends');
        void this.stop();
        stream.end('end of file');
        return;
      }
      this.fill();
      this.arm(now);
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * Tells the Stream where each track's RTP time sits on the clock, as a publisher's sender report
   * would (RFC 3550 §6.4.1): the presentation time `startSeconds` is at `anchorMs` on every track. Readers'
   * reports and RTP-Info then follow the file's own A/V alignment, not packet arrival, which with
   * B-frames is a few frames early for video (sent at dts, stamped with pts). The source's clock is the
   * server's, so "NTP" here is the monotonic anchor itself.
   */
  private publishTiming(stream: Stream): void {
    for (const { track, index } of this.byId.values()) {
      const ticks = Math.round(this.startSeconds * track.rtp.published.clockRate);
      stream.ingestSenderReport(index, mod32(track.timestampBase + ticks), this.anchorMs);
    }
  }

  /** Sets the one pacing timer: for the head sample's time, at most TICK_MS from now. */
  private arm(now: number): void {
    if (this.stopped) return;
    const head = this.queue[0];
    const waitMs = head === undefined ? TICK_MS : Math.min(TICK_MS, Math.max(0, this.dueMs(head) - now));
    this.timer = clockTimeout(
      this.clock,
      () => {
        this.timer = undefined;
        this.tick();
      },
      Math.ceil(waitMs),
    );
  }

  private send(stream: Stream, q: Queued): void {
    if (q.loop > this.sentLoop) {
      this.sentLoop = q.loop;
      this.completedLoops = q.loop;
      this.logger.debug({ loops: q.loop }, 'loop');
    }
    const t = q.track;
    const clockRate = t.rtp.published.clockRate;
    const pts =
      Math.round(q.loop * t.periodRtpTicks) + Math.round((q.info.ptsTicks * clockRate) / q.info.timescale);
    let au: AccessUnit;
    try {
      au = t.rtp.accessUnit(q.data, pts);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      this.badSamples++;
      if (this.badSamples <= MAX_SAMPLE_WARNINGS)
        this.logger.warn(
          { trackId: q.info.trackId, sample: q.info.index, err: e.message, skipped: this.badSamples },
          'malformed sample skipped',
        );
      return;
    }
    // The Stream sets its own SSRC.
    const packets = rtpPackets(t.packetizer, au, t.rtp.published.payloadType, t.seq, t.timestampBase, 0);
    t.seq = (t.seq + packets.length) & 0xffff;
    for (const packet of packets) stream.ingestRtp(q.index, packet);
  }

  // ---- read-ahead ----

  /** A method, so that the checks after an await are not narrowed away. */
  private isStopped(): boolean {
    return this.stopped;
  }

  private wantsMore(): boolean {
    const queued = this.queue.length;
    return queued === 0 || (queued < READ_AHEAD_SAMPLES && this.queuedBytes < READ_AHEAD_BYTES);
  }

  /** Starts an asynchronous read-ahead unless one runs or the queue is full. */
  private fill(): void {
    if (this.reading !== undefined || this.readDone || this.stopped || !this.wantsMore()) return;
    const p = this.readAhead()
      .catch((e: unknown) => {
        this.fail(e);
      })
      .finally(() => {
        if (this.reading === p) this.reading = undefined;
      });
    this.reading = p;
  }

  private async readAhead(): Promise<void> {
    while (!this.stopped && this.wantsMore()) {
      const info = this.nextSample();
      if (info === undefined) {
        this.readDone = true;
        return;
      }
      if (info.size === 0) continue;
      const loop = this.readLoop;
      const { track, index } = this.byId.get(info.trackId)!;
      const data = await this.reader.readSample(track.rtp.mp4, info.index);
      if (this.isStopped()) return; // stop() during the read: the queue is gone
      this.queue.push({ track, index, info, loop, data });
      this.queuedBytes += data.length;
    }
  }

  private nextSample(): Mp4SampleInfo | undefined {
    let r = this.samples.next();
    if (r.done === true) {
      if (!this.loop) return undefined;
      this.readLoop++;
      this.samples = this.reader.samples(0, this.trackIds);
      r = this.samples.next();
      if (r.done === true) return undefined;
    }
    return r.value;
  }

  private fail(e: unknown): void {
    if (this.stopped) return;
    const reason = `file source error: ${errorMessage(e)}`;
    this.logger.error({ err: errorMessage(e) }, 'mp4 loop source failed: stream ends');
    void this.stop();
    this.stream?.end(reason);
  }
}

function makeLoopTrack(rtp: Mp4RtpTrack, periodSeconds: number): LoopTrack {
  return {
    rtp,
    packetizer: rtp.createPacketizer(),
    timestampBase: randomInt(0, TWO_32 - 1),
    periodRtpTicks: periodSeconds * rtp.published.clockRate,
    seq: randomInt(0, 0x10000),
  };
}
