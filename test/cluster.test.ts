// Three nodes and one redis-server on 127.0.0.1 (issue 19): a path's owner by lease, DESCRIBE at a
// node without the path answered 302 to the one that has it (followed by ffmpeg, GStreamer's rtspsrc and
// our client), a second publisher of a held path refused on another node, the cluster API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../src/app.js';
import { RtspClient } from '../src/client/client.js';
import { apiJson, fileSourceLines, rtspUrl, TestCluster } from './support/cluster.js';
import { FakePublisher, TEST_SDP } from './support/fake-publisher.js';
import { gstRead, skipUnlessGstReader } from './support/gst.js';
import { parseProbe, probeFrames, waitFor } from './support/process.js';
import { RawClient } from './support/raw-client.js';
import { skipUnlessRedis } from './support/redis.js';
import { mediaPath, skipUnless, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const skip = skipUnlessRedis() || skipUnlessMedia(CLIP);

describe('a cluster of three nodes (redirect policy)', { skip }, () => {
  let cluster: TestCluster | undefined;
  const n1 = (): App => cluster!.node(0);
  const n2 = (): App => cluster!.node(1);
  const n3 = (): App => cluster!.node(2);

  before(async () => {
    cluster = await TestCluster.start();
    await cluster.add({ id: 'n1', lines: fileSourceLines('cam', mediaPath(CLIP)) });
    await cluster.add({ id: 'n2' });
    await cluster.add({ id: 'n3' });
    // n1 claims its config path's lease at a heartbeat; the others read it at theirs.
    await cluster.waitForOwner('cam', 'n1');
  });
  after(async () => {
    await cluster?.close();
  });

  test('DESCRIBE at a node without the path: 302 to its owner', async () => {
    const c = await RawClient.connect(n2().server.port);
    const r = await c.request('DESCRIBE', `${rtspUrl(n2(), 'cam')}?x=1`, { Accept: 'application/sdp' });
    c.close();
    assert.equal(r.statusCode, 302);
    assert.equal(r.headers.get('Location'), `${rtspUrl(n1(), 'cam')}?x=1`);
    // A path nobody holds is still a 404 (no redirect loop).
    const c2 = await RawClient.connect(n2().server.port);
    const nf = await c2.request('DESCRIBE', rtspUrl(n2(), 'nothing'));
    c2.close();
    assert.equal(nf.statusCode, 404);
  });

  test('our client follows the 302 and plays from the owner', async () => {
    const client = new RtspClient(rtspUrl(n3(), 'cam'));
    client.on('error', () => undefined);
    let units = 0;
    client.on('accessUnit', () => units++);
    const d = await client.describe();
    assert.equal(d.tracks.length, 2);
    await client.setup({ transport: 'tcp' });
    await client.play();
    await waitFor(() => units > 10, 10_000, 'access units through the redirect');
    assert.ok(
      n1()
        .server.view.sessions()
        .some((s) => s.mode === 'play'),
      'the session is on n1',
    );
    client.close();
  });

  test('ffprobe follows the 302', { skip: skipUnless('ffprobe') }, async () => {
    const probe = probeFrames(
      rtspUrl(n2(), 'cam'),
      ['-rtsp_transport', 'tcp', '-read_intervals', '%+2'],
      30_000,
    );
    const done = await probe.done;
    assert.equal(done.code, 0, done.stderr);
    const streams = parseProbe(done.stdout);
    const video = streams.find((s) => s.codec_name === 'h264');
    assert.equal(video?.width, 640);
    assert.ok(Number(video.nb_read_frames) > 0);
  });

  test('GStreamer rtspsrc follows the 302', { skip: skipUnlessGstReader() }, async () => {
    // A live path has no end: read until n1 has the GStreamer reader, then stop it.
    const gst = gstRead(rtspUrl(n3(), 'cam'), { protocols: 'tcp', timeoutMs: 30_000 });
    await waitFor(
      () =>
        n1()
          .server.view.sessions()
          .some((s) => s.mode === 'play' && s.state === 'playing' && s.bytesSent > 10_000),
      20_000,
      'rtspsrc playing at n1',
    ).finally(() => gst.kill('SIGINT'));
    await gst.done;
  });

  test('a second publisher of a held path on another node is refused; another path is claimed there', async () => {
    const c = await RawClient.connect(n2().server.port);
    const r = await c.request(
      'ANNOUNCE',
      rtspUrl(n2(), 'cam'),
      { 'Content-Type': 'application/sdp' },
      TEST_SDP,
    );
    c.close();
    assert.equal(r.statusCode, 403);
    const pub = await FakePublisher.start(n2().server.port, 'live2');
    try {
      await waitFor(
        () =>
          n3()
            .cluster!.paths()
            .some((p) => p.path === 'live2' && p.owner === 'n2'),
        10_000,
        'n3 to see n2 own live2',
      );
      const c3 = await RawClient.connect(n3().server.port);
      const d = await c3.request('DESCRIBE', rtspUrl(n3(), 'live2'));
      c3.close();
      assert.equal(d.statusCode, 302);
      assert.equal(d.headers.get('Location'), rtspUrl(n2(), 'live2'));
    } finally {
      pub.client.close();
    }
    // The publisher gone, n2 gives the lease back (after its grace of one lease period).
    await waitFor(() => !n2().cluster!.node.leases.holds('live2'), 10_000, 'the lease of live2 released');
  });

  test('GET /v1/cluster/nodes and /v1/cluster/paths', async () => {
    const nodesReply = await apiJson(n3(), '/v1/cluster/nodes');
    assert.equal(nodesReply.status, 200);
    const body = nodesReply.body as {
      self: string;
      redisReachable: boolean;
      items: { id: string; rtspUrl: string }[];
    };
    assert.equal(body.self, 'n3');
    assert.equal(body.redisReachable, true);
    assert.deepEqual(
      body.items.map((n) => n.id),
      ['n1', 'n2', 'n3'],
    );
    assert.equal(body.items[0]!.rtspUrl, `rtsp://127.0.0.1:${n1().server.port}`);
    assert.ok(!JSON.stringify(body).includes(cluster!.redis.url), 'the Redis URL is never shown');
    const paths = await apiJson(n3(), '/v1/cluster/paths');
    assert.deepEqual(
      (paths.body as { items: unknown[] }).items.find((p) => (p as { path: string }).path === 'cam'),
      {
        path: 'cam',
        owner: 'n1',
        relays: [],
      },
    );
    const metrics = await (await fetch(`http://127.0.0.1:${n2().api!.port}/metrics`)).text();
    assert.match(metrics, /^rtspkit_cluster_redirects_total [1-9]/m);
    assert.match(metrics, /^rtspkit_cluster_nodes 3$/m);
    assert.match(metrics, /^rtspkit_cluster_redis_up 1$/m);
  });
});
