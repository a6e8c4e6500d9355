// Retention as the manager runs it on its clock: by age, by free space (oldest first), and holding a
// recorder when deleting is not enough, resuming when space is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualTimerClock } from '../base/clock.js';
import { nullLogger } from '../base/logger.js';
import { H264Packetizer, h264Fmtp } from '../format/h264.js';
import { serializeRtpPacket } from '../rtp/packet.js';
import type { StreamReader, StreamTap } from '../media/stream-reader.js';
import { DiskRecordingCatalog } from './disk-catalog.js';
import { RecorderManager } from './manager.js';
import type { SegmentComplete } from './path-recorder.js';
import { DEFAULT_RECORDING_SETTINGS, type RecordingSettings } from './settings.js';

const SPS = Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64');
const PPS = Buffer.from('aMuMsg==', 'base64');
const HOUR = 3600_000;

async function withSegments(
  dir: string,
  catalog: DiskRecordingCatalog,
  clock: ManualTimerClock,
): Promise<string[]> {
  await mkdir(join(dir, 'cam'), { recursive: true });
  const files: string[] = [];
  // Three finished segments of 10 min, ended 3 h, 2 h and 30 min ago, 100 bytes each.
  for (const endedAgoMs of [3 * HOUR, 2 * HOUR, HOUR / 2]) {
    const file = join(dir, 'cam', `${endedAgoMs}.mp4`);
    await writeFile(file, Buffer.alloc(100));
    files.push(file);
    catalog.add({
      path: 'cam',
      file,
      startMs: clock.wallMs() - endedAgoMs - 600_000,
      durationMs: 600_000,
      codecs: ['h264'],
      open: false,
      sizeBytes: 100,
    });
  }
  return files;
}

function manager(dir: string, settings: Partial<RecordingSettings>, free: { bytes: number }) {
  const clock = new ManualTimerClock(0, Date.UTC(2026, 11, 6, 12));
  const catalog = new DiskRecordingCatalog();
  const m = new RecorderManager({
    clock,
    logger: nullLogger,
    catalog,
    settingsFor: () => ({
      ...DEFAULT_RECORDING_SETTINGS,
      pathTemplate: join(dir, '%path', '%Y'),
      ...settings,
    }),
    sweepIntervalMs: 10_000,
    freeBytes: () => Promise.resolve(free.bytes),
  });
  return { clock, catalog, m };
}

test('retention by age: segments that ended more than recordDeleteAfter ago, at the sweep', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtspkit-retention-'));
  try {
    const { clock, catalog, m } = manager(dir, { deleteAfterMs: 1.5 * HOUR }, { bytes: 0 });
    const files = await withSegments(dir, catalog, clock);
    await m.sweep(); // what the timer runs every sweepIntervalMs
    assert.deepEqual(
      catalog.segments('cam').map((s) => s.file),
      [files[2]],
    );
    assert.equal(existsSync(files[0]!), false);
    assert.equal(existsSync(files[2]!), true);
    assert.equal(m.counters.segmentsDeleted, 2);
    // An hour later the last one is due too. The timer's rounds ran while the clock moved (the first
    // still in flight: rounds never overlap); this one runs at the clock's time now.
    clock.advance(HOUR + 10_000);
    await m.sweep();
    await m.sweep();
    assert.deepEqual(catalog.paths(), []);
    await m.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('retention by free space: oldest first, just enough; a recorder is held only when that is not enough', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtspkit-retention-'));
  try {
    const free = { bytes: 100 };
    const { clock, catalog, m } = manager(dir, { record: true, deleteAfterMs: 0, minFreeBytes: 250 }, free);
    const files = await withSegments(dir, catalog, clock);
    await m.sweep();
    assert.deepEqual(
      catalog.segments('cam').map((s) => s.file),
      [files[2]],
      'the two oldest freed 200 bytes',
    );

    // A recorder on the path; the disk fills up and the last finished segment is not enough.
    const readers: StreamReader[] = [];
    const tap: StreamTap = {
      ended: false,
      addReader: (r) => readers.push(r),
      removeReader: () => undefined,
    };
    m.pathReady(
      'cam',
      {
        describeSdp: () => '',
        tracks: [{ payloadType: 96, encodingName: 'H264', clockRate: 90000, fmtp: h264Fmtp(SPS, [PPS]) }],
        controls: [undefined],
      },
      tap,
    );
    assert.equal(readers.length, 1);
    free.bytes = 0;
    clock.advance(10_000);
    await m.sweep();
    assert.deepEqual(catalog.paths(), []);
    assert.equal(m.recorder('cam')?.heldReason, 'low disk space');
    assert.equal(m.counters.writeErrors, 1);
    assert.deepEqual(
      m.recorders().map((r) => r.held),
      ['low disk space'],
    );
    free.bytes = 1000;
    clock.advance(10_000);
    await m.sweep();
    assert.equal(m.recorder('cam')?.heldReason, undefined);
    await m.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('onSegmentComplete: each finished segment once, with its path, file, wall-clock start and duration; a throwing listener harms nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtspkit-rec-events-'));
  try {
    const { clock, m } = manager(
      dir,
      { record: true, segmentDurationMs: 1000, pathTemplate: join(dir, '%path', '%H-%M-%S-%f') },
      { bytes: 1e12 },
    );
    const seen: SegmentComplete[] = [];
    m.onSegmentComplete(() => {
      throw new Error('a faulty hook');
    });
    const off = m.onSegmentComplete((s) => seen.push(s));
    const readers: StreamReader[] = [];
    const tap: StreamTap = { ended: false, addReader: (r) => readers.push(r), removeReader: () => undefined };
    m.pathReady(
      'cam',
      {
        describeSdp: () => '',
        tracks: [{ payloadType: 96, encodingName: 'H264', clockRate: 90000, fmtp: h264Fmtp(SPS, [PPS]) }],
        controls: [undefined],
      },
      tap,
    );
    const packetizer = new H264Packetizer();
    const t0 = clock.wallMs();
    for (let frame = 0, seq = 0; frame < 60; frame++) {
      const key = frame % 25 === 0;
      const nalus = key ? [SPS, PPS, Buffer.from([0x65, 0x88, 1, 2, 3])] : [Buffer.from([0x41, 0x9a, 4, 5])];
      for (const p of packetizer.packetize({ pts: frame * 3600, clockRate: 90000, keyframe: key, nalus }))
        for (const r of readers)
          r.sendRtp(
            0,
            serializeRtpPacket({
              marker: p.marker,
              payloadType: 96,
              sequenceNumber: seq++,
              timestamp: frame * 3600,
              ssrc: 1,
              csrcs: [],
              payload: p.payload,
            }),
          );
      clock.advance(40);
    }
    m.pathNotReady('cam');
    await m.settled();
    // Keyframes at frames 0, 25, 50: cut at 25 (1 s of media) and at 50, the last closed by not-ready.
    assert.deepEqual(
      seen.map((s) => [s.path, s.startMs - t0, Math.round(s.durationMs), s.reason]),
      [
        ['cam', 0, 1000, 'segment duration'],
        ['cam', 1000, 1000, 'segment duration'],
        ['cam', 2000, 400, 'path not ready'],
      ],
    );
    assert.ok(
      seen.every((s) => existsSync(s.file) && s.file.startsWith(join(dir, 'cam')) && s.sizeBytes > 0),
    );
    assert.deepEqual([...m.segmentsCompletedByPath], [['cam', 3]]);
    off();
    await m.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
