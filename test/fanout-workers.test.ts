// `fanoutWorkers: 2` (src/fanout/): a looping file feeds a path; TCP readers (our client and ffprobe)
// play it, move to the workers after their PLAY reply, and receive every packet in sequence across the
// move; their keepalives and receiver reports reach the primary's sessions through the workers; TEARDOWN
// ends the session in the primary; a killed worker ends its readers' sessions and is replaced, and the
// server keeps serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { RtspClient } from '../src/client/client.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';
import { probeFrames, waitFor } from './support/process.js';
import { repoRoot, skipUnless } from './support/tools.js';
import { join } from 'node:path';

const skip = skipUnless('ffprobe');
const CLIP = join(repoRoot(), 'media', 'demo.mp4');

interface Reader {
  client: RtspClient;
  /** Per track: sequence numbers as received, and the SSRCs seen. */
  seqs: number[][];
  ssrcs: Set<number>[];
}

async function play(url: string): Promise<Reader> {
  const client = new RtspClient(url, { udpFallback: false, receiverReportIntervalMs: 300 });
  client.on('error', () => undefined);
  const r: Reader = { client, seqs: [[], []], ssrcs: [new Set(), new Set()] };
  client.on('rtp', (track, packet) => {
    const i = client.tracks.indexOf(track);
    r.seqs[i]?.push(packet.sequenceNumber);
    r.ssrcs[i]?.add(packet.ssrc);
  });
  await client.describe();
  await client.setup({ transport: 'tcp' });
  await client.play();
  return r;
}

/** Every step from one packet to the next is +1 (mod 2^16): nothing lost or repeated, moved or not. */
function assertConsecutive(r: Reader, label: string): void {
  r.seqs.forEach((seqs, track) => {
    assert.ok(seqs.length > 10, `${label} track ${track}: ${seqs.length} packets`);
    for (let i = 1; i < seqs.length; i++)
      assert.equal(
        (seqs[i]! - seqs[i - 1]! + 0x10000) & 0xffff,
        1,
        `${label} track ${track} at ${i}: ${seqs.slice(Math.max(0, i - 5), i + 5).join(' ')}`,
      );
    assert.equal(r.ssrcs[track]!.size, 1, `${label} track ${track}: one SSRC`);
  });
}

describe('fan-out workers', { skip }, () => {
  let app: App;
  let url: string;
  before(async () => {
    app = await startApp(
      parseConfig(
        [
          ...LOOPBACK_APP_CONFIG_LINES,
          'fanoutWorkers: 2',
          'paths:',
          `  cam: { source: '${CLIP}', loop: true }`,
        ].join('\n'),
      ),
    );
    url = `rtsp://127.0.0.1:${app.server.port}/cam`;
  });
  after(async () => {
    await app.close();
  });

  test('readers move to the workers, play on, are answered, end; a killed worker is replaced', async () => {
    const pool = app.fanout!;
    const probe = probeFrames(url, ['-rtsp_transport', 'tcp', '-read_intervals', '%+3'], 30_000);
    const readers = [await play(url), await play(url), await play(url)];
    const moved = (): number => pool.snapshot().reduce((n, w) => n + w.readers, 0);
    await waitFor(() => moved() >= 3, 10_000, 'three readers counted by the workers');
    for (const r of readers) {
      const s = app.server.sessions.get(r.client.sessionId!)!;
      assert.ok(s.remoteReading !== undefined, 'the session reads in a worker');
    }
    const spread = pool.snapshot().map((w) => w.readers);
    assert.ok(Math.max(...spread) - Math.min(...spread) <= 2, `readers per worker: ${spread.join(', ')}`);

    // The API counts the moved readers as the path's; /metrics shows the workers.
    const api = `http://127.0.0.1:${app.api!.port}`;
    const cam = (await (await fetch(`${api}/v1/paths/cam`)).json()) as { readers: number };
    assert.ok(cam.readers >= 3, `the API shows ${cam.readers} readers`);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.match(metrics, /rtspkit_fanout_worker_readers\{worker="1"\} \d/);
    assert.match(metrics, /rtspkit_fanout_handoffs_total\{result="moved"\} [3-9]/);

    // Keepalives answered by the primary through the worker; receiver reports reach the session.
    for (const r of readers) assert.equal((await r.client.getParameter()).statusCode, 200);
    const first = app.server.sessions.get(readers[0]!.client.sessionId!)!;
    await waitFor(() => first.trackStats[0]!.packetsReceived > 0, 5000, 'a receiver report in the primary');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    readers.forEach((r, i) => assertConsecutive(r, `reader ${i}`));

    const probed = await probe.done;
    assert.equal(probed.code, 0, probed.stderr);
    const frames = (JSON.parse(probed.stdout) as { streams: { nb_read_frames?: string }[] }).streams.map(
      (s) => Number(s.nb_read_frames),
    );
    assert.ok(frames[0]! > 40, `ffprobe read ${frames.join(', ')} frames`);

    // TEARDOWN ends the session in the primary, and the API no longer lists it.
    const gone = readers.shift()!;
    const goneId = gone.client.sessionId!;
    assert.equal((await gone.client.teardown())?.statusCode, 200);
    gone.client.close();
    assert.equal(app.server.sessions.has(goneId), false);
    const listed = (await (await fetch(`${api}/v1/sessions`)).text()).includes(goneId);
    assert.equal(listed, false, 'the API still lists the session');

    // A killed worker: its readers' sessions end, a new worker comes, new readers play.
    // The workers report their counts once a second: wait for the torn-down reader to leave them, or the
    // victim could be the worker that held only that one.
    await waitFor(() => moved() === readers.length, 5000, 'the workers to count the teardown');
    const victim = pool.snapshot().find((w) => w.readers > 0)!;
    const before = new Set(readers.map((r) => r.client.sessionId!));
    process.kill(victim.pid!, 'SIGKILL');
    await waitFor(() => [...before].some((id) => !app.server.sessions.has(id)), 10_000, 'sessions ended');
    await waitFor(
      () => pool.snapshot().every((w) => w.alive) && pool.snapshot()[victim.index]!.restarts === 1,
      10_000,
      'a new worker',
    );
    for (const r of readers) r.client.close();
    const again = [await play(url), await play(url)];
    await waitFor(() => moved() >= 2, 10_000, 'the new readers in workers');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    again.forEach((r, i) => assertConsecutive(r, `new reader ${i}`));
    for (const r of again) {
      await r.client.teardown();
      r.client.close();
    }
    assert.equal(pool.badMessages, 0);
  });
});
