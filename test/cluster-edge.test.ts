// The edge role and drain (issue 19): a reader at an edge node gets the path pulled from its owner over
// RTSP; POST /v1/cluster/drain sends the edge's readers RTSP REDIRECT to another node, where they keep
// playing, and new sessions get 503 + Retry-After.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../src/app.js';
import { RtspClient } from '../src/client/client.js';
import { apiJson, fileSourceLines, rtspUrl, TestCluster } from './support/cluster.js';
import { waitFor } from './support/process.js';
import { RawClient } from './support/raw-client.js';
import { skipUnlessRedis } from './support/redis.js';
import { mediaPath, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const skip = skipUnlessRedis() || skipUnlessMedia(CLIP);

function readers(app: App): number {
  return app.server.view.sessions().filter((s) => s.mode === 'play').length;
}

describe('edges relay a path; a drained edge moves its readers', { skip }, () => {
  let cluster: TestCluster | undefined;
  const n1 = (): App => cluster!.node(0);
  const n2 = (): App => cluster!.node(1);
  const n3 = (): App => cluster!.node(2);

  before(async () => {
    cluster = await TestCluster.start();
    await cluster.add({ id: 'o1', lines: fileSourceLines('cam', mediaPath(CLIP)) });
    await cluster.add({ id: 'e2', policy: 'edge', balanceMargin: 1000 });
    await cluster.add({ id: 'e3', policy: 'edge', balanceMargin: 1000 });
    await cluster.waitForOwner('cam', 'o1');
  });
  after(async () => {
    await cluster?.close();
  });

  test('a reader at an edge plays the path pulled from its owner; drain moves it to another node', async () => {
    const client = new RtspClient(rtspUrl(n2(), 'cam'));
    client.on('error', () => undefined);
    let units = 0;
    client.on('accessUnit', () => units++);
    await client.describe();
    await client.setup({ transport: 'tcp' });
    await client.play();
    await waitFor(() => units > 10, 15_000, 'access units through the edge');
    assert.equal(n2().server.view.path('cam')?.owner.kind, 'pull', 'e2 relays cam');
    assert.equal(readers(n2()), 1, 'the reader is on e2');
    await waitFor(
      () =>
        n1()
          .cluster!.paths()
          .some((p) => p.path === 'cam' && p.relays.includes('e2')),
      10_000,
      'o1 to see e2 relay cam',
    );

    const drained = await apiJson(n2(), '/v1/cluster/drain', 'POST');
    assert.equal(drained.status, 202);
    assert.deepEqual(drained.body, { node: 'e2', draining: true, readersRedirected: 1 });
    // The client follows the REDIRECT (RFC 2326 §10.10) to another node and keeps playing there.
    await waitFor(() => readers(n2()) === 0, 15_000, 'the reader to leave e2');
    const before = units;
    await waitFor(() => units > before + 10, 15_000, 'access units after the move');
    assert.equal(readers(n2()), 0, 'no reader back on e2');
    assert.equal(readers(n3()), 1, 'the least loaded node, e3, has it');

    // A new session at the draining node: 503 with Retry-After.
    const c = await RawClient.connect(n2().server.port);
    const r = await c.request('DESCRIBE', rtspUrl(n2(), 'cam'));
    c.close();
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers.get('Retry-After'), '5');
    const listed = await apiJson(n1(), '/v1/cluster/nodes');
    await waitFor(
      () =>
        n1()
          .cluster!.nodes()
          .find((n) => n.id === 'e2')?.draining === true,
      5000,
      'o1 to see e2 draining',
    );
    assert.equal(listed.status, 200);
    client.close();
  });
});
