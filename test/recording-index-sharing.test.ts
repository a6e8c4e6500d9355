// Playbacks of recordings share their indexes (issue 17, the 1-hour recording): each segment is indexed once
// whoever plays it, a window once for all its playbacks, in a cache bounded by bytes whose evictions are
// counted (sources/recording-index-cache.ts). Short segments keep it cheap: 8 of 1 s.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../src/base/logger.js';
import { openRecording } from '../src/sources/recording-file.js';
import { RecordingIndexCache } from '../src/sources/recording-index-cache.js';
import { engineViewOf } from '../src/server/view.js';
import type { RtspServer } from '../src/server/server.js';
import { fixedCatalog, writeRecording, type TestSegment } from './support/muxed-recordings.js';
import { RawClient } from './support/raw-client.js';
import { startTestServer } from './support/server.js';
import { mediaPath, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
const SEGMENTS = 8;

describe('recording indexes shared between playbacks', { skip: skipUnlessMedia(CLIP) }, () => {
  let dir: string;
  let segments: TestSegment[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-index-sharing-'));
    segments = await writeRecording(
      dir,
      'cam',
      mediaPath(CLIP),
      Array.from({ length: SEGMENTS }, (_, i) => ({ startMs: T0 + i * 1000, fromS: i % 4, seconds: 1 })),
    );
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('each segment is indexed once for all playbacks, a window joined once for its playbacks', async () => {
    const catalog = fixedCatalog(segments);
    const cache = new RecordingIndexCache();
    const options = { logger: nullLogger, cache };
    // Ten playbacks of the same window at once wait for one indexing of each segment.
    const same = await Promise.all(
      Array.from({ length: 10 }, () => openRecording(catalog, 'cam', { startMs: T0 }, options)),
    );
    assert.equal(cache.counters.made.segment, SEGMENTS);
    assert.equal(cache.counters.made.window, 1);
    assert.equal(cache.counters.hits.window, 9);
    // They play the same sample tables.
    assert.equal(same[0]!.tracks[0]!.mp4.samples, same[9]!.tracks[0]!.mp4.samples);
    // Another window joins again from the segments already indexed.
    const later = await openRecording(catalog, 'cam', { startMs: T0 + 3500 }, options);
    assert.equal(cache.counters.made.segment, SEGMENTS);
    assert.equal(cache.counters.made.window, 2);
    assert.ok(later.durationS < same[0]!.durationS - 2, `${later.durationS} vs ${same[0]!.durationS}`);
    // Samples are read from the shared files while another playback of the window has closed.
    await same[0]!.close();
    const track = same[1]!.tracks[0]!.mp4;
    const data = await same[1]!.reader.readSample(track, track.samples.count - 1);
    assert.equal(data.length, track.samples.size[track.samples.count - 1]);
    await Promise.all([...same.slice(1), later].map((f) => f.close()));
  });

  test('the cache stays within its bound: least recently used out, counted; too large: not kept', async () => {
    const catalog = fixedCatalog(segments);
    const probe = new RecordingIndexCache();
    const whole = await openRecording(catalog, 'cam', { startMs: T0 }, { logger: nullLogger, cache: probe });
    const samples = whole.tracks.map((t) => t.mp4.samples.count);
    await whole.close();
    const perSegment = probe.counters.bytes.segment / SEGMENTS;
    // Room for about three segment indexes: the window (all of them joined) is larger than the bound.
    const cache = new RecordingIndexCache(Math.floor(perSegment * 3.5));
    const f = await openRecording(catalog, 'cam', { startMs: T0 }, { logger: nullLogger, cache });
    assert.ok(cache.bytes <= cache.maxBytes, `${cache.bytes} > ${cache.maxBytes}`);
    assert.equal(cache.counters.bytes.window, 0);
    assert.equal(cache.counters.evictions, SEGMENTS - 3);
    assert.equal(cache.counters.tooLarge, 1);
    // Still played whole: the playback holds what the cache let go.
    assert.deepEqual(
      f.tracks.map((t) => t.mp4.samples.count),
      samples,
    );
    // Another playback of the window while it plays shares it, although the cache did not keep it.
    const g = await openRecording(catalog, 'cam', { startMs: T0 }, { logger: nullLogger, cache });
    assert.equal(cache.counters.made.window, 1);
    assert.equal(g.tracks[0]!.mp4.samples, f.tracks[0]!.mp4.samples);
    await Promise.all([f.close(), g.close()]);
    // The last segments were kept: a window of them indexes nothing again.
    const hits = cache.counters.hits.segment;
    await (
      await openRecording(catalog, 'cam', { startMs: T0 + 6500 }, { logger: nullLogger, cache })
    ).close();
    assert.equal(cache.counters.made.segment, SEGMENTS);
    assert.equal(cache.counters.hits.segment, hits + 2);
  });

  describe('through the server', () => {
    let server: RtspServer;
    let url: (p: string) => string;
    before(async () => {
      ({ server, url } = await startTestServer({ recordings: fixedCatalog(segments) }));
    });
    after(async () => {
      await server.close();
    });

    test('DESCRIBEs of one playback URL index its segments once; the counters reach the engine view', async () => {
      const c = await RawClient.connect(server.port);
      try {
        for (let i = 0; i < 3; i++) {
          const r = await c.request('DESCRIBE', url(`cam?start=${new Date(T0 + 500).toISOString()}`));
          assert.equal(r.statusCode, 200);
        }
      } finally {
        c.close();
      }
      const counters = engineViewOf(server).counters().playbackIndexes;
      assert.ok(counters !== undefined);
      assert.equal(counters.made.segment, SEGMENTS);
      assert.equal(counters.made.window, 1);
      assert.equal(counters.hits.window, 2);
      assert.equal(counters.evictions, 0);
    });
  });
});
