// Digest across a cluster (issue 19): a nonce one node gave is accepted by another (one key for the
// cluster), an answer accepted by one node is a replay at another (the replay memory is shared), and
// our client, sent by a 302 from a node that challenged it, authenticates at the owner.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { digestCredentials, parseDigestChallenge } from '../src/auth/digest.js';
import { RtspClient } from '../src/client/client.js';
import { parseWwwAuthenticate, serializeAuthorization } from '../src/rtsp/auth-header.js';
import { fileSourceLines, rtspUrl, TestCluster } from './support/cluster.js';
import { waitFor } from './support/process.js';
import { RawClient } from './support/raw-client.js';
import { skipUnlessRedis } from './support/redis.js';
import { mediaPath, skipUnlessMedia } from './support/tools.js';

const CLIP = 'h264_base_aac.mp4';
const skip = skipUnlessRedis() || skipUnlessMedia(CLIP);
const AUTH = ['auth:', '  users:', "    - { name: viewer, password: 'plain:look' }"];

describe('Digest shared by the nodes', { skip }, () => {
  let cluster: TestCluster | undefined;

  before(async () => {
    cluster = await TestCluster.start();
    await cluster.add({ id: 'd1', lines: [...AUTH, ...fileSourceLines('cam', mediaPath(CLIP))] });
    const d2 = await cluster.add({ id: 'd2', lines: AUTH });
    await cluster.waitForOwner('cam', 'd1', [d2]);
  });
  after(async () => {
    await cluster?.close();
  });

  test('a nonce of one node is good at the other; an accepted answer is a replay at the other', async () => {
    const [d1, d2] = [cluster!.node(0), cluster!.node(1)];
    const c2 = await RawClient.connect(d2.server.port);
    const challenge = await c2.request('DESCRIBE', rtspUrl(d2, 'cam'));
    assert.equal(challenge.statusCode, 401);
    const md5 = challenge.headers
      .getAll('WWW-Authenticate')
      .flatMap(parseWwwAuthenticate)
      .map(parseDigestChallenge)
      .find((x) => x?.algorithm === 'MD5')!;
    const uri = rtspUrl(d1, 'cam');
    const answer = serializeAuthorization(
      digestCredentials(md5, {
        username: 'viewer',
        password: 'look',
        method: 'DESCRIBE',
        uri,
        nonceCount: 1,
        cnonce: 'c1',
      }),
    );
    const c1 = await RawClient.connect(d1.server.port);
    const ok = await c1.request('DESCRIBE', uri, { Authorization: answer });
    assert.equal(ok.statusCode, 200, 'd2 nonce accepted by d1');
    const replay = await c2.request('DESCRIBE', uri, { Authorization: answer });
    assert.equal(replay.statusCode, 401, 'the same answer replayed to d2');
    assert.ok(replay.headers.getAll('WWW-Authenticate').some((v) => /stale=true/.test(v)));
    c1.close();
    c2.close();
  });

  test('our client, challenged then redirected, plays at the owner', async () => {
    const url = rtspUrl(cluster!.node(1), 'cam').replace('rtsp://', 'rtsp://viewer:look@');
    const client = new RtspClient(url);
    client.on('error', () => undefined);
    let units = 0;
    client.on('accessUnit', () => units++);
    await client.describe();
    await client.setup({ transport: 'tcp' });
    await client.play();
    await waitFor(() => units > 5, 10_000, 'access units at d1');
    client.close();
  });
});
