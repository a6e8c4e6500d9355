/**
 * When a Stream's queued packets go out (its flush): at the end of the event-loop turn that queued the
 * first of them, or `writeCoalesceMs` after it (a window). Without a window, a flush in the middle of a
 * video frame waits for the frame's last packet.
 *
 * Why wait: a publisher writes a frame's packets back to back (ffmpeg one `$` frame per write), and the
 * server's event loop often reads the first before the rest has arrived. A flush per turn then sends the
 * first packets alone and the rest a turn later: two writes per reader where one would do (at 500 TCP
 * readers a quarter of the flushes were such half frames), and at 1000 readers a write costs the server
 * 12-16 µs of CPU (DEVELOPERS.md, "What a TCP write costs"). The RTP marker bit ends an access unit on
 * every video payload format (RFC 3551 §4.1; H.264 RFC 6184 §5.1, H.265 RFC 7798 §4.1, JPEG RFC 2435
 * §3.1), so a flush may wait for the packet with the marker: the frame is complete, and can be decoded, no
 * later than before; only its first packets, and audio packets that arrive meanwhile, wait for its last.
 *
 * Bounded both ways: a wait lasts at most MAX_FRAME_HOLD_MS from the first packet held, and only a publisher
 * that marks its frames is waited for (the last access unit that ended, ended with a marker), so a lost
 * marker packet costs one wait and a publisher that never sets the bit costs nothing.
 */
import { clockTimeout, type Clock, type ClockTimer } from '../base/clock.js';
import type { RtpHeader } from '../rtp/packet.js';

/** The longest a flush waits for the rest of a frame, from the first packet it holds. */
export const MAX_FRAME_HOLD_MS = 5;

/** Runs `fn` once at the next event-loop turn (not a timer: no time passes on any clock). */
function nextTurn(fn: () => void): ClockTimer {
  const immediate = setImmediate(fn);
  return { cancel: () => clearImmediate(immediate) };
}

/** Where the frames of the frame track end, from the marker bits of its packets. */
class FrameEnds {
  /** The last access unit that ended (its timestamp changed) had the marker bit on its last packet. */
  private marks = false;
  private timestamp: number | undefined;
  private lastMarker = false;
  /** The latest packet did not end its access unit, and this publisher marks the ends. */
  midFrame = false;

  observe(header: RtpHeader): void {
    if (header.timestamp !== this.timestamp) {
      if (this.timestamp !== undefined) this.marks = this.lastMarker;
      this.timestamp = header.timestamp;
    }
    this.lastMarker = header.marker;
    this.midFrame = this.marks && !header.marker;
  }
}

export class FlushSchedule {
  /** Flushes that waited for the end of a frame, and of those the ones sent at MAX_FRAME_HOLD_MS without it. */
  heldFlushes = 0;
  heldFlushTimeouts = 0;
  private scheduled = false;
  /** The scheduled flush waits for the end of a frame. */
  private held = false;
  private timer: ClockTimer | undefined;
  /** Without a window and with a track of frames: where they end. */
  private readonly frameEnds: FrameEnds | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly writeCoalesceMs: number,
    hasFrames: boolean,
    private readonly flush: () => void,
  ) {
    this.frameEnds = hasFrames && writeCoalesceMs === 0 ? new FrameEnds() : undefined;
  }

  /**
   * A packet was queued; `frameHeader` when it is one of the frame track's. Packets queued before a frame
   * starts wait with it (at most MAX_FRAME_HOLD_MS).
   */
  queued(frameHeader: RtpHeader | undefined): void {
    if (frameHeader !== undefined) this.frameEnds?.observe(frameHeader);
    const hold = this.frameEnds?.midFrame === true;
    if (this.scheduled) {
      if (hold === this.held) return;
      this.timer?.cancel();
    }
    this.scheduled = true;
    this.held = hold;
    if (hold) {
      this.heldFlushes++;
      this.timer = clockTimeout(this.clock, () => this.flushHeld(), MAX_FRAME_HOLD_MS);
    } else {
      this.timer =
        this.writeCoalesceMs > 0
          ? clockTimeout(this.clock, () => this.flush(), this.writeCoalesceMs)
          : nextTurn(() => this.flush());
    }
  }

  /** The flush runs now (or the stream ended): nothing stays scheduled. */
  cancel(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    this.held = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private flushHeld(): void {
    this.heldFlushTimeouts++;
    this.flush();
  }
}
