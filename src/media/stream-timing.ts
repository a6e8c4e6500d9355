/**
 * A live stream's timing: where each track's RTP time sits on our monotonic clock, from packet arrival
 * until the publisher's sender reports take over, and the RTP-Info rtptimes of a reader starting to
 * play. Apart from the Stream's fan-out (queues, GOP cache, backlogs) because it changes with interop
 * findings about clocks (ffmpeg's and GStreamer's use of RTP-Info and SRs), not with delivery; the
 * per-track lines themselves live in the counters (track-counters.ts), shared with the Stream.
 */
import type { Clock } from '../base/clock.js';
import { monotonicMsOf, type RtpTiming, type TrackCounters } from './track-counters.js';

/** The first packet a reader receives on a track: what RTP-Info reports. */
export interface ReaderStart {
  seq: number;
  rtptime: number;
}

export class StreamTiming {
  /** The publisher's NTP clock minus our monotonic one, from its first sender report. */
  private senderClockOffsetMs: number | undefined;

  constructor(
    private readonly tracks: readonly { clockRate: number }[],
    /** The Stream's counters, whose `timing` lines this moves. */
    private readonly counters: readonly TrackCounters[],
    private readonly clock: Clock,
    /** The track whose keyframe a reader starts at: RTP-Info's reference instant. */
    private readonly frameTrack: number,
  ) {}

  /**
   * Takes the publisher's sender report for a track (RFC 3550 §6.4.1). Its NTP clock is moved onto ours
   * by one offset for the whole stream, fixed at the first report, so the publisher's own A/V alignment is
   * what readers get, whatever its wall clock says.
   *
   * The tracks keep their arrival-based lines until every track has had a report, then all move to the
   * reports' lines at once: a stream whose lines mixed the two (GStreamer's rtspclientsink reports each
   * track on its own schedule, the first ones 1-3 s in) would place its tracks by neither, and change that
   * placement again at the next track's first report. The move itself shifts the tracks against each other
   * by the publisher's per-track send latency (38 and 80 ms seen with GStreamer); readers already joined
   * do not see it as a step, their sender reports follow their own lines (see `followTiming`).
   */
  ingestSenderReport(track: number, rtpTimestamp: number, ntpUnixMs: number): void {
    const counters = this.counters[track];
    if (counters === undefined) return;
    this.senderClockOffsetMs ??= this.clock.monotonicMs() - ntpUnixMs;
    counters.senderReport = { rtpTimestamp: rtpTimestamp >>> 0, ntpUnixMs };
    if (this.counters.some((c) => c.senderReport === undefined)) return;
    for (const c of this.counters) {
      if (c.timing?.fromSenderReport === true && c !== counters) continue;
      c.timing = {
        rtpTimestamp: c.senderReport!.rtpTimestamp,
        monotonicMs: c.senderReport!.ntpUnixMs + this.senderClockOffsetMs,
        fromSenderReport: true,
      };
    }
  }

  /** The monotonic instant of an RTP timestamp of a track, or undefined before its first packet. */
  monotonicMsOfRtp(track: number, rtpTimestamp: number): number | undefined {
    const timing = this.counters[track]?.timing;
    if (timing === undefined) return undefined;
    return monotonicMsOf(timing, rtpTimestamp, this.tracks[track]!.clockRate);
  }

  /** The RTP timestamp of a track at a monotonic instant (the inverse of monotonicMsOfRtp). */
  rtpAtMonotonicMs(track: number, monotonicMs: number): number | undefined {
    const timing = this.counters[track]?.timing;
    if (timing === undefined) return undefined;
    const ticks = Math.round(((monotonicMs - timing.monotonicMs) * this.tracks[track]!.clockRate) / 1000);
    return (timing.rtpTimestamp + ticks) >>> 0;
  }

  /**
   * The RTP-Info rtptimes of a reader that starts with `starts`: RFC 2326 §12.33 gives each track the RTP
   * time of one instant (the Range start), not of its own first packet. The instant is the reader's first
   * packet on the frame track (its keyframe); each track's rtptime is that instant in its RTP time through
   * the timing its sender reports are built from, so RTP-Info and SRs place the tracks alike (a receiver
   * moving from one to the other, as ffmpeg does at its first SR, sees no step). The first packets of the
   * other tracks may precede their rtptime by their interleaving with the keyframe (audio) or follow it.
   * A track without timing keeps its first packet's timestamp.
   *
   * The lines are a copy of the stream's: the Stream makes them the reader's own (see `rtpInfoTimes`).
   */
  rtpInfo(starts: readonly (ReaderStart | undefined)[]): {
    lines: (RtpTiming | undefined)[];
    times: (number | undefined)[];
  } {
    const lines = this.counters.map((c) => (c.timing !== undefined ? { ...c.timing } : undefined));
    const ref =
      starts[this.frameTrack] !== undefined ? this.frameTrack : starts.findIndex((s) => s !== undefined);
    const refLine = ref < 0 ? undefined : lines[ref];
    const atMs =
      refLine === undefined
        ? undefined
        : monotonicMsOf(refLine, starts[ref]!.rtptime, this.tracks[ref]!.clockRate);
    const times = starts.map((s, track) => {
      if (s === undefined) return undefined;
      const line = lines[track];
      if (atMs === undefined || track === ref || line === undefined) return s.rtptime;
      const ticks = Math.round(((atMs - line.monotonicMs) * this.tracks[track]!.clockRate) / 1000);
      return (line.rtpTimestamp + ticks) >>> 0;
    });
    return { lines, times };
  }
}
