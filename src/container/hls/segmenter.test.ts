import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccessUnit } from '../../format/access-unit.js';
import { childBoxes } from '../mp4/boxes.js';
import { HlsSegmenter } from './segmenter.js';

const SPS = Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64'); // 640x360
const PPS = Buffer.from('aMuMsg==', 'base64');
const ASC = Buffer.from('1190', 'hex'); // AAC-LC 48 kHz stereo
const FPS = 25;

function video(frame: number, keyframe: boolean): AccessUnit {
  const nal = Buffer.concat([Buffer.from(keyframe ? [0x65, 0x88] : [0x41, 0x9a]), Buffer.alloc(50, frame)]);
  return { pts: (frame * 90000) / FPS, clockRate: 90000, keyframe, nalus: [nal] };
}

function audio(frame: number): AccessUnit {
  return { pts: frame * 1024, clockRate: 48000, keyframe: true, payload: Buffer.alloc(20, frame) };
}

/** `seconds` of 25 fps video with a keyframe every `gopFrames`, and 48 kHz AAC, interleaved by time. */
function feed(seg: HlsSegmenter, seconds: number, gopFrames: number): void {
  let a = 0;
  for (let f = 0; f < seconds * FPS; f++) {
    seg.push(0, video(f, f % gopFrames === 0));
    while ((a * 1024) / 48000 <= f / FPS) seg.push(1, audio(a++));
  }
}

const TRACKS = [
  { codec: 'h264' as const, timescale: 90000, parameterSets: [SPS, PPS] },
  { codec: 'aac' as const, timescale: 48000, audioSpecificConfig: ASC },
];

