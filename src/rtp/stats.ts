/**
 * Per-source RTP statistics for RTCP reports: RFC 3550 §A.1 (sequence validation with probation),
 * §A.3 (expected / lost / fraction lost per interval), §A.8 (interarrival jitter), and the sender's
 * packet / octet counts of §6.4.1. Sans-I/O: arrival times are passed in (milliseconds on any
 * monotonic clock, as long as the same clock is used for one instance).
 */
import { ntpMiddle32 } from '../base/clock.js';
import { tsDiff32 } from '../base/seq.js';
import type { ReportBlock, SenderReport } from './rtcp.js';

const SEQ_MOD = 0x10000;

export interface RtpReceiverStatsOptions {
  /** Sequential packets before a source is valid (§A.1 MIN_SEQUENTIAL); 1 accepts the first. Default 2. */
  minSequential?: number;
  /** A forward jump of at least this many is a "large jump" (§A.1 MAX_DROPOUT). Default 3000. */
  maxDropout?: number;
  /** Up to this far behind the highest: late or duplicate; beyond: a jump (MAX_MISORDER). Default 100. */
  maxMisorder?: number;
}

/** What the receiver remembers of the last SR from the source, for LSR/DLSR and RTP-to-wall mapping. */
export interface LastSenderReport {
  ntpMiddle32: number;
  sr: SenderReport;
  arrivalMs: number;
}

export class RtpReceiverStats {
  private readonly minSequential: number;
  private readonly maxDropout: number;
  private readonly maxMisorder: number;

  // §A.1 source state.
  private maxSeq = 0;
  /** Wraps counted so far, times 2^16. */
  private cycles = 0;
  private baseSeq = 0;
  private badSeq = SEQ_MOD + 1;
  private probation: number;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private started = false;

  // §A.8 jitter state: the previous packet's arrival and timestamp (transit differences are
  // computed from the deltas so 32-bit wrap and large absolute times do not matter).
  private prevArrivalMs: number | undefined;
  private prevTimestamp = 0;
  private jitterTicks = 0;

  private bytes = 0;
  private lastSr: LastSenderReport | undefined;
  private lastFraction = 0;

  constructor(
    readonly clockRate: number,
    options: RtpReceiverStatsOptions = {},
  ) {
    if (!(clockRate > 0)) throw new RangeError(`clockRate ${clockRate} must be positive`);
    this.minSequential = Math.max(1, options.minSequential ?? 2);
    this.maxDropout = options.maxDropout ?? 3000;
    this.maxMisorder = options.maxMisorder ?? 100;
    this.probation = this.minSequential;
  }

  /**
   * Accounts one received packet. Returns false when the packet was not counted: the source is
   * still on probation, or the sequence number jumped and the jump is not yet confirmed by a
   * second packet (§A.1). Duplicates and reordered packets are counted, as in the RFC.
   */
  onPacket(sequenceNumber: number, rtpTimestamp: number, arrivalMs: number, payloadBytes = 0): boolean {
    const seq = sequenceNumber & 0xffff;
    if (!this.updateSeq(seq)) return false;
    this.bytes += payloadBytes;
    this.updateJitter(rtpTimestamp >>> 0, arrivalMs);
    return true;
  }

