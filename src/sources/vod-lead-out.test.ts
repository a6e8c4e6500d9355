// The lead-out packets of an unpaced replay's end (vod-rtp.ts sendLeadOutPacket, VodPlayer.sendLeadOut)
// on a real clip with B-frames (../shared/media/h264_main_aac.mp4), the player driven by a ManualClock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ManualClock } from '../base/clock.js';
import { parseRtpPacket, type RtpPacket } from '../rtp/packet.js';
import { VodFile, VodPlayer, type VodEndInfo } from './vod-player.js';

const BFRAMES = '/work/shared/media/h264_main_aac.mp4';

class Recorder {
  readonly rtp: { track: number; rtp: RtpPacket }[] = [];
  sendRtp(track: number, packet: Buffer): void {
    this.rtp.push({ track, rtp: parseRtpPacket(Buffer.from(packet)) });
  }
  sendRtcp(): void {}
  of(track: number): { track: number; rtp: RtpPacket }[] {
    return this.rtp.filter((p) => p.track === track);
  }
}

test('lead-out packets: empty, the next sequence number, the last media packet timestamp; none while playing or after stop', async (t) => {
  if (!existsSync(BFRAMES)) return t.skip(`${BFRAMES} is missing`);
  const file = await VodFile.open(BFRAMES);
  const clock = new ManualClock();
  const sink = new Recorder();
  const player = new VodPlayer(file, sink, { clock, maxTimerWaitMs: 4 });
  const ends: VodEndInfo[] = [];
  player.onEnd = (info) => ends.push(info);
  t.after(async () => {
    player.stop();
    await file.close();
  });
  player.sendLeadOut();
  assert.equal(sink.rtp.length, 0, 'nothing before anything was played');
  player.play({ startS: 5, endS: 6 });
  player.sendLeadOut();
  assert.ok(
    sink.rtp.every((p) => p.rtp.payload.length > 0),
    'nothing while playing',
  );
  for (let i = 0; i < 200 && ends.length === 0; i++) {
    clock.advance(100);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(ends.length, 1, 'the range ended');
  for (const track of [0, 1]) {
    const before = sink.of(track);
    player.sendLeadOut();
    player.sendLeadOut();
    const leadOuts = sink.of(track).slice(before.length);
    assert.equal(leadOuts.length, 2, `track ${track}: one per call`);
    const last = before.at(-1)!.rtp;
    leadOuts.forEach((p, i) => {
      assert.equal(p.rtp.payload.length, 0);
      assert.equal(p.rtp.marker, false);
      assert.equal(p.rtp.sequenceNumber, (last.sequenceNumber + 1 + i) & 0xffff);
      // Not later than the media (with B-frames the last packet sent is not the latest pts): a later
      // one would move rtpjitterbuffer's npt-stop estimate (vod-rtp.ts sendLeadOutPacket).
      assert.equal(p.rtp.timestamp, last.timestamp, `track ${track} lead-out ${i}`);
    });
  }
  const count = sink.rtp.length;
  player.stop();
  player.sendLeadOut();
  assert.equal(sink.rtp.length, count, 'nothing after stop');
});