test('segments end at the first keyframe past the target; the init segment is ftyp + moov', () => {
  const seg = new HlsSegmenter(TRACKS, { targetSegmentSeconds: 1, windowSegments: 3 });
  feed(seg, 5.5, 25);
  const init = seg.initSegment!;
  assert.deepEqual(
    childBoxes(init, 0, init.length).map((b) => b.type),
    ['ftyp', 'moov'],
  );
  const segs = seg.segments;
  assert.deepEqual(
    segs.map((s) => s.sequence),
    [0, 1, 2, 3, 4],
  );
  for (const s of segs) {
    assert.equal(s.durationSeconds, 1);
    assert.ok(s.independent);
    const boxes = childBoxes(s.bytes, 0, s.bytes.length);
    assert.equal(boxes[0]!.type, 'moof');
    assert.equal(boxes.at(-1)!.end, s.bytes.length);
  }
  const text = seg.playlist({ init: 'init.mp4', segment: (n) => `seg${n}.m4s` })!;
  assert.match(text, /#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:2\n#EXT-X-INDEPENDENT-SEGMENTS\n/);
  assert.deepEqual(
    text.split('\n').filter((l) => l.startsWith('seg')),
    ['seg2.m4s', 'seg3.m4s', 'seg4.m4s'],
  );
  // Two segments stay readable after they leave the window; older ones are gone.
  assert.equal(seg.segment(0)?.sequence, 0);
  assert.equal(seg.segment(4)?.sequence, 4);
  assert.equal(seg.segment(5), undefined);
  assert.equal(seg.segment(-1), undefined);
});

test('no playlist before the first segment; video before the first keyframe is skipped', () => {
  const seg = new HlsSegmenter(TRACKS);
  seg.push(0, video(0, false));
  seg.push(0, video(1, false));
  assert.equal(seg.playlist({ init: 'i', segment: String }), undefined);
  assert.equal(seg.initSegment, undefined);
  for (let f = 2; f <= 2 + FPS; f++) seg.push(0, video(f, f === 2 || f === 2 + FPS));
  assert.equal(seg.segments.length, 1);
  assert.equal(seg.segments[0]!.durationSeconds, 1);
});

test('a GOP longer than the target makes GOP-long segments and raises the target duration', () => {
  const seg = new HlsSegmenter(TRACKS, { targetSegmentSeconds: 1 });
  feed(seg, 7, 50);
  assert.deepEqual(
    seg.segments.map((s) => s.durationSeconds),
    [2, 2, 2],
  );
  const text = seg.playlist({ init: 'init.mp4', segment: (n) => `seg${n}.m4s` })!;
  assert.match(text, /#EXT-X-TARGETDURATION:2\n/);
  // Each segment holds two fragments (one per target duration).
  const s = seg.segments[0]!;
  assert.equal(childBoxes(s.bytes, 0, s.bytes.length).filter((b) => b.type === 'moof').length, 2);
});

test('without keyframes for maxSegmentSeconds a segment is cut anyway and is not independent', () => {
  const seg = new HlsSegmenter(TRACKS, { targetSegmentSeconds: 1, maxSegmentSeconds: 4 });
  feed(seg, 9, 1000); // one keyframe at 0 s, then none
  assert.deepEqual(
    seg.segments.map((s) => [s.durationSeconds, s.independent]),
    [
      [4, true],
      [4, false],
    ],
  );
  const text = seg.playlist({ init: 'init.mp4', segment: (n) => `seg${n}.m4s` })!;
  assert.doesNotMatch(text, /INDEPENDENT/);
  assert.match(text, /#EXT-X-TARGETDURATION:4\n/);
});

test('audio only: segments are cut at fragment boundaries past the target', () => {
  const seg = new HlsSegmenter([TRACKS[1]!], { targetSegmentSeconds: 1 });
  for (let a = 0; a < (48000 * 3.5) / 1024; a++) seg.push(0, audio(a));
  assert.ok(seg.segments.length >= 2);
  for (const s of seg.segments) {
    assert.ok(s.independent);
    assert.ok(s.durationSeconds >= 1 && s.durationSeconds < 1.1, String(s.durationSeconds));
  }
});

test('bad options are refused', () => {
  assert.throws(() => new HlsSegmenter(TRACKS, { targetSegmentSeconds: 0 }), RangeError);
  assert.throws(() => new HlsSegmenter(TRACKS, { windowSegments: 0 }), RangeError);
});

test('finish: what the muxer holds becomes the last segment and the playlist ends', () => {
  const seg = new HlsSegmenter(TRACKS, { targetSegmentSeconds: 1, windowSegments: 6 });
  feed(seg, 2.5, 25);
  assert.equal(seg.segments.length, 2);
  const last = seg.finish();
  assert.ok(last !== undefined);
  assert.equal(last.sequence, 2);
  assert.ok(Math.abs(last.durationSeconds - 0.48) < 0.05, `last segment ${last.durationSeconds} s`);
  assert.equal(childBoxes(last.bytes, 0, last.bytes.length)[0]!.type, 'moof');
  const text = seg.playlist({ init: 'init.mp4', segment: (n) => `seg${n}.m4s` })!;
  assert.ok(text.endsWith('#EXT-X-ENDLIST\n'), text);
  assert.equal(seg.push(0, video(100, true)), undefined, 'nothing is added after the end');
  assert.equal(seg.finish(), undefined);
});

test('finish: a last segment that a track does not reach is dropped; the playlist ends with the one before', () => {
  // The publisher goes 2 frames past a keyframe at 2 s while its audio (several AAC frames per RTP
  // packet) stops just before 2 s: MSE's buffered range (the tracks' intersection) would not grow.
  const seg = new HlsSegmenter(TRACKS, { targetSegmentSeconds: 1 });
  feed(seg, 2, 25);
  seg.push(0, video(50, true));
  seg.push(0, video(51, false));
  assert.equal(seg.segments.length, 2);
  assert.equal(seg.finish(), undefined);
  const text = seg.playlist({ init: 'init.mp4', segment: (n) => `seg${n}.m4s` })!;
  assert.deepEqual(
    text.split('\n').filter((l) => l.startsWith('seg')),
    ['seg0.m4s', 'seg1.m4s'],
  );
  assert.ok(text.endsWith('#EXT-X-ENDLIST\n'), text);

  // The same with one more audio frame, shown from 2.005 s: every track reaches in, the segment stays.
  const kept = new HlsSegmenter(TRACKS, { targetSegmentSeconds: 1 });
  feed(kept, 2, 25);
  kept.push(0, video(50, true));
  kept.push(0, video(51, false));
  for (const a of [92, 93, 94]) kept.push(1, audio(a)); // the last shown from 94 * 1024 / 48000 = 2.005 s
  assert.equal(kept.finish()?.sequence, 2);
});

test('a publisher clock stepping back by 0x60000000: segments still end at the target, none of negative duration', () => {
  const seg = new HlsSegmenter(TRACKS, { targetSegmentSeconds: 1 });
  for (let f = 0; f < 5 * FPS; f++) {
    const au = video(f, f % FPS === 0);
    // From frame 30 on, every video timestamp sits 0x60000000 ticks earlier (twice from frame 60).
    au.pts -= (f >= 30 ? 0x60000000 : 0) + (f >= 60 ? 0x60000000 : 0);
    seg.push(0, au);
  }
  assert.deepEqual(
    seg.segments.map((s) => s.durationSeconds),
    [1, 1, 1, 1],
  );
});

test('timestamps one tick apart: segments are cut at maxSegmentBytes, so the window bounds memory', () => {
  // No presentation delay: a composition offset per sample would add 4 bytes of trun to each of
  // these tiny samples, beyond the slack counted below; the bound itself is the same.
  const seg = new HlsSegmenter(TRACKS.slice(0, 1), {
    maxSegmentBytes: 50_000,
    windowSegments: 2,
    presentationDelaySeconds: 0,
  });
  for (let f = 0; f < 5000; f++) {
    const au = video(f, f === 0);
    au.pts = f; // one tick apart: 5000 pictures span 56 ms
    seg.push(0, au);
  }
  assert.ok(seg.segments.length === 4, `${seg.segments.length} segments kept`);
  for (const s of seg.segments) assert.ok(s.bytes.length < 50_000 + 12_500 + 1000, `${s.bytes.length} bytes`);
  assert.ok(seg.segments.at(-1)!.sequence >= 4);
});