  private initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
    // A restarted source has a new timing base too.
    this.prevArrivalMs = undefined;
    this.jitterTicks = 0;
  }

  private updateSeq(seq: number): boolean {
    if (!this.started) {
      // §A.1 "init_seq(s, seq); s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL".
      this.initSeq(seq);
      this.maxSeq = (seq - 1) & 0xffff;
      this.probation = this.minSequential;
      this.started = true;
    }
    const udelta = (seq - this.maxSeq) & 0xffff;
    if (this.probation > 0) {
      if (seq === ((this.maxSeq + 1) & 0xffff)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.initSeq(seq);
          this.received++;
          return true;
        }
      } else {
        this.probation = this.minSequential - 1;
        this.maxSeq = seq;
      }
      return false;
    }
    if (udelta < this.maxDropout) {
      // In order, possibly with a gap.
      if (seq < this.maxSeq) this.cycles += SEQ_MOD;
      this.maxSeq = seq;
    } else if (udelta <= SEQ_MOD - this.maxMisorder) {
      // A very large jump: accept it only if the next packet continues from it (sender restart).
      if (seq === this.badSeq) {
        this.initSeq(seq);
      } else {
        this.badSeq = (seq + 1) & 0xffff;
        return false;
      }
    }
    // else: duplicate or reordered packet, counted but the highest sequence stays.
    this.received++;
    return true;
  }

  private updateJitter(timestamp: number, arrivalMs: number): void {
    if (this.prevArrivalMs !== undefined) {
      // §A.8: D(i-1,i) = (R_i - R_{i-1}) - (S_i - S_{i-1}) in timestamp units; J += (|D| - J) / 16.
      const arrivalDelta = ((arrivalMs - this.prevArrivalMs) * this.clockRate) / 1000;
      const d = Math.abs(arrivalDelta - tsDiff32(this.prevTimestamp, timestamp));
      this.jitterTicks += (d - this.jitterTicks) / 16;
    }
    this.prevArrivalMs = arrivalMs;
    this.prevTimestamp = timestamp;
  }

  /** Remembers the last SR for LSR/DLSR (§6.4.1) and for `rtpToWallMs`. */
  onSenderReport(sr: SenderReport, arrivalMs: number): void {
    this.lastSr = { ntpMiddle32: ntpMiddle32(sr.ntp), sr, arrivalMs };
  }

  /**
   * Builds the reception report block about this source (as `ssrc`) and starts a new reporting
   * interval (§A.3). Before the source is validated the block reports nothing received.
   */
  reportBlock(ssrc: number, nowMs: number): ReportBlock {
    const expected = this.expectedPackets;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    this.lastFraction =
      expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);

    let lsr = 0;
    let dlsr = 0;
    if (this.lastSr) {
      lsr = this.lastSr.ntpMiddle32;
      const delayS = Math.max(0, nowMs - this.lastSr.arrivalMs) / 1000;
      dlsr = Math.min(0xffffffff, Math.floor(delayS * 65536));
    }
    return {
      ssrc: ssrc >>> 0,
      fractionLost: Math.min(255, this.lastFraction),
      cumulativeLost: Math.max(-0x800000, Math.min(0x7fffff, this.cumulativeLost)),
      highestSeq: this.extendedHighestSeq >>> 0,
      jitter: Math.min(0xffffffff, Math.floor(this.jitterTicks)),
      lsr,
      dlsr,
    };
  }

  /** True once the source passed probation (§A.1) and packets are being counted. */
  get validated(): boolean {
    return this.started && this.probation === 0;
  }

  /** Packets counted (duplicates included, probation excluded). */
  get packetsReceived(): number {
    return this.received;
  }

  /** Sum of the `payloadBytes` passed to counted packets. */
  get bytesReceived(): number {
    return this.bytes;
  }

  /** Highest sequence number with the wrap count above it; not reduced to 32 bits. */
  get extendedHighestSeq(): number {
    return this.validated ? this.cycles + this.maxSeq : 0;
  }

  /** Packets expected since validation: extended highest - base + 1 (§A.3). */
  get expectedPackets(): number {
    return this.validated ? this.cycles + this.maxSeq - this.baseSeq + 1 : 0;
  }

  /** Expected minus received, unclamped (negative with duplicates). */
  get cumulativeLost(): number {
    return this.expectedPackets - this.received;
  }

  /** Fraction lost (0..255) in the interval ended by the last `reportBlock` call. */
  get fractionLost(): number {
    return this.lastFraction;
  }

  /** Interarrival jitter estimate in timestamp units (unrounded). */
  get jitter(): number {
    return this.jitterTicks;
  }

  get jitterMs(): number {
    return (this.jitterTicks * 1000) / this.clockRate;
  }

  get lastSenderReport(): LastSenderReport | undefined {
    return this.lastSr;
  }
}

/**
 * Sender-side counts for SR sender info (§6.4.1). The wire fields wrap at 2^32; `totalOctets` and
 * `totalPackets` keep counting.
 */
export class RtpSenderStats {
  private packets = 0;
  private octets = 0;
  private lastTs: number | undefined;
  private lastWall: number | undefined;

  /**
   * Accounts one sent packet: `payloadBytes` excludes header and padding (§6.4.1). `wallMs`, the
   * wall-clock time the timestamp corresponds to, enables `lastRtpTimestamp`/`lastWallMs`.
   */
  onPacketSent(payloadBytes: number, rtpTimestamp: number, wallMs?: number): void {
    this.packets++;
    this.octets += payloadBytes;
    this.lastTs = rtpTimestamp >>> 0;
    if (wallMs !== undefined) this.lastWall = wallMs;
  }

  /** SR packet count, 32 bits wrapping. */
  get packetCount(): number {
    return this.packets % 0x100000000;
  }

  /** SR octet count, 32 bits wrapping. */
  get octetCount(): number {
    return this.octets % 0x100000000;
  }

  get totalPackets(): number {
    return this.packets;
  }

  get totalOctets(): number {
    return this.octets;
  }

  get lastRtpTimestamp(): number | undefined {
    return this.lastTs;
  }

  get lastWallMs(): number | undefined {
    return this.lastWall;
  }

  /** §6.4.1: counts restart when the SSRC changes. */
  reset(): void {
    this.packets = 0;
    this.octets = 0;
    this.lastTs = undefined;
    this.lastWall = undefined;
  }
}
