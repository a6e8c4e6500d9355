import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccessUnit } from '../format/access-unit.js';
import { ContainerSink, type SinkTrack } from './container.js';
import { PlayStartLine, rtpInfoTimes } from './play-start.js';

const unit = (pts: number, clockRate: number): AccessUnit => ({ pts, clockRate, keyframe: true, nalus: [] });

test('RTP-Info rtptimes by track: matched by control URL, entries without rtptime or malformed ignored', () => {
  const tracks = [
    { index: 0, controlUrl: 'rtsp://h/p/trackID=0' },
    { index: 1, controlUrl: 'rtsp://h/p/trackID=1' },
  ];
  const times = rtpInfoTimes(
    'url=rtsp://h/p/trackID=0;seq=1;rtptime=4294967000,url=rtsp://h/p/trackID=1;seq=5',
    tracks,
  );
  assert.deepEqual([...times], [[0, 4294967000]]);
  assert.deepEqual([...rtpInfoTimes(undefined, tracks)], []);
  assert.deepEqual([...rtpInfoTimes('seq=1', tracks)], []);
});

test('play start line: instants from the rtptime across a wrap, then by unwrapped pts', () => {
  const line = new PlayStartLine(new Map([[0, 0xffffff00]]));
  assert.equal(line.covers([0]), true);
  assert.equal(line.covers([0, 1]), false);
  // 0x100 ticks after the rtptime, past the 2^32 wrap.
  assert.equal(line.instantMs(0, unit(0x1_0000_0000, 90000)), (0x100 * 1000) / 90000);
  assert.equal(line.instantMs(0, unit(0x1_0000_0000 + 90000 * 5000, 90000)), (0x100 * 1000) / 90000 + 5e6);
  assert.equal(line.instantMs(1, unit(0, 48000)), undefined);
});

class Recorded extends ContainerSink {
  readonly out: { i: number; pts: number }[] = [];
  get unitsWritten(): number {
    return this.out.length;
  }
  protected muxAccessUnit(i: number, au: AccessUnit): Buffer | undefined {
    this.out.push({ i, pts: au.pts });
    return undefined;
  }
}

test('a container sink holds units until the play start, then places them by their clocks', () => {
  const tracks: SinkTrack[] = [{ index: 0 }, { index: 1 }];
  const sink = new Recorded(tracks, () => undefined);
  sink.expectPlayStart();
  // Audio from 100 ms before the keyframe the play starts at, arriving with it (the origin: the fMP4
  // muxer then drops what comes before the keyframe).
  sink.push(tracks[1]!, unit(48000 - 4800, 48000), 0);
  sink.push(tracks[0]!, unit(90000, 90000), 0);
  // Audio of the keyframe's instant arriving 700 ms late (an aggregating publisher).
  sink.push(tracks[1]!, unit(48000, 48000), 700);
  assert.equal(sink.out.length, 0, 'held');
  sink.setPlayStart(
    new Map([
      [0, 90000],
      [1, 48000],
    ]),
  );
  assert.deepEqual(sink.out, [
    { i: 1, pts: 0 },
    { i: 0, pts: 9000 },
    { i: 1, pts: 4800 },
  ]);
});

test('a container sink without an rtptime for every track places by arrival; finish releases held units', () => {
  const tracks: SinkTrack[] = [{ index: 0 }, { index: 1 }];
  const sink = new Recorded(tracks, () => undefined);
  sink.expectPlayStart();
  sink.push(tracks[0]!, unit(90000, 90000), 0);
  sink.finish();
  assert.equal(sink.out.length, 1);
  const other = new Recorded(tracks, () => undefined);
  other.expectPlayStart();
  other.setPlayStart(new Map([[0, 90000]]));
  other.push(tracks[0]!, unit(90000, 90000), 0);
  other.push(tracks[1]!, unit(48000, 48000), 700);
  assert.equal(other.out.length, 2, 'by arrival: nothing dropped');
});
