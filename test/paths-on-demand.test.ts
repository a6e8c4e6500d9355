// The path manager's on-demand seam as the RTSP server drives it: a DESCRIBE of a name nobody feeds
// starts that name's source (once, however many readers ask) and is answered from its media; a name
// without one is 404; a source that does not start in time is 404, not a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient } from './support/raw-client.js';
import { TEST_SDP } from './support/fake-publisher.js';
import { startTestServer } from './support/server.js';
import { waitFor } from './support/process.js';
import { parseAnnouncedSdp } from '../src/server/media-description.js';
import type { OnDemandSources, PathSource } from '../src/paths/path.js';

test('DESCRIBE starts an on-demand source once and is answered from its media', async () => {
  const opened: string[] = [];
  let stops = 0;
  let releaseSlow = (): void => undefined;
  const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
  const onDemand: OnDemandSources = {
    sourceFor: (name) =>
      name === 'pull' || name === 'slow'
        ? {
            owner: { kind: 'embedded' },
            open: async (): Promise<PathSource> => {
              opened.push(name);
              // `slow` comes only after the reader was answered (the test's start timeout).
              if (name === 'slow') await slowGate;
              return {
                media: parseAnnouncedSdp(TEST_SDP),
                start: () => undefined,
                stop: () => {
                  stops++;
                  return Promise.resolve();
                },
              };
            },
          }
        : undefined,
  };
  const { server, url } = await startTestServer({ onDemand, onDemandStartTimeoutMs: 200 });
  const c = await RawClient.connect(server.port);
  try {
    const [a, b] = await Promise.all([
      c.request('DESCRIBE', url('pull')),
      c.request('DESCRIBE', url('pull')),
    ]);
    assert.equal(a.statusCode, 200);
    assert.equal(b.statusCode, 200);
    assert.match(a.body.toString(), /m=video/);
    assert.deepEqual(opened, ['pull'], 'one start for both readers');
    assert.deepEqual(server.paths.get('pull')?.owner, { kind: 'embedded' });
    assert.equal((await c.request('DESCRIBE', url('nothing'))).statusCode, 404);
    assert.equal((await c.request('DESCRIBE', url('slow'))).statusCode, 404);
    assert.equal(server.paths.get('slow'), undefined);
    releaseSlow();
    await waitFor(() => stops === 1, 2000, 'the late source to be stopped');
    assert.equal(server.paths.get('slow'), undefined, 'a late source does not take the path');
  } finally {
    c.close();
    await server.close();
  }
  assert.equal(stops, 2, 'the running source was stopped at close');
});
