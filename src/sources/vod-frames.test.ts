// ONVIF `Frames` (intra, intra/<ms>, predicted) on the VOD cursor, the last sample of a range
// (`lastOfRange`, the replay's T bit) and lead-in packets, on a ManualClock.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ManualClock } from '../base/clock.js';
import { parseRtpPacket, type RtpPacket } from '../rtp/packet.js';
import { VodFile, VodPlayer, type VodEndInfo, type VodSampleRef } from './vod-player.js';

const BFRAMES = '/work/shared/media/h264_main_aac.mp4';

interface Rig {
  file: VodFile;
  clock: ManualClock;
  player: VodPlayer;
  rtp: { track: number; packet: RtpPacket }[];
  samples: (VodSampleRef & { lastPacket: boolean })[];
  ends: VodEndInfo[];
}

async function rig(t: TestContext): Promise<Rig | undefined> {
  if (!existsSync(BFRAMES)) {
    t.skip(`${BFRAMES} is missing`);
    return undefined;
  }
  const file = await VodFile.open(BFRAMES);
  const clock = new ManualClock();
  const rtp: Rig['rtp'] = [];
  const samples: Rig['samples'] = [];
  const player = new VodPlayer(
    file,
    {
      sendRtp: (track, packet) => rtp.push({ track, packet: parseRtpPacket(Buffer.from(packet)) }),
      sendRtcp: () => undefined,
    },
    {
      clock,
      maxTimerWaitMs: 4,
      headerExtension: (sample, lastPacket) => {
        samples.push({ ...sample, lastPacket });
        return undefined;
      },
    },
  );
  const ends: VodEndInfo[] = [];
  player.onEnd = (info) => ends.push(info);
  t.after(async () => {
    player.stop();
    await file.close();
  });
  return { file, clock, player, rtp, samples, ends };
}

/** Advances the clock until the player ends (reads land between steps). */
async function playOut(r: Rig): Promise<void> {
  for (let i = 0; i < 400 && r.ends.length === 0; i++) {
    r.clock.advance(100);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(r.ends.length, 1, 'the range ended');
}

/** The video samples sent, one per sample (its first packet). */
const videoSamples = (r: Rig): VodSampleRef[] => r.samples.filter((s) => s.track === 0 && s.lastPacket);

test('Frames: intra sends the video keyframes only, audio untouched; intra/<ms> spaces them', async (t) => {
  const r = await rig(t);
  if (!r) return;
  r.player.play({ startS: 0, endS: 6, frames: { mode: 'intra' } });
  await playOut(r);
  const video = videoSamples(r);
  const keys = r.file.tracks[0]!.mp4.samples.keyframes.length;
  assert.ok(video.length > 0 && video.length <= keys);
  assert.ok(video.every((s) => s.keyframe));
  assert.ok(
    r.samples.some((s) => s.track === 1),
    'audio is sent',
  );

  const spaced = await rig(t);
  if (!spaced) return;
  spaced.player.play({ startS: 0, endS: 6, frames: { mode: 'intra', intervalMs: 2000 } });
  await playOut(spaced);
  const times = videoSamples(spaced).map((s) => s.ptsS);
  assert.ok(times.length < video.length, `${times.length} of ${video.length}`);
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 2 - 1e-6);
});

test('Frames: predicted leaves out the B-frames (presented before a frame decoded earlier)', async (t) => {
  const all = await rig(t);
  if (!all) return;
  all.player.play({ startS: 2, endS: 4 });
  await playOut(all);
  const predicted = await rig(t);
  if (!predicted) return;
  predicted.player.play({ startS: 2, endS: 4, frames: { mode: 'predicted' } });
  await playOut(predicted);
  const every = videoSamples(all);
  const kept = videoSamples(predicted);
  assert.ok(kept.length > 0 && kept.length < every.length, `${kept.length} of ${every.length}`);
  // Without B-frames decode order is presentation order.
  for (let i = 1; i < kept.length; i++) assert.ok(kept[i]!.ptsS > kept[i - 1]!.ptsS);
});

test('lastOfRange on the last sample of each track (its last packet), lead-in packets before the first', async (t) => {
  const r = await rig(t);
  if (!r) return;
  r.player.leadIn = true;
  const res = r.player.play({ startS: 1, endS: 3 });
  await playOut(r);
  // One sample per track is the last (all its packets say so; T goes on the one with lastPacket).
  for (const track of [0, 1]) {
    const ofTrack: Rig['samples'] = r.samples.filter((s) => s.track === track);
    const last: Rig['samples'] = ofTrack.filter((s) => s.lastOfRange);
    assert.ok(last.length > 0 && last.every((s) => s.sample === ofTrack.at(-1)!.sample), `track ${track}`);
    assert.equal(last.filter((s) => s.lastPacket).length, 1, `track ${track}: one last packet`);
  }
  for (const track of [0, 1]) {
    const sent: RtpPacket[] = r.rtp.filter((x) => x.track === track).map((x) => x.packet);
    const first: RtpPacket = sent[0]!;
    assert.equal(first.payload.length, 0, 'lead-in');
    assert.equal(first.sequenceNumber, res.rtpInfo[track]!.seq, "RTP-Info's seq names the lead-in");
    assert.equal(first.timestamp, (res.rtpInfo[track]!.rtptime - 1) >>> 0);
    assert.ok(sent.slice(1).every((x) => x.payload.length > 0));
  }
});
