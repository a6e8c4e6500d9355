// A joining reader's RTP-Info times: one instant for every track (RFC 2326 §12.33), on the same
// RTP-to-clock lines its sender reports come from, whatever order the first packets came in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../base/clock.js';
import { serializeRtpPacket } from '../rtp/packet.js';
import { Stream, type StreamReader } from './stream.js';

class Reader implements StreamReader {
  readonly transport = 'udp';
  readonly rtpChannels: readonly (number | undefined)[] = [];
  readonly backlogBytes = 0;
  constructor(readonly tracks: readonly number[]) {}
  writeInterleaved(): void {}
  sendRtp(): void {}
  sendRtcp(): void {}
  streamEnded(): void {}
}

function packet(seq: number, timestamp: number, payload: number[]): Buffer {
  return serializeRtpPacket({
    marker: true,
    payloadType: 96,
    sequenceNumber: seq,
    timestamp,
    ssrc: 1,
    csrcs: [],
    payload: Buffer.from(payload),
  });
}

const IDR = [0x65, 0x88, 0x80];
const P_FRAME = [0x41, 0x9a, 0x00];

/** A stream of H.264 video (90 kHz) and AAC audio (48 kHz) on a manual clock, and that clock's start. */
function videoAndAudio(): { clock: ManualClock; stream: Stream; t0: number } {
  const clock = new ManualClock();
  const stream = new Stream(
    [
      { encodingName: 'H264', clockRate: 90000 },
      { encodingName: 'MPEG4-GENERIC', clockRate: 48000 },
    ],
    { clock },
  );
  return { clock, stream, t0: clock.monotonicMs() };
}

test("RTP-Info times: the keyframe's instant on every track, through the tracks' timing (not the first packets)", () => {
  const { clock, stream, t0 } = videoAndAudio();
  // The publisher's reports: video 1000 and audio 5000 are the same instant (t0 on its clock, as ours).
  stream.ingestSenderReport(0, 1000, t0);
  stream.ingestSenderReport(1, 5000, t0);
  // A keyframe presented 200 ms after t0, sent 80 ms earlier (B-frame reordering), and audio frames.
  clock.advance(120);
  stream.ingestRtp(0, packet(1, 1000 + 18000, IDR));
  stream.ingestRtp(1, packet(1, 5000 + 4096, [0x00, 0x10, 0x00, 0x00]));
  stream.ingestRtp(1, packet(2, 5000 + 5120, [0x00, 0x10, 0x00, 0x00]));
  stream.ingestRtp(0, packet(2, 1000 + 21600, P_FRAME));
  stream.flushNow();

  const reader = new Reader([0, 1]);
  stream.addReader(reader);
  const starts = stream.readerStarts(reader);
  assert.deepEqual(
    starts.map((s) => s?.rtptime),
    [19000, 9096],
    'first packets: the keyframe, then the audio frame sent after it',
  );
  const times = stream.rtpInfoTimes(starts);
  // The keyframe is at t0 + 200 ms: audio 5000 + 0.2 * 48000.
  assert.deepEqual(times, [19000, 5000 + 9600]);
  assert.equal(stream.monotonicMsOfRtp(0, times[0]!), stream.monotonicMsOfRtp(1, times[1]!));
});

test('RTP-Info times: a track without timing keeps its first packet; none known, nothing changes', () => {
  const stream = new Stream([
    { encodingName: 'H264', clockRate: 90000 },
    { encodingName: 'PCMA', clockRate: 8000 },
  ]);
  assert.deepEqual(stream.rtpInfoTimes([undefined, undefined]), [undefined, undefined]);
  stream.ingestRtp(0, packet(1, 9000, IDR));
  assert.deepEqual(
    stream.rtpInfoTimes([
      { seq: 1, rtptime: 9000 },
      { seq: 7, rtptime: 160 },
    ]),
    [9000, 160],
  );
});

test('sender reports: the tracks keep their arrival lines until every track has one, then move together', () => {
  const { clock, stream, t0 } = videoAndAudio();
  stream.ingestRtp(0, packet(1, 90_000, IDR));
  stream.ingestRtp(1, packet(1, 48_000, [0x00, 0x10, 0x00, 0x00]));
  // Arrival lines: both timestamps at t0. The publisher says audio 48000 is 50 ms later than video 90000.
  clock.advance(1000);
  stream.ingestSenderReport(0, 180_000, 1e6 + 1000);
  assert.equal(stream.monotonicMsOfRtp(0, 90_000), t0, 'one track reported: still arrival');
  assert.equal(stream.monotonicMsOfRtp(1, 48_000), t0);
  clock.advance(700);
  stream.ingestSenderReport(1, 96_000 - 2400, 1e6 + 1000);
  assert.equal(stream.monotonicMsOfRtp(0, 90_000), t0);
  assert.equal(stream.monotonicMsOfRtp(1, 48_000), t0 + 50);
});

test("a reader's sender-report lines are its RTP-Info's, then follow the stream's by 1 ms per report", () => {
  const { clock, stream, t0 } = videoAndAudio();
  stream.ingestRtp(0, packet(1, 90_000, IDR));
  stream.ingestRtp(1, packet(1, 48_000, [0x00, 0x10, 0x00, 0x00]));
  stream.flushNow();
  const reader = new Reader([0, 1]);
  stream.addReader(reader);
  const times = stream.rtpInfoTimes(stream.readerStarts(reader), reader);
  assert.deepEqual(times, [90_000, 48_000]);
  // The publisher's reports put audio 30 ms later than arrival did.
  clock.advance(500);
  stream.ingestSenderReport(0, 135_000, 1e6 + 500);
  stream.ingestSenderReport(1, 72_000 - 1440, 1e6 + 500);
  assert.equal(stream.monotonicMsOfRtp(1, 48_000), t0 + 30);
  const readerMs = (track: number, rtp: number): number => {
    const line = stream.readersOfTrack(track)[0]!.timing!;
    return line.monotonicMs + ((rtp - line.rtpTimestamp) * 1000) / stream.tracks[track]!.clockRate;
  };
  // First report: the RTP-Info instants, within a step, on both tracks.
  assert.equal(readerMs(0, times[0]!), t0);
  assert.equal(readerMs(1, times[1]!), t0 + 1);
  for (let i = 2; i <= 40; i++) assert.equal(readerMs(1, times[1]!), t0 + Math.min(i, 30));
  // A timeline jump of the publisher (over a second) is taken at once.
  stream.ingestSenderReport(1, 72_000 + 48_000 * 5, 1e6 + 500);
  assert.equal(readerMs(1, 72_000), t0 + 500 - 5000);
});
