import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VideoDecodeTimes } from './decode-times.js';

const PICTURE = 3600; // 25 fps at 90 kHz
const DELAY = 18000; // 0.2 s

/** x264 with two B-frames, in decode order: I0 P3 B1 B2 P6 B4 B5 ..., keyframe every `gop` pictures. */
function bFrameOrder(pictures: number): { pts: number; keyframe: boolean }[] {
  const out: { pts: number; keyframe: boolean }[] = [{ pts: 0, keyframe: true }];
  for (let p = 3; p < pictures; p += 3)
    out.push(
      { pts: p * PICTURE, keyframe: false },
      { pts: (p - 2) * PICTURE, keyframe: false },
      { pts: (p - 1) * PICTURE, keyframe: false },
    );
  return out;
}

test('B-frames: decode times step by one picture once it is known, never after pts + delay, never before pts', () => {
  const times = new VideoDecodeTimes(DELAY);
  const units = bFrameOrder(60);
  const dts = units.map((u) => times.next(u.pts, u.keyframe));
  for (let i = 0; i < units.length; i++) {
    assert.ok(dts[i]! >= units[i]!.pts, `unit ${i}: dts ${dts[i]} before pts ${units[i]!.pts}`);
    assert.ok(dts[i]! <= units[i]!.pts + DELAY, `unit ${i}: composition offset < 0`);
    if (i > 0) assert.ok(dts[i]! > dts[i - 1]!, `unit ${i}: decode times increase`);
  }
  // After the first few units, one picture per unit (what an encoder writes).
  for (let i = 6; i < dts.length; i++) assert.equal(dts[i]! - dts[i - 1]!, PICTURE, `unit ${i}`);
});

test('no B-frames: decode time = pts; no delay: decode time = pts whatever the order', () => {
  const plain = new VideoDecodeTimes(DELAY);
  for (let p = 0; p < 50; p++) assert.equal(plain.next(p * PICTURE, p % 25 === 0), p * PICTURE);
  const undelayed = new VideoDecodeTimes(0);
  for (const u of bFrameOrder(30)) assert.equal(undelayed.next(u.pts, u.keyframe), u.pts);
});

test('a jump of the input clock: decode times follow at once', () => {
  const times = new VideoDecodeTimes(DELAY);
  for (const u of bFrameOrder(30)) times.next(u.pts, u.keyframe);
  const far = 10 * 90000 * 3600;
  assert.equal(times.next(far, true), far);
  // Back: within [pts, pts + delay] at once (the writer's timeline closes up the step itself).
  const back = 1000;
  const dts = times.next(back, false);
  assert.ok(dts >= back && dts <= back + DELAY, `${dts}`);
});
