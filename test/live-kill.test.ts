// A publisher killed with SIGKILL mid-stream: the server keeps running, its readers are ended
// and the path can be published again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';
import { publishFile, run, waitFor } from './support/process.js';
import { startTestServer } from './support/server.js';
import { RawClient } from './support/raw-client.js';
import type { RtspServer } from '../src/server/server.js';

const CLIP = 'h264_base_aac.mp4';
const skip = skipUnless('ffmpeg', 'ffprobe') || skipUnlessMedia(CLIP);

function publish(url: string, transport: 'tcp' | 'udp'): ReturnType<typeof run> {
  return publishFile(mediaPath(CLIP), url, transport, { loop: true, timeoutMs: 60_000 });
}

describe('publisher killed with SIGKILL', { skip }, () => {
  let server: RtspServer;
  let url: (p: string) => string;
  before(async () => {
    // A UDP publisher leaves no connection to notice: it is ended when its packets stop.
    ({ server, url } = await startTestServer({ udpReadTimeoutS: 2 }));
  });
  after(async () => {
    await server.close();
  });

  for (const transport of ['tcp', 'udp'] as const) {
    test(`over ${transport}`, async () => {
      const path = `killed_${transport}`;
      const pub = publish(url(path), transport);
      await waitFor(() => (server.paths.get(path)?.stream?.accessUnitsIn ?? 0) > 30, 15_000, 'the publish');
      const readers = (['tcp', 'udp'] as const).map((t) =>
        run('ffprobe', ['-v', 'error', '-rtsp_transport', t, '-count_frames', '-show_streams', url(path)], {
          timeoutMs: 30_000,
        }),
      );
      await waitFor(
        () =>
          [...server.sessions.values()].filter((s) => s.path === path && s.state === 'playing').length === 2,
        10_000,
        'two readers playing',
      );
      pub.kill('SIGKILL');
      const ended = await Promise.all(readers.map((r) => r.done));
      for (const r of ended)
        assert.notEqual(r.signal, 'SIGKILL', 'reader had to be killed: it was never ended');
      await waitFor(() => server.paths.get(path) === undefined, 5_000, 'the path to be free');
      assert.equal([...server.sessions.values()].filter((s) => s.path === path).length, 0, 'no session left');

      const c = await RawClient.connect(server.port);
      assert.equal((await c.request('OPTIONS', '*')).statusCode, 200, 'the server still answers');
      c.close();
      const again = publish(url(path), 'tcp');
      await waitFor(
        () => (server.paths.get(path)?.stream?.accessUnitsIn ?? 0) > 5,
        15_000,
        'publishing again',
      );
      again.kill('SIGKILL');
      await again.done;
    });
  }
});
