/**
 * The RTCP the server itself sends to readers: BYE when what they read has ended, and the periodic
 * sender reports of live paths (RFC 3550 §6.4.1, §6.6). Apart from the request handlers because it
 * runs on timers and on stream events, not on requests; a file's player sends its own reports
 * (sources/vod-rtp.ts).
 */
import type { Clock } from '../base/clock.js';
import { serializeRtcpCompound, type RtcpPacket } from '../rtp/rtcp.js';
import { senderReportFor } from '../rtp/clock-map.js';
import { monotonicMsOf } from '../media/track-counters.js';
import type { PathManager } from '../paths/path-manager.js';
import type { ServerSession } from './session.js';
import type { ServerSettings } from './server-options.js';

/**
 * RTP and RTCP travel on separate UDP sockets: a BYE sent right behind the last packets can be read
 * first, and ffmpeg stops at BYE. UDP readers (unicast and multicast) get it this much later.
 */
export const UDP_BYE_DELAY_MS = 200;

/** RTCP BYE for one of our SSRCs (RFC 3550 §6.6): the stream this reader got has ended. */
export function byePacket(ssrc: number): Buffer {
  return serializeRtcpCompound([{ type: 'bye', ssrcs: [ssrc], reason: 'stream ended' }]);
}

/** BYE on every track of a session, each with the SSRC that reader was given at SETUP. */
export function sendBye(session: ServerSession): void {
  for (const track of session.tracks) {
    session.sendRtcp(track, byePacket(session.ssrcs[track] ?? 0));
  }
}

export interface SenderReportsDeps {
  clock: Clock;
  paths: PathManager;
  /** Read at each tick: the interval and CNAME as they are now. */
  settings: Pick<ServerSettings, 'senderReportIntervalMs' | 'serverName'>;
}

/** Sender reports to the readers of every live path, one per reader and track. */
export class SenderReports {
  private lastSrMs = 0;
  /**
   * Wall clock minus monotonic clock, taken once: sender reports read the wall clock through it, so
   * their NTP and RTP times advance together (Date.now() has whole milliseconds and may be stepped).
   */
  private readonly wallOffsetMs: number;

  constructor(private readonly deps: SenderReportsDeps) {
    this.wallOffsetMs = deps.clock.wallMs() - deps.clock.monotonicMs();
  }

  /** Called by the sweeper; sends when the interval has passed since the last round. */
  tick(nowMs: number): void {
    if (nowMs - this.lastSrMs < this.deps.settings.senderReportIntervalMs) return;
    this.lastSrMs = nowMs;
    this.send(nowMs);
  }

  private send(nowMs: number): void {
    const wallMs = nowMs + this.wallOffsetMs;
    for (const live of this.deps.paths.list()) {
      const stream = live.stream;
      if (stream === undefined || stream.readerCount === 0) continue;
      stream.counters.forEach((c, track) => {
        if (c.lastRtpTimestamp === undefined) return;
        const clockRate = stream.tracks[track]!.clockRate;
        // One report per reader: its own SSRC and what it was sent (RFC 3550 §6.4.1).
        for (const r of stream.readersOfTrack(track)) {
          const sr = senderReportFor({
            ssrc: r.ssrc,
            clockRate,
            lastRtpTimestamp: c.lastRtpTimestamp,
            lastWallMs:
              wallMs -
              (nowMs -
                (r.timing !== undefined
                  ? monotonicMsOf(r.timing, c.lastRtpTimestamp, clockRate)
                  : c.lastArrivalMs)),
            nowMs: wallMs,
            packetCount: r.packetsSent,
            octetCount: r.octetsSent,
          });
          const sdes: RtcpPacket = {
            type: 'sdes',
            chunks: [{ ssrc: r.ssrc, items: [{ type: 1, text: this.deps.settings.serverName }] }],
          };
          r.reader.sendRtcp(track, serializeRtcpCompound([sr, sdes]));
        }
      });
    }
  }
}
